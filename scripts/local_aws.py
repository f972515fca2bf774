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
* Security groups that do not exist (yet). moto 5.2.5 accepts ModifyNetworkInterfaceAttribute and
  ModifyInstanceAttribute with a group id it does not know (and records nothing useful); real EC2
  answers InvalidGroup.NotFound. Real EC2 is also eventually consistent (EC2 API reference, "Eventual
  consistency in the Amazon EC2 API"): right after CreateSecurityGroup, calls that use the new id may
  answer InvalidGroup.NotFound. That one is opt-in per VPC through the control API below, so the
  fixtures that create a group and use it at once keep working: a group created in an opted-in VPC
  less than the VPC's window ago answers moto's own InvalidGroup.NotFound to
  ModifyNetworkInterfaceAttribute, ModifyInstanceAttribute(GroupId), Authorize/RevokeSecurityGroup-
  Ingress/Egress on it and DescribeSecurityGroups(GroupId). The creation time is recorded by
  CreateSecurityGroup on moto's group.
* Network ACL entries. moto 5.2.5 accepts any rule number (0, 32767, 40000, negative) and any number
  of entries, answers an HTTP 500 to DeleteNetworkAclEntry/ReplaceNetworkAclEntry of an entry that
  does not exist, and creates a custom network ACL with no entries. Real EC2 (EC2 API reference,
  CreateNetworkAclEntry: "Positive integer from 1 to 32766. The range 32767 to 65535 is reserved";
  Amazon VPC quotas, "Rules per network ACL": 20, one-way, separately for IPv4 and IPv6 rules, the
  default deny rule included; CLI examples of CreateNetworkAcl: a new ACL holds the deny rule 32767
  each way) answers InvalidParameterValue, NetworkAclEntryLimitExceeded and
  InvalidNetworkAclEntry.NotFound, and a new ACL denies everything. We do the same.
* RunInstances NetworkInterfaces[].SecondaryPrivateIpAddressCount / PrivateIpAddresses /
  Ipv6AddressCount / Ipv6Addresses: moto 5.2.5 drops them (the instance's ENI gets its primary
  address only), so DescribeInstances cannot show them. We assign them to the ENI it created.
* Termination protection of Spot instances. moto 5.2.5 lets ModifyInstanceAttribute change a Spot
  instance's DisableApiTermination. Real EC2 refuses it (EC2 User Guide, "Change instance
  termination protection": "You can't enable termination protection for Spot Instances") with
  HTTP 400 UnsupportedOperation "Modifying 'disableApiTermination' is not supported for spot
  instances." (verbatim as EC2 answered cloud-custodian, cloud-custodian/cloud-custodian#2083, to a
  request that turned it *off*, Value=false). We refuse any change of that attribute, in either
  request form, on an instance whose lifecycle is spot; its other attributes (shutdown behaviour,
  groups, ...) still change. moto 5.2.5 already reports RunInstances(InstanceMarketOptions
  .MarketType=spot) as InstanceLifecycle "spot" in DescribeInstances: nothing to fix there.
* SNS Publish with MessageStructure=json, and e-mail subscribers. moto 5.2.5 checks a message
  structure only while delivering it, per subscription, and takes a protocol's own key in place of
  the "default" one: with no subscriber, or one whose key is there, a structure without "default"
  (or not JSON at all) is accepted. Real SNS (Publish API reference, MessageStructure: "a
  syntactically valid JSON object" with "at least a top-level JSON key of "default" with a value
  that is a string") refuses it on Publish with InvalidParameter. moto's size limit counts
  characters; SNS's counts bytes (Message: "at most 256 KB in size (262,144 bytes, not 262,144
  characters)"). And moto delivers nothing to email/email-json subscriptions, so what an e-mail
  subscriber gets cannot be read back; real SNS sends the structure's "email" (or "email-json")
  key, else "default", as the e-mail body (email-json: inside the JSON envelope HTTP/S subscribers
  get). We check the structure and the size in bytes on Publish, and record each e-mail delivery
  (SNS's unsubscribe footer aside).

* CreateNetworkInterface(InterfaceType). moto 5.2.5 creates every interface as `interface`; real
  EC2 keeps the type asked for (`trunk`: an EKS node's trunk interface for security groups for
  pods) and reports it in DescribeInstances. We keep it.

Test controls (not fidelity fixes): `GET /_firebreak/sns/deliveries?subscription=<ARN>` answers
what an email or email-json subscription was sent, in order ({"deliveries": [{"message_id",
"subject", "message"}]}). `POST /_firebreak/faults` installs a rule keyed by its id,
`DELETE /_firebreak/faults/<id>` removes it, `GET /_firebreak/faults` lists them; see FaultControl.
A rule is one of
  {"id": "t1", "eventual_consistency": {"vpc_id": "vpc-...", "seconds": 1.0}}
  {"id": "t2", "fault": {"action": "ModifyNetworkInterfaceAttribute",
                         "network_interface_id": "eni-...", "into_group_role": "isolation",
                         "effect": "fail", "code": "UnauthorizedOperation", "message": "injected",
                         "status": 403}}
  {"id": "t3", "fault": {..., "effect": "stall", "seconds": 20}}
  {"id": "t4", "fault": {"action": "IamRead", "principal": "<user or role name>", "effect": "fail",
                         "code": "Throttling", "message": "Rate exceeded", "status": 400}}
A ModifyNetworkInterfaceAttribute fault matches that call on that ENI whose requested groups
include a group tagged firebreak:quarantine-role=<into_group_role>; "fail" answers the EC2 error
every time, "stall" sleeps in that request's own thread, then processes it normally (the change is
applied late). An IamRead fault ("fail" only) matches the IAM reads GetUser, ListUserTags,
ListAccessKeys and GetLoginProfile whose UserName is the principal, and GetRole and ListRoleTags
whose RoleName is; each answers the error every time, in IAM's own XML error format (moto's, an
<ErrorResponse> with the Type, Code and Message), with that HTTP status. A call that names another
principal, or none (GetUser of the caller), and every other IAM call (writes included) go through.
A CreateSnapshots fault ({"action": "CreateSnapshots", "instance_id": "i-...", "effect":
"fail_after", "code": "InternalError", "status": 500}) lets the snapshots of that instance be taken,
then answers the error: a call that did its work and still failed (a 500 or a timeout after EC2
started the snapshots). An UpdateFunctionConfiguration fault ({"action":
"UpdateFunctionConfiguration", "function_name": "<name>", "effect": "fail_after", "code":
"SubnetOutOfIPAddresses"}) lets every VPC update of that function be accepted (LastUpdateStatus
InProgress), then end Failed with that LastUpdateStatusReasonCode (and the message as
LastUpdateStatusReason) once the update window has passed, its previous VpcConfig back.
"message" is optional in all of them: "Injected fault" if absent.
* Lambda functions. moto 5.2.5 leaves Concurrency out of GetFunction when the reserved concurrency
  is 0 (it tests the number for truth), reports every function's VPC as a hard-coded vpc-123abc,
  accepts any group or subnet id, and takes a second UpdateFunctionConfiguration at once. Real
  Lambda reports Concurrency 0, the subnets' VPC, refuses unknown ids with
  InvalidParameterValueException, and while an update is applied (LastUpdateStatus InProgress; a
  VPC change provisions network interfaces) answers 409 ResourceConflictException (Lambda API
  reference, UpdateFunctionConfiguration). We do the same, with a fixed window of
  LOCAL_AWS_LAMBDA_UPDATE_SECONDS (default 1): GetFunction and GetFunctionConfiguration report
  LastUpdateStatus InProgress during it, then Successful (or Failed, as a fault rule asks; below).
* Lambda provisioned concurrency. moto 5.2.5 has none of Put/Get/List/DeleteProvisionedConcurrency-
  Config (HTTP 404). We keep it per alias or version on moto's function: never on $LATEST, never
  more in all than the reserved concurrency, and PutFunctionConcurrency below it refused
  (InvalidParameterValueException), as the Developer Guide says ("Provisioned concurrency counts
  towards a function's reserved concurrency").
* Lambda event source mappings. moto 5.2.5 reports a new mapping Enabled or Disabled at once and
  updates it at once. Real Lambda creates it asynchronously (State Creating) and refuses to update
  it meanwhile (ResourceInUseException). We do the same for the update window.
* ECS tasks. moto 5.2.5 advances a task's status on every DescribeTasks, so a task nobody stopped
  reads STOPPED after four reads. A real task runs until it is stopped; we make moto's progression
  manual, so only StopTask stops one.
* IAM inline policy size. moto 5.2.5 takes any number of inline policies of any size on a role or
  user. Real IAM caps the sum of an entity's inline policy documents, white space not counted (IAM
  User Guide, "IAM and AWS STS quotas": 10,240 characters for a role, 2,048 for a user) and answers
  PutRolePolicy / PutUserPolicy past it with HTTP 409 LimitExceeded "Maximum policy size of 10240
  bytes exceeded for role <name>". We do the same on moto's own stored policies.
"""

import argparse
import inspect
import json
import os
import signal
import sys
import threading
import time
import urllib.request

from moto.ec2.models.elastic_network_interfaces import NetworkInterface, NetworkInterfaceBackend
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.responses.instances import InstanceResponse
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


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


# --- Test-control rules (installed through FaultControl, read by the patches below) -------------

ROLE_TAG = "firebreak:quarantine-role"
ROLES = ("isolation", "untracking")
FAULT_ACTIONS = (
    "ModifyNetworkInterfaceAttribute",
    "IamRead",
    "CreateSnapshots",
    "UpdateFunctionConfiguration",
)
# The IAM reads an IamRead fault fails, and the parameter that names their principal.
IAM_READS = {
    "GetUser": "UserName",
    "ListUserTags": "UserName",
    "ListAccessKeys": "UserName",
    "GetLoginProfile": "UserName",
    "GetRole": "RoleName",
    "ListRoleTags": "RoleName",
}
MAX_SECONDS = 600

_rules_lock = threading.Lock()
_rules = {}  # rule id -> (kind, spec); kind is "eventual_consistency" or "fault"


def _rules_of(kind):
    with _rules_lock:
        return [spec for k, spec in _rules.values() if k == kind]


class RuleError(ValueError):
    """A control request the launcher refuses (HTTP 400, with this message)."""


def _expect_keys(where, value, required, optional=()):
    if not isinstance(value, dict):
        raise RuleError(f"{where} must be a JSON object")
    unknown = sorted(set(value) - set(required) - set(optional))
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {unknown}")
    missing = [k for k in required if k not in value]
    if missing:
        raise RuleError(f"{where}: missing field(s) {missing}")


def _expect_str(where, value, prefix=""):
    if not isinstance(value, str) or not value or not value.startswith(prefix):
        starting = f" starting {prefix!r}" if prefix else ""
        raise RuleError(f"{where} must be a non-empty string{starting}")
    return value


def _expect_seconds(where, value):
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not 0 <= value <= MAX_SECONDS:
        raise RuleError(f"{where} must be a number of seconds from 0 to {MAX_SECONDS}")
    return float(value)


def parse_rule(body):
    """(id, kind, spec) of a control request's JSON body, or RuleError."""
    if not isinstance(body, dict):
        raise RuleError("the body must be a JSON object")
    kinds = [k for k in ("eventual_consistency", "fault") if k in body]
    if len(kinds) != 1:
        raise RuleError('the body needs "id" and exactly one of "eventual_consistency" or "fault"')
    kind = kinds[0]
    _expect_keys("the body", body, ("id", kind))
    rule_id = _expect_str("id", body["id"])
    if "/" in rule_id:
        raise RuleError('id must not contain "/" (it is the last segment of the DELETE path)')
    spec = body[kind]
    if kind == "eventual_consistency":
        _expect_keys(kind, spec, ("vpc_id", "seconds"))
        return rule_id, kind, {
            "vpc_id": _expect_str(f"{kind}.vpc_id", spec["vpc_id"], "vpc-"),
            "seconds": _expect_seconds(f"{kind}.seconds", spec["seconds"]),
        }
    if not isinstance(spec, dict):
        raise RuleError("fault must be a JSON object")
    if spec.get("action") not in FAULT_ACTIONS:
        raise RuleError(
            f"fault.action {spec.get('action')!r} is not supported; "
            f"supported: {list(FAULT_ACTIONS)}"
        )
    if spec["action"] == "IamRead":
        return rule_id, kind, _parse_iam_read_fault(spec)
    if spec["action"] == "CreateSnapshots":
        return rule_id, kind, _parse_snapshots_fault(spec)
    if spec["action"] == "UpdateFunctionConfiguration":
        return rule_id, kind, _parse_lambda_update_fault(spec)
    common = ("action", "network_interface_id", "into_group_role", "effect")
    effect = spec.get("effect")
    if effect == "fail":
        _expect_keys("fault", spec, common + ("code", "status"), ("message",))
    elif effect == "stall":
        _expect_keys("fault", spec, common + ("seconds",))
    else:
        raise RuleError('fault.effect must be "fail" or "stall"')
    if spec["into_group_role"] not in ROLES:
        raise RuleError(f"fault.into_group_role must be one of {list(ROLES)}")
    eni = _expect_str("fault.network_interface_id", spec["network_interface_id"], "eni-")
    rule = {
        "action": spec["action"],
        "network_interface_id": eni,
        "into_group_role": spec["into_group_role"],
        "effect": effect,
    }
    if effect == "fail":
        rule.update(_fail_fields(spec))
    else:
        rule["seconds"] = _expect_seconds("fault.seconds", spec["seconds"])
    return rule_id, kind, rule


def _fail_fields(spec):
    """code, message and status of a "fail" fault."""
    status = spec["status"]
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise RuleError("fault.status must be an HTTP error status from 400 to 599")
    return {
        "code": _expect_str("fault.code", spec["code"]),
        "message": _expect_str("fault.message", spec.get("message", "Injected fault")),
        "status": status,
    }


def _parse_snapshots_fault(spec):
    if spec.get("effect") != "fail_after":
        raise RuleError('fault.effect of a CreateSnapshots fault must be "fail_after"')
    _expect_keys("fault", spec, ("action", "instance_id", "effect", "code", "status"), ("message",))
    rule = {
        "action": "CreateSnapshots",
        "instance_id": _expect_str("fault.instance_id", spec["instance_id"], "i-"),
        "effect": "fail_after",
    }
    rule.update(_fail_fields(spec))
    return rule


def _parse_lambda_update_fault(spec):
    if spec.get("effect") != "fail_after":
        raise RuleError('fault.effect of an UpdateFunctionConfiguration fault must be "fail_after"')
    _expect_keys("fault", spec, ("action", "function_name", "effect", "code"), ("message",))
    return {
        "action": "UpdateFunctionConfiguration",
        "function_name": _expect_str("fault.function_name", spec["function_name"]),
        "effect": "fail_after",
        "code": _expect_str("fault.code", spec["code"]),
        "message": _expect_str("fault.message", spec.get("message", "Injected fault")),
    }


def _parse_iam_read_fault(spec):
    if spec.get("effect") != "fail":
        raise RuleError('fault.effect of an IamRead fault must be "fail"')
    _expect_keys(
        "fault", spec, ("action", "principal", "effect", "code", "status"), ("message",)
    )
    rule = {
        "action": "IamRead",
        "principal": _expect_str("fault.principal", spec["principal"]),
        "effect": "fail",
    }
    rule.update(_fail_fields(spec))
    return rule


class FaultControl:
    """WSGI middleware in front of moto: the /_firebreak/faults control API; the rest is moto's."""

    PREFIX = "/_firebreak/faults"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != self.PREFIX and not path.startswith(self.PREFIX + "/"):
            return self.app(environ, start_response)
        status, answer = self.handle(environ.get("REQUEST_METHOD", "GET"), path, environ)
        payload = json.dumps(answer).encode()
        reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        start_response(
            f"{status} {reasons[status]}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def handle(self, method, path, environ):
        rest = path[len(self.PREFIX) :].strip("/")
        if not rest and method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                raw = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
                body = json.loads(raw or b"null")
            except ValueError as e:
                return 400, {"error": f"the body is not JSON: {e}"}
            try:
                rule_id, kind, spec = parse_rule(body)
            except RuleError as e:
                return 400, {"error": str(e)}
            with _rules_lock:
                replaced = rule_id in _rules
                _rules[rule_id] = (kind, spec)
            return 200, {"id": rule_id, "installed": kind, "replaced": replaced}
        if not rest and method == "GET":
            with _rules_lock:
                return 200, {"rules": {i: {k: s} for i, (k, s) in _rules.items()}}
        if rest and "/" not in rest and method == "DELETE":
            rule_id = rest  # PATH_INFO is already percent-decoded
            with _rules_lock:
                removed = _rules.pop(rule_id, None) is not None
            return 200, {"id": rule_id, "removed": removed}
        if "/" in rest:
            return 404, {"error": f"no such control path {path}"}
        allowed = "DELETE" if rest else "POST or GET"
        return 405, {"error": f"{method} is not supported on {path} (only {allowed})"}


class LocalAwsServer(ThreadedMotoServer):
    """ThreadedMotoServer (one thread per request) with FaultControl in front of moto's app."""

    def _server_entry(self):
        app = SnsDeliveries(FaultControl(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


# --- Security groups: unknown and not-yet-visible ids ----------------------------------------


def _consistency_window(vpc_id):
    rules = _rules_of("eventual_consistency")
    return max((r["seconds"] for r in rules if r["vpc_id"] == vpc_id), default=0.0)


def _check_group_visible(backend, group_id):
    """moto's own InvalidGroup.NotFound for a group that does not exist or is not visible yet."""
    from moto.ec2.exceptions import InvalidSecurityGroupNotFoundError

    group = backend.get_security_group_from_id(group_id)
    if group is None:
        raise InvalidSecurityGroupNotFoundError(group_id)
    created = getattr(group, "_firebreak_created", None)
    if created is not None and time.monotonic() - created < _consistency_window(group.vpc_id):
        raise InvalidSecurityGroupNotFoundError(group_id)


def patch_security_group_visibility():
    """Real EC2: unknown group ids are refused; new ones may not be visible yet (opt-in per VPC)."""
    from moto.ec2.models.security_groups import SecurityGroupBackend

    original_create = SecurityGroupBackend.create_security_group

    def create_security_group(self, *args, **kwargs):
        group = original_create(self, *args, **kwargs)
        group._firebreak_created = time.monotonic()
        return group

    SecurityGroupBackend.create_security_group = create_security_group

    def checking_target_group(original):
        signature = inspect.signature(original)

        def method(self, *args, **kwargs):
            name_or_id = signature.bind(self, *args, **kwargs).arguments.get("group_name_or_id")
            if isinstance(name_or_id, str) and name_or_id.startswith("sg-"):
                _check_group_visible(self, name_or_id)
            return original(self, *args, **kwargs)

        return method

    for name in (
        "authorize_security_group_ingress",
        "authorize_security_group_egress",
        "revoke_security_group_ingress",
        "revoke_security_group_egress",
    ):
        original = getattr(SecurityGroupBackend, name)
        setattr(SecurityGroupBackend, name, checking_target_group(original))

    original_describe = SecurityGroupBackend.describe_security_groups

    def describe_security_groups(self, group_ids=None, groupnames=None, filters=None):
        for group_id in group_ids or []:
            _check_group_visible(self, group_id)
        return original_describe(self, group_ids=group_ids, groupnames=groupnames, filters=filters)

    SecurityGroupBackend.describe_security_groups = describe_security_groups

    original_modify_eni = NetworkInterfaceBackend.modify_network_interface_attribute

    def modify_network_interface_attribute(self, eni_id, group_ids, *args, **kwargs):
        for group_id in group_ids or []:
            _check_group_visible(self, group_id)
        return original_modify_eni(self, eni_id, group_ids, *args, **kwargs)

    NetworkInterfaceBackend.modify_network_interface_attribute = modify_network_interface_attribute

    original_modify_instance = InstanceBackend.modify_instance_security_groups

    def modify_instance_security_groups(self, instance_id, new_group_id_list):
        for group_id in new_group_id_list:
            _check_group_visible(self, group_id)
        return original_modify_instance(self, instance_id, new_group_id_list)

    InstanceBackend.modify_instance_security_groups = modify_instance_security_groups


# --- Injected faults (test controls) ---------------------------------------------------------


def _injected_error(response_class, error_class):
    """An error class of `error_class`'s kind that `response_class` (a moto response handler) answers
    with the HTTP status the rule asks for, rendered like its own errors."""

    class InjectedError(error_class):
        def __init__(self, code, message, status):
            super().__init__(code, message)
            self.status = status

    original_serialized = response_class.serialized

    def serialized(self, action_result):
        status, headers, body = original_serialized(self, action_result)
        if isinstance(action_result.result, InjectedError):
            status = action_result.result.status
        return status, headers, body

    response_class.serialized = serialized
    return InjectedError


def patch_injected_faults():
    """ModifyNetworkInterfaceAttribute into a tagged group: fail or stall, as a rule asks."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.responses import EC2Response

    InjectedFault = _injected_error(EC2Response, EC2ClientError)

    original_modify_eni = NetworkInterfaceBackend.modify_network_interface_attribute

    def modify_network_interface_attribute(self, eni_id, group_ids, *args, **kwargs):
        roles = {self.tags.get(g, {}).get(ROLE_TAG) for g in group_ids or []}
        matching = [
            r
            for r in _rules_of("fault")
            if r["action"] == "ModifyNetworkInterfaceAttribute"
            and r["network_interface_id"] == eni_id
            and r["into_group_role"] in roles
        ]
        for rule in matching:
            if rule["effect"] == "fail":
                raise InjectedFault(rule["code"], rule["message"], rule["status"])
        stall = max((r["seconds"] for r in matching), default=0.0)
        if stall:
            time.sleep(stall)  # this request's thread only: the server runs one thread a request
        return original_modify_eni(self, eni_id, group_ids, *args, **kwargs)

    NetworkInterfaceBackend.modify_network_interface_attribute = modify_network_interface_attribute


def patch_snapshot_faults():
    """CreateSnapshots of one instance: the snapshots are taken, then the call answers an error (a
    500 or a timeout after EC2 did the work), as a CreateSnapshots rule asks."""
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.elastic_block_store import EBSBackend
    from moto.ec2.responses import EC2Response

    InjectedFault = _injected_error(EC2Response, EC2ClientError)
    original = EBSBackend.create_snapshots

    def create_snapshots(self, instance_spec, description, tags):
        taken = original(self, instance_spec, description, tags)
        for rule in _rules_of("fault"):
            if rule["action"] == "CreateSnapshots" and rule["instance_id"] == instance_spec.get(
                "InstanceId"
            ):
                raise InjectedFault(rule["code"], rule["message"], rule["status"])
        return taken

    EBSBackend.create_snapshots = create_snapshots


def patch_iam_read_faults():
    """IAM reads of one user or role: fail, as an IamRead rule asks (see IAM_READS)."""
    from moto.core.utils import camelcase_to_underscores
    from moto.iam.exceptions import IAMException
    from moto.iam.responses import IamResponse

    # Rendered by moto's query serializer like its own IAM errors: <ErrorResponse><Error>
    # <Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>.
    InjectedIamFault = _injected_error(IamResponse, IAMException)

    def failing_for_principal(original, parameter):
        def method(self):
            principal = self._get_param(parameter)
            for rule in _rules_of("fault"):
                if rule["action"] == "IamRead" and principal and rule["principal"] == principal:
                    raise InjectedIamFault(rule["code"], rule["message"], rule["status"])
            return original(self)

        return method

    for action, parameter in IAM_READS.items():
        name = camelcase_to_underscores(action)
        setattr(IamResponse, name, failing_for_principal(getattr(IamResponse, name), parameter))


# --- IAM inline policy size ------------------------------------------------------------------

# IAM User Guide, "IAM and AWS STS quotas" (IAM and STS character quotas, inline policies): "the
# total aggregate policy size (the sum size of all inline policies) per entity cannot exceed" 2,048
# characters for a user, 10,240 for a role, 5,120 for a group, and "IAM does not count white space
# when calculating the size of a policy against these quotas".
INLINE_POLICY_QUOTAS = {"user": 2048, "role": 10240}
# What IAM answers past it: HTTP 409 LimitExceeded (the status from botocore's model of
# LimitExceededException), "Maximum policy size of 10240 bytes exceeded for role <name>" (the
# message as the AWS CLI and CloudFormation print IAM's answer).
INLINE_POLICY_LIMIT_MESSAGE = "Maximum policy size of {quota} bytes exceeded for {kind} {name}"


def inline_policy_size(document):
    """A policy document's size as IAM counts it: its characters, white space left out."""
    return sum(1 for c in document if c not in " \t\n\r")


def patch_inline_policy_size():
    """PutRolePolicy / PutUserPolicy: LimitExceeded when the role's or user's inline policies, the
    new document in place of the one of the same name, would exceed IAM's quota."""
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend

    def guarded(original, kind, entity_of):
        def method(self, name, policy_name, policy_json):
            entity = entity_of(self, name)
            quota = INLINE_POLICY_QUOTAS[kind]
            others = sum(
                inline_policy_size(d) for p, d in entity.policies.items() if p != policy_name
            )
            if others + inline_policy_size(policy_json) > quota:
                raise LimitExceededException(
                    INLINE_POLICY_LIMIT_MESSAGE.format(quota=quota, kind=kind, name=entity.name)
                )
            return original(self, name, policy_name, policy_json)

        return method

    IAMBackend.put_role_policy = guarded(
        IAMBackend.put_role_policy, "role", IAMBackend.get_role
    )
    IAMBackend.put_user_policy = guarded(
        IAMBackend.put_user_policy, "user", IAMBackend.get_user
    )


# --- Spot instances: no termination protection -------------------------------------------------

SPOT_TERMINATION_PROTECTION = (
    "Modifying 'disableApiTermination' is not supported for spot instances."
)


def patch_spot_termination_protection():
    """Real EC2: a Spot instance's disableApiTermination cannot be changed at all."""
    from moto.ec2.exceptions import EC2ClientError

    original = InstanceBackend.modify_instance_attribute

    def modify_instance_attribute(self, instance_id, key, value):
        # Both request forms get here: DisableApiTermination.Value=... and
        # Attribute=disableApiTermination&Value=... (moto makes both "disable_api_termination").
        if key == "disable_api_termination" and self.get_instance(instance_id).lifecycle == "spot":
            raise EC2ClientError("UnsupportedOperation", SPOT_TERMINATION_PROTECTION)
        return original(self, instance_id, key, value)

    InstanceBackend.modify_instance_attribute = modify_instance_attribute


# --- Network ACL entries -----------------------------------------------------------------------

# Amazon VPC quotas, "Rules per network ACL": 20, one-way, enforced separately for IPv4 and IPv6
# rules, and "this quota includes the default deny rules" (32767 for IPv4, 32768 for IPv6).
NACL_RULES_PER_DIRECTION = 20
NACL_DEFAULT_DENY_COUNTS = True
NACL_LOWEST_RULE, NACL_HIGHEST_RULE = 1, 32766


def _as_bool(value):
    return value.lower() == "true" if isinstance(value, str) else bool(value)


def _rule_number(value):
    from moto.ec2.exceptions import EC2ClientError

    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not NACL_LOWEST_RULE <= number <= NACL_HIGHEST_RULE:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Invalid value '{value}' for ruleNumber: a rule number must be from "
            f"{NACL_LOWEST_RULE} to {NACL_HIGHEST_RULE} (32767 to 65535 are reserved)",
        )
    return number


def patch_network_acl_entries():
    """Real EC2: rule numbers 1-32766, 20 entries a direction, a missing entry is NotFound."""
    from moto.ec2.exceptions import EC2ClientError, NetworkAclEntryAlreadyExistsError
    from moto.ec2.models.network_acls import NetworkAclBackend, NetworkAclEntry

    def append_entry(backend, acl, number, action, egress, cidr=None, ipv6_cidr=None):
        acl.network_acl_entries.append(
            NetworkAclEntry(
                backend,
                network_acl_id=acl.id,
                rule_number=number,
                protocol="-1",
                rule_action=action,
                egress=egress,
                cidr_block=cidr,
                icmp_code=None,
                icmp_type=None,
                port_range_from=None,
                port_range_to=None,
                ipv6_cidr_block=ipv6_cidr,
            )
        )

    def add_default_entries(self, network_acl_id):
        # The default ACL's entries, as moto makes them, without the API's rule-number checks.
        acl = self.get_network_acl(network_acl_id)
        for egress in (True, False):
            append_entry(self, acl, 100, "allow", egress, cidr="0.0.0.0/0")
            append_entry(self, acl, 32767, "deny", egress, cidr="0.0.0.0/0")

    NetworkAclBackend.add_default_entries = add_default_entries

    original_create_acl = NetworkAclBackend.create_network_acl

    def create_network_acl(self, vpc_id, tags=None, default=False):
        acl = original_create_acl(self, vpc_id, tags=tags, default=default)
        if not default:
            ipv6 = bool(self.get_vpc(vpc_id).get_cidr_block_association_set(ipv6=True))
            for egress in (True, False):
                append_entry(self, acl, 32767, "deny", egress, cidr="0.0.0.0/0")
                if ipv6:
                    append_entry(self, acl, 32768, "deny", egress, ipv6_cidr="::/0")
        return acl

    NetworkAclBackend.create_network_acl = create_network_acl

    original_create_entry = NetworkAclBackend.create_network_acl_entry
    create_signature = inspect.signature(original_create_entry)

    def create_network_acl_entry(self, *args, **kwargs):
        given = create_signature.bind(self, *args, **kwargs).arguments
        number = _rule_number(given["rule_number"])
        acl = self.get_network_acl(given["network_acl_id"])
        egress = _as_bool(given["egress"])
        ipv6 = bool(given.get("ipv6_cidr_block"))
        same_way = [e for e in acl.network_acl_entries if _as_bool(e.egress) == egress]
        if any(int(e.rule_number) == number for e in same_way):
            raise NetworkAclEntryAlreadyExistsError(number)
        numbered = [
            e
            for e in same_way
            if bool(e.ipv6_cidr_block) == ipv6
            and NACL_LOWEST_RULE <= int(e.rule_number) <= NACL_HIGHEST_RULE
        ]
        if len(numbered) + int(NACL_DEFAULT_DENY_COUNTS) >= NACL_RULES_PER_DIRECTION:
            raise EC2ClientError(
                "NetworkAclEntryLimitExceeded",
                "The maximum number of network acl entries has been reached.",
            )
        return original_create_entry(self, *args, **kwargs)

    NetworkAclBackend.create_network_acl_entry = create_network_acl_entry

    def delete_network_acl_entry(self, network_acl_id, rule_number, egress):
        number = _rule_number(rule_number)
        acl = self.get_network_acl(network_acl_id)
        egress = _as_bool(egress)
        entry = next(
            (
                e
                for e in acl.network_acl_entries
                if int(e.rule_number) == number and _as_bool(e.egress) == egress
            ),
            None,
        )
        if entry is None:  # moto 5.2.5: an uncaught StopIteration, HTTP 500
            raise EC2ClientError(
                "InvalidNetworkAclEntry.NotFound",
                f"The network acl entry identified by {number} (egress: {str(egress).lower()}) "
                f"does not exist in {network_acl_id}.",
            )
        acl.network_acl_entries.remove(entry)
        return entry

    NetworkAclBackend.delete_network_acl_entry = delete_network_acl_entry


# --- RunInstances: secondary and IPv6 addresses of a launched ENI -------------------------------


def patch_launch_interface_addresses():
    """Real EC2: RunInstances assigns an interface's secondary private and IPv6 addresses."""
    from moto.ec2.models.instances import Instance

    original_prep_nics = Instance.prep_nics

    def prep_nics(self, nic_spec, *args, **kwargs):
        original_prep_nics(self, nic_spec, *args, **kwargs)
        backend = self.ec2_backend
        for spec in nic_spec or []:
            if spec.get("NetworkInterfaceId") or spec.get("DeviceIndex") is None:
                continue  # an existing ENI keeps the addresses it has
            eni = self.nics.get(int(spec["DeviceIndex"]))
            if eni is None:
                continue
            secondary = [
                a["PrivateIpAddress"]
                for a in spec.get("PrivateIpAddresses") or []
                if not _as_bool(a.get("Primary")) and a.get("PrivateIpAddress")
            ]
            for address in secondary:
                if address not in eni.subnet._subnet_ips:
                    eni.subnet.request_ip(address, instance=self)
                    self._private_ips.add(address)
            if secondary:
                backend.assign_private_ip_addresses(eni.id, private_ip_addresses=secondary)
            for _ in range(int(spec.get("SecondaryPrivateIpAddressCount") or 0)):
                # From the subnet, as the primary address is (moto's own count path can pick the
                # subnet's reserved network address, and the subnet does not know it is taken).
                address = eni.subnet.get_available_subnet_ip(instance=self)
                self._private_ips.add(address)
                backend.assign_private_ip_addresses(eni.id, private_ip_addresses=[address])
            explicit_v6 = [
                a["Ipv6Address"] for a in spec.get("Ipv6Addresses") or [] if a.get("Ipv6Address")
            ]
            if explicit_v6:
                backend.assign_ipv6_addresses(eni.id, ipv6_addresses=explicit_v6)
            missing_v6 = int(spec.get("Ipv6AddressCount") or 0) - len(eni.ipv6_addresses)
            if missing_v6 > 0 and eni.subnet.ipv6_cidr_block_associations:
                backend.assign_ipv6_addresses(eni.id, ipv6_count=missing_v6)

    Instance.prep_nics = prep_nics


# --- SNS: message structure, size in bytes, e-mail deliveries ----------------------------------

_deliveries_lock = threading.Lock()
_deliveries = {}  # subscription ARN -> [{"message_id", "subject", "message"}], in order


def _structured_default_or_refuse(message):
    """Real SNS (Publish, MessageStructure=json): a JSON object with a string "default"."""
    from moto.sns.exceptions import InvalidParameterValue

    try:
        structure = json.loads(message)
    except ValueError:
        raise InvalidParameterValue(
            "Invalid parameter: Message Structure - JSON message body failed to parse"
        )
    if not isinstance(structure, dict) or not isinstance(structure.get("default"), str):
        raise InvalidParameterValue(
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        )


def patch_sns_publish():
    """Real SNS: a message structure is checked on Publish, whoever subscribes; the size limit
    counts bytes; e-mail subscribers get their key of the structure (recorded, to be read back)."""
    from moto.sns.exceptions import InvalidParameterValue
    from moto.sns.models import MAXIMUM_MESSAGE_LENGTH, SNSBackend, Subscription

    original_publish = SNSBackend.publish

    def publish(self, message, arn, *args, **kwargs):
        if len(message.encode("utf-8")) > MAXIMUM_MESSAGE_LENGTH:
            raise InvalidParameterValue("Invalid parameter: Message too long")
        if kwargs.get("message_structure") == "json":
            _structured_default_or_refuse(message)
        return original_publish(self, message, arn, *args, **kwargs)

    SNSBackend.publish = publish
    original_deliver = Subscription.publish

    def deliver(self, message, message_id, subject=None, message_attributes=None, **kwargs):
        if self.protocol not in ("email", "email-json"):
            return original_deliver(
                self, message, message_id, subject, message_attributes, **kwargs
            )
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if kwargs.get("message_structure") == "json":
            message = self._parse_message_structure(message, self.protocol)
        if self.protocol == "email-json":
            message = json.dumps(self.get_post_data(message, message_id, subject))
        with _deliveries_lock:
            _deliveries.setdefault(self.arn, []).append(
                {"message_id": message_id, "subject": subject, "message": message}
            )

    Subscription.publish = deliver


class SnsDeliveries:
    """WSGI middleware: `GET /_firebreak/sns/deliveries?subscription=<ARN>` answers what that
    e-mail or email-json subscription was sent, in order; the rest is the next app's."""

    PATH = "/_firebreak/sns/deliveries"

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "") != self.PATH:
            return self.app(environ, start_response)
        from urllib.parse import parse_qs

        arn = (parse_qs(environ.get("QUERY_STRING", "")).get("subscription") or [""])[0]
        if environ.get("REQUEST_METHOD", "GET") != "GET" or not arn:
            status, answer = "400 Bad Request", {"error": "GET with ?subscription=<ARN>"}
        else:
            with _deliveries_lock:
                status, answer = "200 OK", {"deliveries": list(_deliveries.get(arn, []))}
        payload = json.dumps(answer).encode()
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def patch_snapshot_permission_modifications():
    """Real EC2: ModifySnapshotAttribute takes `CreateVolumePermission.Add/Remove` (what the SDKs'
    typed form sends) as well as `OperationType` with `UserIds`/`GroupNames`; moto reads only the
    second and answers the first with success, changing nothing."""
    from moto.ec2.responses.elastic_block_store import ElasticBlockStore

    original = ElasticBlockStore.modify_snapshot_attribute

    def modify_snapshot_attribute(self):
        changes = self._get_param("CreateVolumePermission", {}) or {}
        if not changes.get("Add") and not changes.get("Remove"):
            return original(self)
        snapshot_id = self._get_param("SnapshotId")
        self.error_on_dryrun()
        for op, entries in (("Add", changes.get("Add") or []), ("Remove", changes.get("Remove") or [])):
            groups = [e["Group"] for e in entries if e.get("Group")]
            users = [e["UserId"] for e in entries if e.get("UserId")]
            change = {
                "Add": self.ec2_backend.add_create_volume_permission,
                "Remove": self.ec2_backend.remove_create_volume_permission,
            }[op]
            if groups or users:
                change(snapshot_id, user_ids=users, groups=groups)
        from moto.core.responses import EmptyResult

        return EmptyResult()

    ElasticBlockStore.modify_snapshot_attribute = modify_snapshot_attribute


def patch_interface_types():
    """Real EC2: CreateNetworkInterface takes InterfaceType (`trunk` for the trunk interface EKS's
    VPC resource controller attaches to a node for security groups for pods; `efa`, ...), and
    DescribeInstances and DescribeNetworkInterfaces report it. moto creates every interface as
    `interface` whatever was asked, so a node's trunk interface cannot be told apart."""
    from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces

    original = ElasticNetworkInterfaces.create_network_interface

    def create_network_interface(self):
        result = original(self)
        kind = self._get_param("InterfaceType")
        if kind:
            result.result["NetworkInterface"].interface_type = kind
        return result

    ElasticNetworkInterfaces.create_network_interface = create_network_interface


def patch_network_acl_id_filter():
    """Real EC2: DescribeNetworkAcls takes the `network-acl-id` filter (an ACL deleted since is simply
    absent); moto answers it with a 500 (FilterNotImplementedError)."""
    from moto.ec2.models.network_acls import NetworkAcl

    original = NetworkAcl.get_filter_value

    def get_filter_value(self, filter_name, method_name=None):
        if filter_name == "network-acl-id":
            return self.id
        return original(self, filter_name, method_name)

    NetworkAcl.get_filter_value = get_filter_value


# --- Lambda: reserved concurrency 0, VPC configuration, updates in progress -----------------------

# Lambda API reference, UpdateFunctionConfiguration: "When you update a function, Lambda provisions
# an instance of the function and its supporting resources ... LastUpdateStatus is InProgress"; an
# update while one is in progress answers 409 ResourceConflictException ("An update is in progress
# for resource"). A VPC change provisions Hyperplane ENIs and takes seconds to minutes; here a
# fixed window (LOCAL_AWS_LAMBDA_UPDATE_SECONDS, default 1).
LAMBDA_UPDATE_SECONDS = float(os.environ.get("LOCAL_AWS_LAMBDA_UPDATE_SECONDS", "1.0"))


def patch_lambda_functions():
    """GetFunction's Concurrency when it is 0; the VPC of a function's subnets (not moto's
    hard-coded vpc-123abc), unknown groups and subnets refused; updates in progress."""
    from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError
    from moto.awslambda.models import LambdaFunction
    from moto.ec2.models import ec2_backends

    class ResourceConflictException(LambdaClientError):
        code = 409

        def __init__(self, message):
            super().__init__("ResourceConflictException", message)

    get_code = LambdaFunction.get_code

    def get_code_with_zero(self):
        resp = get_code(self)
        if self.reserved_concurrency is not None:
            resp["Concurrency"] = {"ReservedConcurrentExecutions": int(self.reserved_concurrency)}
        return resp

    def vpc_config(self):
        if not self._vpc_config:
            return None
        config = dict(self._vpc_config)
        subnets = config.get("SubnetIds") or []
        if subnets:
            ec2 = ec2_backends[self.account_id][self.region]
            config["VpcId"] = ec2.get_subnet(subnets[0]).vpc_id
        return config

    def in_progress(self):
        started = getattr(self, "_firebreak_update_started", None)
        return started is not None and time.monotonic() - started < LAMBDA_UPDATE_SECONDS

    get_configuration = LambdaFunction.get_configuration

    def get_configuration_in_progress(self, on_create=False):
        config = get_configuration(self, on_create)
        if not on_create and in_progress(self):
            config["LastUpdateStatus"] = "InProgress"
        return config

    def check_vpc(self, vpc):
        ec2 = ec2_backends[self.account_id][self.region]
        subnets = vpc.get("SubnetIds") or []
        groups = vpc.get("SecurityGroupIds") or []
        if len(groups) > 5:
            raise InvalidParameterValueException("A function can have at most 5 security groups.")
        if subnets and not groups:
            raise InvalidParameterValueException(
                "SecurityGroupIds must be specified when SubnetIds are specified."
            )
        vpcs = set()
        for subnet in subnets:
            try:
                vpcs.add(ec2.get_subnet(subnet).vpc_id)
            except Exception:
                raise InvalidParameterValueException(
                    f"Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. "
                    f"EC2 Error Message: The subnet ID '{subnet}' does not exist"
                )
        for group in groups:
            sg = ec2.get_security_group_from_id(group)
            if sg is None or (vpcs and sg.vpc_id not in vpcs):
                raise InvalidParameterValueException(
                    f"Error occurred while DescribeSecurityGroups. EC2 Error Code: "
                    f"InvalidGroup.NotFound. EC2 Error Message: The security group '{group}' does not exist"
                )

    update_configuration = LambdaFunction.update_configuration

    def update_configuration_in_progress(self, config_updates):
        if in_progress(self):
            raise ResourceConflictException(
                "The operation cannot be performed at this time. An update is in progress for "
                f"resource: {self.function_arn}"
            )
        if "VpcConfig" in config_updates:
            check_vpc(self, config_updates["VpcConfig"])
        result = update_configuration(self, config_updates)
        self._firebreak_update_started = time.monotonic()
        if isinstance(result, dict):
            result["LastUpdateStatus"] = "InProgress"
        return result

    LambdaFunction.get_code = get_code_with_zero
    LambdaFunction.vpc_config = property(vpc_config)
    LambdaFunction.get_configuration = get_configuration_in_progress
    LambdaFunction.update_configuration = update_configuration_in_progress



# --- Lambda: how an update ends, provisioned concurrency, mappings being created ---------------

# Developer Guide, "Lambda function states": LastUpdateStatus is InProgress while an update is
# applied, then Successful, or Failed ("Lambda aborts the update and the function's previous code
# and configuration remain available"), with LastUpdateStatusReason and LastUpdateStatusReasonCode
# (SubnetOutOfIPAddresses, ...). Whether GetFunctionConfiguration then shows the previous VpcConfig
# or the one asked for is not documented: here the previous one.


def _lambda_update_fault(fn):
    """The UpdateFunctionConfiguration rule for this function, if any."""
    for rule in _rules_of("fault"):
        if rule["action"] == "UpdateFunctionConfiguration" and rule["function_name"] == fn.function_name:
            return rule
    return None


def patch_lambda_update_outcomes():
    """A VPC update of a function a rule names ends Failed with the rule's reason code once the
    update window has passed, its previous VpcConfig back; other updates end Successful (moto's)."""
    import copy

    from moto.awslambda.models import LambdaFunction

    update = LambdaFunction.update_configuration
    get_configuration = LambdaFunction.get_configuration

    def settle(self):
        pending = getattr(self, "_firebreak_failing", None)
        started = getattr(self, "_firebreak_update_started", None)
        if pending and started is not None and time.monotonic() - started >= LAMBDA_UPDATE_SECONDS:
            self._vpc_config = pending["previous"]
            self._firebreak_failing = None
            self._firebreak_failed = pending

    def update_configuration(self, config_updates):
        settle(self)
        previous = copy.deepcopy(self._vpc_config)
        rule = _lambda_update_fault(self) if "VpcConfig" in config_updates else None
        failed = getattr(self, "_firebreak_failed", None)
        self._firebreak_failed = None
        try:
            result = update(self, config_updates)
        except Exception:
            self._firebreak_failed = failed
            raise
        self._firebreak_failing = None
        if rule is not None:
            self._firebreak_failing = {
                "previous": previous,
                "code": rule["code"],
                "message": rule["message"],
            }
        return result

    def get_configuration_settled(self, on_create=False):
        settle(self)
        config = get_configuration(self, on_create)
        failed = getattr(self, "_firebreak_failed", None)
        if failed and not on_create and config.get("LastUpdateStatus") != "InProgress":
            config["LastUpdateStatus"] = "Failed"
            config["LastUpdateStatusReason"] = failed["message"]
            config["LastUpdateStatusReasonCode"] = failed["code"]
        return config

    LambdaFunction.update_configuration = update_configuration
    LambdaFunction.get_configuration = get_configuration_settled


# Developer Guide, provisioned concurrency: configured on an alias or a published version, never on
# $LATEST; "Provisioned concurrency counts towards a function's reserved concurrency"; "You can't
# allocate more provisioned concurrency than reserved concurrency for a function". moto 5.2.5 has
# none of its four operations (HTTP 404). Lambda's exact error messages for the refusals are not
# documented: the code is the one its API reference gives for a parameter it refuses,
# InvalidParameterValueException; the messages are ours.


def patch_lambda_provisioned_concurrency():
    """Put/Get/List/DeleteProvisionedConcurrencyConfig on moto's functions; PutFunctionConcurrency
    below the provisioned concurrency refused."""
    from urllib.parse import unquote

    from moto.awslambda import urls
    from moto.awslambda.exceptions import GenericResourcNotFound, InvalidParameterValueException
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.responses import LambdaResponse

    def configs(fn):
        if not hasattr(fn, "_firebreak_provisioned"):
            fn._firebreak_provisioned = {}
        return fn._firebreak_provisioned

    def latest(backend, name):
        """The function ($LATEST) a name or ARN, qualified or not, names."""
        base = name.split(":function:", 1)[-1] if ":function:" in name else name
        return backend.get_function(base.split(":")[0])

    def total(fn, but=None):
        return sum(c["Requested"] for q, c in configs(fn).items() if q != but)

    def put(self, name, qualifier, executions):
        fn = latest(self, name)
        if not qualifier or qualifier == "$LATEST":
            raise InvalidParameterValueException(
                "Provisioned concurrency is not supported on the unpublished version ($LATEST)."
            )
        if qualifier.isdigit():
            self.get_function(fn.function_name, qualifier)  # ResourceNotFoundException if unknown
        else:
            self.get_alias(qualifier, fn.function_name)
        if not isinstance(executions, int) or isinstance(executions, bool) or executions < 1:
            raise InvalidParameterValueException("ProvisionedConcurrentExecutions must be at least 1.")
        reserved = fn.reserved_concurrency
        if reserved is not None and total(fn, but=qualifier) + executions > int(reserved):
            raise InvalidParameterValueException(
                f"Provisioned concurrency ({total(fn, but=qualifier) + executions} in all) can't be "
                f"more than the function's reserved concurrency ({int(reserved)})."
            )
        configs(fn)[qualifier] = {
            "Requested": executions,
            "LastModified": _utc_now(),
            "Arn": f"{fn.function_arn}:{qualifier}",
        }
        return configs(fn)[qualifier]

    def delete(self, name, qualifier):
        fn = latest(self, name)
        if configs(fn).pop(qualifier, None) is None:
            raise GenericResourcNotFound()

    def shape(config, status):
        allocated = config["Requested"] if status == "READY" else 0
        return {
            "RequestedProvisionedConcurrentExecutions": config["Requested"],
            "AllocatedProvisionedConcurrentExecutions": allocated,
            "AvailableProvisionedConcurrentExecutions": allocated,
            "Status": status,
            "LastModified": config["LastModified"],
        }

    def r_put(self):
        name = unquote(self.path.rsplit("/", 2)[-2])
        qualifier = self.querystring.get("Qualifier", [None])[0]
        executions = self.json_body.get("ProvisionedConcurrentExecutions")
        config = self.backend.put_provisioned_concurrency(name, qualifier, executions)
        return 202, {"status": 202}, json.dumps(shape(config, "IN_PROGRESS"))

    def r_get(self):
        name = unquote(self.path.rsplit("/", 2)[-2])
        qualifier = self.querystring.get("Qualifier", [None])[0]
        config = configs(latest(self.backend, name)).get(qualifier)
        if config is None:
            raise GenericResourcNotFound()
        return 200, {}, json.dumps(shape(config, "READY"))

    def r_list(self):
        name = unquote(self.path.rsplit("/", 2)[-2])
        listed = [
            dict(shape(c, "READY"), FunctionArn=c["Arn"])
            for c in configs(latest(self.backend, name)).values()
        ]
        return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": listed})

    def r_delete(self):
        name = unquote(self.path.rsplit("/", 2)[-2])
        self.backend.delete_provisioned_concurrency(
            name, self.querystring.get("Qualifier", [None])[0]
        )
        return 204, {"status": 204}, ""

    put_function_concurrency = LambdaBackend.put_function_concurrency

    def put_function_concurrency_checked(self, function_name, reserved_concurrency):
        fn = latest(self, function_name)
        if reserved_concurrency is not None and total(fn) > int(reserved_concurrency):
            raise InvalidParameterValueException(
                f"Reserved concurrency ({int(reserved_concurrency)}) can't be less than the "
                f"function's provisioned concurrency ({total(fn)}): remove it first."
            )
        return put_function_concurrency(self, function_name, reserved_concurrency)

    LambdaBackend.put_provisioned_concurrency = put
    LambdaBackend.delete_provisioned_concurrency = delete
    LambdaBackend.put_function_concurrency = put_function_concurrency_checked
    LambdaResponse.put_provisioned_concurrency_config = r_put
    LambdaResponse.get_provisioned_concurrency_config = r_get
    LambdaResponse.list_provisioned_concurrency_configs = r_list
    LambdaResponse.delete_provisioned_concurrency_config = r_delete
    path = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
    urls.url_paths[path] = LambdaResponse.dispatch


# Lambda API reference, errors: ResourceInUseException, "you tried to update an event source
# mapping in the CREATING state"; EventSourceMappingConfiguration.State: Creating, Enabling,
# Enabled, Disabling, Disabled, Updating, Deleting. moto 5.2.5 reports a new mapping Enabled (or
# Disabled) at once and updates it at once. Here a new mapping is Creating for the update window
# (LOCAL_AWS_LAMBDA_UPDATE_SECONDS) and refuses updates meanwhile (HTTP 400; the message is ours).


def patch_lambda_mapping_states():
    """A new event source mapping is Creating for a moment, and cannot be updated meanwhile."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.models import EventSourceMapping, LambdaBackend

    class ResourceInUseException(LambdaClientError):
        code = 400

        def __init__(self, message):
            super().__init__("ResourceInUseException", message)

    def creating(esm):
        created = getattr(esm, "_firebreak_created", None)
        return created is not None and time.monotonic() - created < LAMBDA_UPDATE_SECONDS

    create = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self, spec):
        esm = create(self, spec)
        esm._firebreak_created = time.monotonic()
        return esm

    get_configuration = EventSourceMapping.get_configuration

    def get_configuration_creating(self):
        config = get_configuration(self)
        if creating(self):
            config["State"] = "Creating"
        return config

    update = LambdaBackend.update_event_source_mapping

    def update_event_source_mapping(self, uuid, spec):
        esm = self.get_event_source_mapping(uuid)
        if esm is not None and creating(esm):
            raise ResourceInUseException(
                f"The event source mapping {uuid} is being created (State Creating): it cannot be "
                "updated yet."
            )
        return update(self, uuid, spec)

    LambdaBackend.create_event_source_mapping = create_event_source_mapping
    EventSourceMapping.get_configuration = get_configuration_creating
    LambdaBackend.update_event_source_mapping = update_event_source_mapping

# --- ECS tasks: a running task runs until it is stopped ------------------------------------------


def patch_ecs_tasks():
    """moto 5.2.5 advances a task's status on every DescribeTasks (DEACTIVATING, STOPPING, ...,
    STOPPED after four reads) while its desired status is still RUNNING, so a task nobody stopped
    "stops itself". A real task runs until it is stopped (or exits). We make the progression
    manual, so StopTask is the only way to STOPPED."""
    from moto.moto_api import state_manager

    state_manager.set_transition(
        model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
    )

PATCHES = [
    patch_primary_eni_groups,
    patch_shutdown_behaviour_attribute,
    patch_address_instance,
    patch_standby_target_groups,
    patch_fast_resource_tags,
    patch_securityhub_updates,
    patch_security_group_visibility,
    patch_injected_faults,  # after the visibility check: a fault or stall comes first
    patch_network_acl_entries,
    patch_launch_interface_addresses,
    patch_iam_read_faults,
    patch_inline_policy_size,
    patch_snapshot_faults,
    patch_spot_termination_protection,
    patch_sns_publish,
    patch_snapshot_permission_modifications,
    patch_network_acl_id_filter,
    patch_interface_types,
    patch_lambda_functions,
    patch_lambda_update_outcomes,  # after patch_lambda_functions: it wraps its update window
    patch_lambda_provisioned_concurrency,
    patch_lambda_mapping_states,
    patch_ecs_tasks,
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
    server = LocalAwsServer(ip_address=args.host, port=port, verbose=False)
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
