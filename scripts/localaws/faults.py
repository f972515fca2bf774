"""Test controls of the local AWS (not fidelity fixes): the /_firebreak/faults rules.

`POST /_firebreak/faults` installs a rule keyed by its id, `DELETE /_firebreak/faults/<id>`
removes it, `GET /_firebreak/faults` lists them; see FaultControl. A rule is one of
  {"id": "t1", "eventual_consistency": {"vpc_id": "vpc-...", "seconds": 1.0}}
  {"id": "t2", "fault": {"action": "ModifyNetworkInterfaceAttribute",
                         "network_interface_id": "eni-...", "into_group_role": "isolation",
                         "effect": "fail", "code": "UnauthorizedOperation", "message": "injected",
                         "status": 403}}
  {"id": "t3", "fault": {..., "effect": "stall", "seconds": 20}}
  {"id": "t4", "fault": {"action": "IamRead", "principal": "<user or role name>", "effect": "fail",
                         "code": "Throttling", "message": "Rate exceeded", "status": 400}}
An eventual_consistency rule is read by ec2.patch_security_group_visibility (`consistency_window`).
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
LastUpdateStatusReason) once the update window has passed, its previous VpcConfig back (applied by
awslambda.patch_lambda_update_outcomes through `lambda_update_fault`).
"message" is optional in all of them: "Injected fault" if absent.

The other test control, the SNS e-mail deliveries, is sns.SnsDeliveries.
"""

import json
import threading
import time

from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend

# --- The rule store (installed through FaultControl, read by the patches and helpers below) -----

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


# --- What other modules consult -----------------------------------------------------------------


def consistency_window(vpc_id):
    rules = _rules_of("eventual_consistency")
    return max((r["seconds"] for r in rules if r["vpc_id"] == vpc_id), default=0.0)


def lambda_update_fault(fn):
    """The UpdateFunctionConfiguration rule for this function, if any."""
    for rule in _rules_of("fault"):
        if rule["action"] == "UpdateFunctionConfiguration" and rule["function_name"] == fn.function_name:
            return rule
    return None


# --- Injected faults ----------------------------------------------------------------------------


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
