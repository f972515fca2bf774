"""EC2 fidelity patches: moto 5.2.5's EC2 backend made to behave as real EC2 does, on moto's own
state (and one speed fix, patch_fast_resource_tags). Each patch's docstring says what moto does,
what EC2 does and what the patch does. The injected EC2 faults (ModifyNetworkInterfaceAttribute,
CreateSnapshots) are in faults.py.
"""

import inspect
import time

from moto.ec2.models.elastic_network_interfaces import NetworkInterface, NetworkInterfaceBackend
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.responses.instances import InstanceResponse

from .faults import consistency_window


def _is_primary(eni):
    instance = eni.instance
    return instance is not None and instance.nics.get(0) is eni


def patch_primary_eni_groups():
    """Real EC2: an ENI has exactly its own groups; the primary ENI's are the instance's.

    moto 5.2.5 reports an attached ENI's groups as the union of its own groups and the
    instance's groups, so ModifyNetworkInterfaceAttribute(Groups) on a primary ENI looks like it
    *added* a group. In real EC2 the primary ENI's groups *are* the instance's groups: changing
    either replaces both. We make `group_set` the ENI's own list and keep the two in step."""

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
    """Real EC2: ModifyInstanceAttribute(InstanceInitiatedShutdownBehavior) sets just that.

    moto 5.2.5 has no handler for it: the request falls through to the security-group handler
    with an empty list, which *removes every group* from the instance and records nothing. Real
    EC2 sets the attribute and leaves the groups alone. We handle the attribute, and a group
    change with no groups is refused instead of wiping them."""
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


def patch_address_instance():
    """Real EC2: an address associated with an attached ENI belongs to that ENI's instance.

    AssociateAddress(NetworkInterfaceId): moto 5.2.5 records the ENI but not the instance it is
    attached to, so DescribeAddresses reports no InstanceId and the `instance-id` filter misses
    it. Real EC2 reports the ENI's instance. We set the instance from the ENI's attachment."""
    from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend

    original = ElasticAddressBackend.associate_address

    def associate_address(self, instance=None, eni=None, *args, **kwargs):
        eip = original(self, instance, eni, *args, **kwargs)
        if eip.instance is None and eip.eni is not None and eip.eni.instance is not None:
            eip.instance = eip.eni.instance
        return eip

    ElasticAddressBackend.associate_address = associate_address


def patch_fast_resource_tags():
    """The same tags as moto's, looked up by resource id instead of a scan of all tags.

    Speed, not fidelity: moto 5.2.5 finds each resource's own tags by scanning every tag of the
    region with regular expressions, once per resource per filter, so a tag-filtered
    DescribeSnapshots or DescribeInstances costs O(resources x tags): 25 s per call once a
    500-instance burst had made 1,000 snapshots. We look a resource's tags up by its id; the
    result is the same."""
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


# --- Security groups: unknown and not-yet-visible ids ----------------------------------------


def _check_group_visible(backend, group_id):
    """moto's own InvalidGroup.NotFound for a group that does not exist or is not visible yet."""
    from moto.ec2.exceptions import InvalidSecurityGroupNotFoundError

    group = backend.get_security_group_from_id(group_id)
    if group is None:
        raise InvalidSecurityGroupNotFoundError(group_id)
    created = getattr(group, "_firebreak_created", None)
    if created is not None and time.monotonic() - created < consistency_window(group.vpc_id):
        raise InvalidSecurityGroupNotFoundError(group_id)


def patch_security_group_visibility():
    """Real EC2: unknown group ids are refused; new ones may not be visible yet (opt-in per
    VPC).

    moto 5.2.5 accepts ModifyNetworkInterfaceAttribute and ModifyInstanceAttribute with a group
    id it does not know (and records nothing useful); real EC2 answers InvalidGroup.NotFound.
    Real EC2 is also eventually consistent (EC2 API reference, "Eventual consistency in the
    Amazon EC2 API"): right after CreateSecurityGroup, calls that use the new id may answer
    InvalidGroup.NotFound. That one is opt-in per VPC through the control API (an
    `eventual_consistency` rule, see faults.py), so the fixtures that create a group and use it
    at once keep working: a group created in an opted-in VPC less than the VPC's window ago
    answers moto's own InvalidGroup.NotFound to ModifyNetworkInterfaceAttribute,
    ModifyInstanceAttribute(GroupId), Authorize/RevokeSecurityGroupIngress/Egress on it and
    DescribeSecurityGroups(GroupId). The creation time is recorded by CreateSecurityGroup on
    moto's group."""
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


# --- Spot instances: no termination protection -------------------------------------------------

SPOT_TERMINATION_PROTECTION = (
    "Modifying 'disableApiTermination' is not supported for spot instances."
)


def patch_spot_termination_protection():
    """Real EC2: a Spot instance's disableApiTermination cannot be changed at all.

    moto 5.2.5 lets ModifyInstanceAttribute change a Spot instance's DisableApiTermination. Real
    EC2 refuses it (EC2 User Guide, "Change instance termination protection": "You can't enable
    termination protection for Spot Instances") with HTTP 400 UnsupportedOperation "Modifying
    'disableApiTermination' is not supported for spot instances." (verbatim as EC2 answered
    cloud-custodian, cloud-custodian/cloud-custodian#2083, to a request that turned it *off*,
    Value=false). We refuse any change of that attribute, in either request form, on an instance
    whose lifecycle is spot; its other attributes (shutdown behaviour, groups, ...) still
    change. moto 5.2.5 already reports RunInstances(InstanceMarketOptions.MarketType=spot) as
    InstanceLifecycle "spot" in DescribeInstances: nothing to fix there."""
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
    """Real EC2: rule numbers 1-32766, 20 entries a direction, a missing entry is NotFound.

    moto 5.2.5 accepts any rule number (0, 32767, 40000, negative) and any number of entries,
    answers an HTTP 500 to DeleteNetworkAclEntry/ReplaceNetworkAclEntry of an entry that does
    not exist, and creates a custom network ACL with no entries. Real EC2 (EC2 API reference,
    CreateNetworkAclEntry: "Positive integer from 1 to 32766. The range 32767 to 65535 is
    reserved"; Amazon VPC quotas, "Rules per network ACL": 20, one-way, separately for IPv4 and
    IPv6 rules, the default deny rule included; CLI examples of CreateNetworkAcl: a new ACL
    holds the deny rule 32767 each way) answers InvalidParameterValue,
    NetworkAclEntryLimitExceeded and InvalidNetworkAclEntry.NotFound, and a new ACL denies
    everything. We do the same."""
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


def patch_network_acl_id_filter():
    """Real EC2: DescribeNetworkAcls takes the `network-acl-id` filter (an ACL deleted since is
    simply absent); moto answers it with a 500 (FilterNotImplementedError). We answer the filter
    with the ACL's own id."""
    from moto.ec2.models.network_acls import NetworkAcl

    original = NetworkAcl.get_filter_value

    def get_filter_value(self, filter_name, method_name=None):
        if filter_name == "network-acl-id":
            return self.id
        return original(self, filter_name, method_name)

    NetworkAcl.get_filter_value = get_filter_value


# --- RunInstances: secondary and IPv6 addresses of a launched ENI -------------------------------


def patch_launch_interface_addresses():
    """Real EC2: RunInstances assigns an interface's secondary private and IPv6 addresses.

    RunInstances NetworkInterfaces[].SecondaryPrivateIpAddressCount / PrivateIpAddresses /
    Ipv6AddressCount / Ipv6Addresses: moto 5.2.5 drops them (the instance's ENI gets its primary
    address only), so DescribeInstances cannot show them. We assign them to the ENI it
    created."""
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


# --- Snapshots and network interfaces ------------------------------------------------------------


def patch_snapshot_permission_modifications():
    """Real EC2: ModifySnapshotAttribute takes `CreateVolumePermission.Add/Remove` (what the
    SDKs' typed form sends) as well as `OperationType` with `UserIds`/`GroupNames`; moto reads
    only the second and answers the first with success, changing nothing. We apply the first
    form's Add and Remove (user ids and groups) through moto's own create-volume permission
    calls; the second form still goes to moto's handler."""
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
    """Real EC2: CreateNetworkInterface keeps the InterfaceType asked for.

    Real EC2 takes InterfaceType (`trunk` for the trunk interface EKS's VPC resource controller
    attaches to a node for security groups for pods; `efa`, ...), and DescribeInstances and
    DescribeNetworkInterfaces report it. moto 5.2.5 creates every interface as `interface`
    whatever was asked, so a node's trunk interface cannot be told apart. We keep the type asked
    for on the interface moto created."""
    from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces

    original = ElasticNetworkInterfaces.create_network_interface

    def create_network_interface(self):
        result = original(self)
        kind = self._get_param("InterfaceType")
        if kind:
            result.result["NetworkInterface"].interface_type = kind
        return result

    ElasticNetworkInterfaces.create_network_interface = create_network_interface
