"""Firebreak's local AWS: moto's server on a loopback port, with the fidelity fixes Firebreak needs.

Usage: python scripts/local_aws.py --port 0 --ready-file PATH
Writes the endpoint URL to PATH once the server answers, then serves until SIGTERM/SIGINT.

The entry point only: the server, the patches and the test controls are the package
`scripts/localaws/` (its `__init__` lists one module per service, plus faults and server).
"""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)

from localaws.server import main  # noqa: E402 (needs the path above)

if __name__ == "__main__":
    main()
