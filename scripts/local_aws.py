"""Firebreak's local AWS: moto's server on a loopback port, with the fidelity fixes Firebreak needs.

Usage: python scripts/local_aws.py --port 0 --ready-file PATH
Writes the endpoint URL to PATH once the server answers, then serves until SIGTERM/SIGINT.

The fixes change moto's own backend state and behaviour (never the Rust code's view of it):

* Primary ENI security groups. moto 5.2.5 reports an attached ENI's groups as the union of its own
  groups and the instance's groups, so ModifyNetworkInterfaceAttribute(Groups) on a primary ENI looks
  like it *added* a group. In real EC2 the primary ENI's groups *are* the instance's groups: changing
  either replaces both. We make `group_set` the ENI's own list and keep the two in step.
* ModifyInstanceAttribute(InstanceInitiatedShutdownBehavior). moto 5.2.5 has no handler for it: the
  request falls through to the security-group handler with an empty list, which *removes every group*
  from the instance and records nothing. Real EC2 sets the attribute and leaves the groups alone.
  We handle the attribute, and a group change with no groups is refused instead of wiping them.
* AssociateAddress(NetworkInterfaceId). moto 5.2.5 records the ENI but not the instance it is
  attached to, so DescribeAddresses reports no InstanceId and the `instance-id` filter misses it. Real
  EC2 reports the ENI's instance. We set the instance from the ENI's attachment.
* Auto Scaling Standby and target groups. moto 5.2.5 leaves an instance registered in the group's
  target groups when it enters Standby, and registers *every* instance of the group, Standby ones
  included, whenever the group's capacity changes. Real Auto Scaling deregisters an instance that
  enters Standby and registers only instances in service. We do the same.
* Speed, not fidelity: moto 5.2.5 finds each resource's own tags by scanning every tag of the
  region with regular expressions, once per resource per filter, so a tag-filtered DescribeSnapshots
  or DescribeInstances costs O(resources x tags): 25 s per call once a 500-instance burst had made
  1,000 snapshots. We look a resource's tags up by its id; the result is the same.
* Security Hub BatchUpdateFindings, CreateActionTarget, DescribeActionTargets. moto 5.2.5 has none of
  them (HTTP 404). We add them on moto's own Security Hub backend: BatchUpdateFindings changes the
  stored findings (Note, Workflow, and the fields Security Hub updates with them) so GetFindings reads
  the change back; unknown findings come back as UnprocessedFindings, as in Security Hub. Action
  targets live on the backend next to the findings.
"""

import argparse
import signal
import sys
import threading
import time
import urllib.request

from moto.ec2.models.elastic_network_interfaces import NetworkInterface, NetworkInterfaceBackend
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.responses.instances import InstanceResponse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer


def _is_primary(eni):
    instance = eni.instance
    return instance is not None and instance.nics.get(0) is eni


def patch_primary_eni_groups():
    """Real EC2: an ENI has exactly its own groups; the primary ENI's are the instance's."""

    def group_set(self):
        return self._group_set

    NetworkInterface.group_set = property(group_set)

    original_modify_eni = NetworkInterfaceBackend.modify_network_interface_attribute

    def modify_network_interface_attribute(self, eni_id, group_ids, *args, **kwargs):
        original_modify_eni(self, eni_id, group_ids, *args, **kwargs)
        eni = self.get_network_interface(eni_id)
        if group_ids and _is_primary(eni):
            eni.instance.security_groups = list(eni._group_set)

    NetworkInterfaceBackend.modify_network_interface_attribute = modify_network_interface_attribute

    original_modify_instance = InstanceBackend.modify_instance_security_groups

    def modify_instance_security_groups(self, instance_id, new_group_id_list):
        instance = original_modify_instance(self, instance_id, new_group_id_list)
        primary = instance.nics.get(0)
        if primary is not None:
            primary._group_set = list(instance.security_groups)
        return instance

    InstanceBackend.modify_instance_security_groups = modify_instance_security_groups


def patch_shutdown_behaviour_attribute():
    """Real EC2: ModifyInstanceAttribute(InstanceInitiatedShutdownBehavior) sets just that."""
    original_dot_value = InstanceResponse._dot_value_instance_attribute_handler

    def dot_value(self):
        value = self._get_param("InstanceInitiatedShutdownBehavior.Value")
        if value is not None:
            if value not in ("stop", "terminate"):
                from moto.ec2.exceptions import InvalidParameterValueError

                raise InvalidParameterValueError(value)
            self.error_on_dryrun()
            self.ec2_backend.modify_instance_attribute(
                self._get_param("InstanceId"), "instance_initiated_shutdown_behavior", value
            )
            return True
        return original_dot_value(self)

    InstanceResponse._dot_value_instance_attribute_handler = dot_value

    original_groups = InstanceResponse._security_grp_instance_attribute_handler

    def groups(self):
        if not self._get_param("Groups", []):
            return False  # not a group change: never wipe the groups
        return original_groups(self)

    InstanceResponse._security_grp_instance_attribute_handler = groups


WORKFLOW_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")


def patch_address_instance():
    """Real EC2: an address associated with an attached ENI belongs to that ENI's instance."""
    from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend

    original = ElasticAddressBackend.associate_address

    def associate_address(self, instance=None, eni=None, *args, **kwargs):
        eip = original(self, instance, eni, *args, **kwargs)
        if eip.instance is None and eip.eni is not None and eip.eni.instance is not None:
            eip.instance = eip.eni.instance
        return eip

    ElasticAddressBackend.associate_address = associate_address


def patch_standby_target_groups():
    """Real Auto Scaling: Standby instances are not registered in the group's target groups."""
    from moto.autoscaling.models import AutoScalingBackend

    def update_attached_target_groups(self, group_name):
        group = self.autoscaling_groups[group_name]
        if not group.target_group_arns:
            return
        in_service = {
            s.instance.id
            for s in group.instance_states
            if s.lifecycle_state in ("InService", "Pending")
        }
        for tg in self.elbv2_backend.describe_target_groups(
            target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None
        ):
            targets = [{"Id": i, "Port": tg.port} for i in in_service]
            self.elbv2_backend.register_targets(tg.arn, targets)

    AutoScalingBackend.update_attached_target_groups = update_attached_target_groups

    original_enter = AutoScalingBackend.enter_standby_instances

    def enter_standby_instances(self, group_name, instance_ids, should_decrement):
        activities = original_enter(self, group_name, instance_ids, should_decrement)
        group = self.autoscaling_groups[group_name]
        for arn in group.target_group_arns or []:
            tg = self.elbv2_backend.describe_target_groups(
                target_group_arns=[arn], load_balancer_arn=None, names=None
            )[0]
            self.elbv2_backend.deregister_targets(
                arn, [{"Id": i, "Port": tg.port} for i in instance_ids]
            )
        return activities

    AutoScalingBackend.enter_standby_instances = enter_standby_instances


def patch_fast_resource_tags():
    """The same tags as moto's, looked up by resource id instead of a scan of all tags."""
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    def get_tags(self):
        if not self.id:
            return []
        tags = self.ec2_backend.tags.get(self.id, {})
        resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
        return [
            {"resource_id": self.id, "key": k, "value": v, "resource_type": resource_type}
            for k, v in tags.items()
        ]

    TaggedEC2Resource.get_tags = get_tags


def _utc_now():
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def patch_securityhub_updates():
    """BatchUpdateFindings and custom action targets, on moto's Security Hub backend state."""
    import json
    import re

    from moto.securityhub import urls
    from moto.securityhub.exceptions import InvalidInputException
    from moto.securityhub.models import SecurityHubBackend
    from moto.securityhub.responses import SecurityHubResponse
    from moto.core.exceptions import JsonRESTError

    class ResourceConflict(JsonRESTError):
        code = 409

        def __init__(self, msg):
            super().__init__("ResourceConflictException", msg)

    def invalid(op, msg):
        return InvalidInputException(op=op, msg=msg)

    def batch_update_findings(self, identifiers, note, workflow):
        if not identifiers:
            raise invalid("BatchUpdateFindings", "FindingIdentifiers must not be empty")
        if len(identifiers) > 100:
            raise invalid("BatchUpdateFindings", "at most 100 FindingIdentifiers")
        if note is not None:
            text, by = note.get("Text"), note.get("UpdatedBy")
            if not text or not by:
                raise invalid("BatchUpdateFindings", "Note requires Text and UpdatedBy")
            if len(text) > 512:
                raise invalid("BatchUpdateFindings", "Note.Text is longer than 512 characters")
            if len(by) > 128:
                raise invalid("BatchUpdateFindings", "Note.UpdatedBy is longer than 128 characters")
        if workflow is not None and workflow.get("Status") not in WORKFLOW_STATUSES:
            raise invalid("BatchUpdateFindings", f"Workflow.Status must be one of {WORKFLOW_STATUSES}")
        processed, unprocessed = [], []
        now = _utc_now()
        for ident in identifiers:
            found = next(
                (
                    f
                    for f in self.findings
                    if f.id == ident.get("Id")
                    and f.data.get("ProductArn") == ident.get("ProductArn")
                ),
                None,
            )
            if found is None:
                unprocessed.append(
                    {
                        "FindingIdentifier": ident,
                        "ErrorCode": "FindingNotFound",
                        "ErrorMessage": "Finding Not Found",
                    }
                )
                continue
            if note is not None:
                found.data["Note"] = {
                    "Text": note["Text"],
                    "UpdatedBy": note["UpdatedBy"],
                    "UpdatedAt": now,
                }
            if workflow is not None:
                found.data["Workflow"] = {"Status": workflow["Status"]}
                # The legacy field Security Hub keeps in step with Workflow.Status.
                found.data["WorkflowState"] = {
                    "NEW": "NEW",
                    "NOTIFIED": "ASSIGNED",
                    "RESOLVED": "RESOLVED",
                    "SUPPRESSED": "DEFERRED",
                }[workflow["Status"]]
            found.data["UpdatedAt"] = now
            processed.append({"Id": ident["Id"], "ProductArn": ident["ProductArn"]})
        return processed, unprocessed

    def action_targets(self):
        if not hasattr(self, "_firebreak_action_targets"):
            self._firebreak_action_targets = {}
        return self._firebreak_action_targets

    def create_action_target(self, name, description, target_id):
        if not name or not description or not target_id:
            raise invalid("CreateActionTarget", "Name, Description and Id are required")
        if len(name) > 20 or len(target_id) > 20 or not re.fullmatch(r"[A-Za-z0-9]+", target_id):
            raise invalid("CreateActionTarget", "Id must be 1-20 letters or digits, Name at most 20 characters")
        arn = f"arn:{self.partition}:securityhub:{self.region_name}:{self.account_id}:action/custom/{target_id}"
        targets = action_targets(self)
        if arn in targets:
            raise ResourceConflict(f"ActionTarget {arn} already exists")
        targets[arn] = {"ActionTargetArn": arn, "Name": name, "Description": description}
        return arn

    SecurityHubBackend.batch_update_findings = batch_update_findings
    SecurityHubBackend.create_action_target = create_action_target
    SecurityHubBackend.action_targets = action_targets

    def r_batch_update_findings(self):
        params = json.loads(self.body) if self.body else {}
        processed, unprocessed = self.securityhub_backend.batch_update_findings(
            params.get("FindingIdentifiers", []), params.get("Note"), params.get("Workflow")
        )
        return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})

    def r_create_action_target(self):
        params = json.loads(self.body) if self.body else {}
        arn = self.securityhub_backend.create_action_target(
            params.get("Name"), params.get("Description"), params.get("Id")
        )
        return json.dumps({"ActionTargetArn": arn})

    def r_describe_action_targets(self):
        params = json.loads(self.body) if self.body else {}
        targets = self.securityhub_backend.action_targets()
        wanted = params.get("ActionTargetArns") or list(targets)
        return json.dumps({"ActionTargets": [targets[a] for a in wanted if a in targets]})

    SecurityHubResponse.batch_update_findings = r_batch_update_findings
    SecurityHubResponse.create_action_target = r_create_action_target
    SecurityHubResponse.describe_action_targets = r_describe_action_targets
    urls.url_paths["{0}/findings/batchupdate$"] = SecurityHubResponse.dispatch
    urls.url_paths["{0}/actionTargets$"] = SecurityHubResponse.dispatch
    urls.url_paths["{0}/actionTargets/get$"] = SecurityHubResponse.dispatch


PATCHES = [
    patch_primary_eni_groups,
    patch_shutdown_behaviour_attribute,
    patch_address_instance,
    patch_standby_target_groups,
    patch_fast_resource_tags,
    patch_securityhub_updates,
]


def apply_patches():
    for patch in PATCHES:
        patch()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", help="write the endpoint URL here once serving")
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        sys.exit("local_aws: refusing to listen on a non-loopback address")

    apply_patches()
    port = args.port
    if port == 0:
        import socket

        with socket.socket() as s:
            s.bind((args.host, 0))
            port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address=args.host, port=port, verbose=False)
    server.start()
    endpoint = f"http://{args.host}:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=2).read()
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit(f"local_aws: moto did not answer on {endpoint}")
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(endpoint + "\n")
    print(f"local_aws: serving on {endpoint}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
