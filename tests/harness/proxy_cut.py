"""Runs ../shared/tools/aws-latency-proxy.py unchanged, but cuts the path to AWS mid-incident at its
K-th call: for an odd K that call is dropped unanswered; for an even K it reaches the emulator and is
answered, and the cut follows. Either way the process then exits at once: calls in flight get their
connection reset and later ones are refused until the test starts the proxy again. moto keeps its
state, as AWS would.

Usage: python proxy_cut.py K PATH/TO/aws-latency-proxy.py [proxy args...]
"""

import importlib.util
import os
import sys
import threading

cut_after = int(sys.argv.pop(1))
tool = sys.argv.pop(1)
spec = importlib.util.spec_from_file_location("aws_latency_proxy", tool)
proxy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(proxy)
handle = proxy.Proxy._handle
lock = threading.Lock()
arrivals = 0


def cut(self):
    global arrivals
    with lock:
        arrivals += 1
        arrived = arrivals
    if arrived >= cut_after:
        if arrived == cut_after and arrived % 2 == 0:
            handle(self)
            self.wfile.flush()
        os._exit(0)
    handle(self)


for verb in ("do_GET", "do_POST", "do_PUT", "do_DELETE", "do_PATCH", "do_HEAD"):
    setattr(proxy.Proxy, verb, cut)
proxy.main()
