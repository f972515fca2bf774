"""Runs ../shared/tools/aws-latency-proxy.py unchanged, with TCP_NODELAY on its sockets.

The proxy answers with two small writes (headers, then body) on keep-alive connections; with Nagle's
algorithm on (Python's StreamRequestHandler default) and the client's delayed ACK, every response on a
reused connection waits ~40 ms for the body. That stall belongs to the proxy, not to AWS or to the
function, so the benchmark switches it off with the handler's own `disable_nagle_algorithm` flag.
`scripts/bench --proxy-as-is` runs the tool without this wrapper, to show the difference.

Usage: python scripts/latency_proxy_nodelay.py PATH/TO/aws-latency-proxy.py [proxy args...]
"""

import importlib.util
import sys

tool = sys.argv.pop(1)
spec = importlib.util.spec_from_file_location("aws_latency_proxy", tool)
proxy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(proxy)
proxy.Proxy.disable_nagle_algorithm = True
proxy.main()
