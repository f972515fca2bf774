"""Firebreak's local AWS: moto's server on a loopback port, with the fidelity fixes Firebreak needs.

Usage: python scripts/local_aws.py --port 0 --ready-file PATH
Writes the endpoint URL to PATH once the server answers, then serves until SIGTERM/SIGINT.
"""

import argparse
import signal
import sys
import threading
import time
import urllib.request

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from .autoscaling import patch_standby_target_groups
from .awslambda import (
    patch_lambda_functions,
    patch_lambda_mapping_states,
    patch_lambda_provisioned_concurrency,
    patch_lambda_update_outcomes,
)
from .ec2 import (
    patch_address_instance,
    patch_fast_resource_tags,
    patch_interface_types,
    patch_launch_interface_addresses,
    patch_network_acl_entries,
    patch_network_acl_id_filter,
    patch_primary_eni_groups,
    patch_security_group_visibility,
    patch_shutdown_behaviour_attribute,
    patch_snapshot_permission_modifications,
    patch_spot_termination_protection,
)
from .ecs import patch_ecs_tasks
from .faults import (
    FaultControl,
    patch_iam_read_faults,
    patch_injected_faults,
    patch_snapshot_faults,
)
from .iam import patch_inline_policy_size
from .securityhub import patch_securityhub_updates
from .sns import SnsDeliveries, patch_sns_publish
from .ssm import patch_prefix_list_rule_descriptions, patch_ssm_run_command


class LocalAwsServer(ThreadedMotoServer):
    """ThreadedMotoServer (one thread per request) with FaultControl in front of moto's app."""

    def _server_entry(self):
        app = SnsDeliveries(FaultControl(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


# Applied in this order. Where two patches wrap the same moto method, the later one wraps the
# earlier, so its check runs first (ModifyNetworkInterfaceAttribute: patch_primary_eni_groups,
# then patch_security_group_visibility, then patch_injected_faults; LambdaFunction's
# update_configuration and get_configuration: patch_lambda_functions, then
# patch_lambda_update_outcomes).
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
    patch_ssm_run_command,
    patch_prefix_list_rule_descriptions,
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
