"""Lambda fidelity patches: reserved concurrency 0, VPC configuration, updates in progress and how
they end, provisioned concurrency, event source mappings being created. (Named awslambda, as moto's
own package is: `lambda` is a Python keyword.)"""

import json
import os
import time

from .faults import lambda_update_fault
from .securityhub import utc_now  # the same timestamp format (UTC, ISO 8601, centiseconds)

# Lambda API reference, UpdateFunctionConfiguration: "When you update a function, Lambda provisions
# an instance of the function and its supporting resources ... LastUpdateStatus is InProgress"; an
# update while one is in progress answers 409 ResourceConflictException ("An update is in progress
# for resource"). A VPC change provisions Hyperplane ENIs and takes seconds to minutes; here a
# fixed window (LOCAL_AWS_LAMBDA_UPDATE_SECONDS, default 1).
LAMBDA_UPDATE_SECONDS = float(os.environ.get("LOCAL_AWS_LAMBDA_UPDATE_SECONDS", "1.0"))


def patch_lambda_functions():
    """GetFunction's Concurrency when it is 0; the VPC of a function's subnets (not moto's
    hard-coded vpc-123abc), unknown groups and subnets refused; updates in progress.

    moto 5.2.5 leaves Concurrency out of GetFunction when the reserved concurrency is 0 (it
    tests the number for truth), reports every function's VPC as a hard-coded vpc-123abc,
    accepts any group or subnet id, and takes a second UpdateFunctionConfiguration at once. Real
    Lambda reports Concurrency 0, the subnets' VPC, refuses unknown ids with
    InvalidParameterValueException, and while an update is applied (LastUpdateStatus InProgress;
    a VPC change provisions network interfaces) answers 409 ResourceConflictException (Lambda
    API reference, UpdateFunctionConfiguration). We do the same, with a fixed window of
    LOCAL_AWS_LAMBDA_UPDATE_SECONDS (default 1): GetFunction and GetFunctionConfiguration report
    LastUpdateStatus InProgress during it, then Successful (or Failed, as a fault rule asks: see
    patch_lambda_update_outcomes)."""
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


def patch_lambda_update_outcomes():
    """A VPC update of a function a rule names ends Failed with the rule's reason code once the
    update window has passed, its previous VpcConfig back; other updates end Successful
    (moto's).

    Developer Guide, "Lambda function states": LastUpdateStatus is InProgress while an update is
    applied, then Successful, or Failed ("Lambda aborts the update and the function's previous
    code and configuration remain available"), with LastUpdateStatusReason and
    LastUpdateStatusReasonCode (SubnetOutOfIPAddresses, ...). Whether GetFunctionConfiguration
    then shows the previous VpcConfig or the one asked for is not documented: here the previous
    one. The rule is an UpdateFunctionConfiguration fault (faults.py, `lambda_update_fault`)."""
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
        rule = lambda_update_fault(self) if "VpcConfig" in config_updates else None
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


def patch_lambda_provisioned_concurrency():
    """Put/Get/List/DeleteProvisionedConcurrencyConfig on moto's functions;
    PutFunctionConcurrency below the provisioned concurrency refused.

    moto 5.2.5 has none of the four operations (HTTP 404). Real Lambda (Developer Guide,
    provisioned concurrency) configures it on an alias or a published version, never on $LATEST;
    "Provisioned concurrency counts towards a function's reserved concurrency"; "You can't
    allocate more provisioned concurrency than reserved concurrency for a function". We keep it
    per alias or version on moto's function: never on $LATEST, never more in all than the
    reserved concurrency, and PutFunctionConcurrency below it refused. Lambda's exact error
    messages for the refusals are not documented: the code is the one its API reference gives
    for a parameter it refuses, InvalidParameterValueException; the messages are ours."""
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
            "LastModified": utc_now(),
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


def patch_lambda_mapping_states():
    """A new event source mapping is Creating for a moment, and cannot be updated meanwhile.

    moto 5.2.5 reports a new mapping Enabled (or Disabled) at once and updates it at once. Real
    Lambda creates it asynchronously (State Creating) and refuses to update it meanwhile (Lambda
    API reference, errors: ResourceInUseException, "you tried to update an event source mapping
    in the CREATING state"; EventSourceMappingConfiguration.State: Creating, Enabling, Enabled,
    Disabling, Disabled, Updating, Deleting). Here a new mapping is Creating for the update
    window (LOCAL_AWS_LAMBDA_UPDATE_SECONDS) and refuses updates meanwhile (HTTP 400; the
    message is ours)."""
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
