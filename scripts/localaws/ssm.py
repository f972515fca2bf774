"""Systems Manager fidelity patch: DescribeInstanceInformation, which moto 5.2.5 lacks, and the
checks SendCommand makes in AWS that moto skips.

- DescribeInstanceInformation (moto: not implemented): an EC2 instance is a managed node, its SSM
  Agent `Online`, when it is running and has an instance profile (the agent's credentials; AWS:
  "By default, AWS Systems Manager doesn't have permission to perform actions on your instances"
  without an instance profile or Default Host Management Configuration). An instance whose profile
  was removed is `ConnectionLost` (its agent has no credentials to ping with) once it was seen
  `Online`. `PlatformType` is `Windows` for a Windows AMI, else `Linux`. Filters: `InstanceIds`
  (Filters or InstanceInformationFilterList).
- SendCommand (moto: any document, any instance, any parameters): the document must exist
  (`InvalidDocument`); each parameter must be declared (`InvalidParameters`), match its
  `allowedPattern` and be given when it has no default; each instance must be a managed node whose
  agent is `Online` (`InvalidInstanceId`, as AWS answers for a node that is not).
- SendCommand with `InstanceIds` and no `Targets` (moto: every instance of the region, its
  target filter being empty): the command is for the instances named, only."""


def patch_ssm_run_command():
    import re

    from moto.ec2.models import ec2_backends
    from moto.ssm.exceptions import InvalidDocument, SSMException
    from moto.ssm.models import Command, SimpleSystemManagerBackend
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.core.responses import ActionResult

    seen_online = set()

    class InvalidParameters(SSMException):
        def __init__(self, message):
            super().__init__("InvalidParameters", message)

    class InvalidInstanceId(SSMException):
        def __init__(self, message):
            super().__init__("InvalidInstanceId", message)

    def nodes(backend):
        ec2 = ec2_backends[backend.account_id][backend.region_name]
        out = {}
        for instance in ec2.all_instances():
            if instance._state.name != "running":
                continue
            profile = instance.id in ec2.iam_instance_profile_associations
            if profile:
                seen_online.add(instance.id)
            elif instance.id not in seen_online:
                continue
            out[instance.id] = {
                "InstanceId": instance.id,
                "PingStatus": "Online" if profile else "ConnectionLost",
                "PlatformType": "Windows" if instance.platform == "windows" else "Linux",
                "ResourceType": "EC2Instance",
                "AgentVersion": "3.3.1611.0",
                "IsLatestVersion": True,
            }
        return out

    def describe_instance_information(self):
        wanted = None
        for f in self._get_param("Filters") or []:
            if f.get("Key") == "InstanceIds":
                wanted = set(f.get("Values") or [])
        for f in self._get_param("InstanceInformationFilterList") or []:
            if f.get("key") == "InstanceIds":
                wanted = set(f.get("valueSet") or [])
        found = [
            n for i, n in sorted(nodes(self.ssm_backend).items()) if wanted is None or i in wanted
        ]
        return ActionResult({"InstanceInformationList": found})

    SimpleSystemManagerResponse.describe_instance_information = describe_instance_information

    original_send = SimpleSystemManagerBackend.send_command

    def send_command(self, **kwargs):
        name = kwargs.get("document_name")
        documents = self._documents.get(name)
        if documents is None:
            raise InvalidDocument("The specified document does not exist.")
        declared = documents.get_default_version().content_json.get("parameters") or {}
        given = kwargs.get("parameters") or {}
        for key, values in given.items():
            spec = declared.get(key)
            if spec is None:
                raise InvalidParameters(f"Parameter {key} is not declared by document {name}.")
            pattern = spec.get("allowedPattern")
            for v in values:
                # A search, not a full match: a pattern must anchor itself (`^…$`) to hold.
                if pattern is not None and re.search(pattern, v) is None:
                    raise InvalidParameters(
                        f"Parameter {key} value does not match the allowed pattern {pattern}."
                    )
        for key, spec in declared.items():
            if key not in given and "default" not in spec:
                raise InvalidParameters(f"Parameter {key} is required by document {name}.")
        managed = nodes(self)
        for instance_id in kwargs.get("instance_ids") or []:
            node = managed.get(instance_id)
            if node is None or node["PingStatus"] != "Online":
                raise InvalidInstanceId(f"Instance {instance_id} is not a managed node online.")
        return original_send(self, **kwargs)

    SimpleSystemManagerBackend.send_command = send_command

    original_targets = Command._get_instance_ids_from_targets

    def instance_ids_from_targets(self):
        return original_targets(self) if self.targets else []

    Command._get_instance_ids_from_targets = instance_ids_from_targets


def patch_prefix_list_rule_descriptions():
    """A security group rule to a prefix list keeps its description (moto 5.2.5 drops it: it keeps
    only the `PrefixListId`). EC2: `PrefixListId.Description`, "a description for the security
    group rule that references this prefix list ID", is stored and described like an IP range's.
    Firebreak's reconciliation of the isolation group keeps only its memory-capture rules, which it
    recognises by that description."""
    from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupRule

    original_init = SecurityGroupRule.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        prefix_list = kwargs.get("prefix_list_id")
        if prefix_list is None and len(args) >= 8:
            prefix_list = args[7]
        self.prefix_list_description = (prefix_list or {}).get("Description")

    SecurityGroupRule.__init__ = init

    original_flatten = SecurityGroup._flattened_rules

    def flattened(self, rules):
        views = original_flatten(self, rules)
        described = {
            (r.from_port, r.to_port, r.ip_protocol, r.prefix_list_id): r.prefix_list_description
            for r in rules
            if r.prefix_list_id and getattr(r, "prefix_list_description", None)
        }
        for view in views:
            for entry in view.prefix_list_ids:
                key = (view.from_port, view.to_port, view.ip_protocol, entry.get("PrefixListId"))
                if key in described:
                    entry["Description"] = described[key]
        return views

    SecurityGroup._flattened_rules = flattened
