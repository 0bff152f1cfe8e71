"""`python -m intel api`: serve the REST API (OpenAPI docs at /docs, served offline).

It listens on 127.0.0.1 (this machine only) unless ``--host`` names another address:
binding to a network interface is always an explicit choice. Every route but
``GET /health`` needs a bearer token (``python -m intel tokens create``).
"""

from __future__ import annotations

import gc
import ipaddress
import json
import sys
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "api", help="serve the REST API on 127.0.0.1 (OpenAPI docs at /docs)",
        description=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--host", default=DEFAULT_HOST, metavar="ADDRESS",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                             "0.0.0.0 or an interface's address makes it reachable from the "
                             "network)")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--export-openapi", metavar="FILE", type=Path,
                        help="write the OpenAPI schema to FILE (sorted, indented JSON) and "
                             "exit without serving; docs/openapi.json is made this way")
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def openapi_text() -> str:
    """The app's OpenAPI schema as the checked-in ``docs/openapi.json`` holds it."""
    from intel.api import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"


def run(args) -> int:
    if args.export_openapi is not None:
        args.export_openapi.write_text(openapi_text(), encoding="utf-8")
        print(f"api: wrote the OpenAPI schema to {args.export_openapi}", file=sys.stderr)
        return 0

    import uvicorn

    from intel.api import create_app

    if not is_loopback(args.host):
        print(f"api: listening on {args.host}: reachable from other machines (every route "
              "but /health needs a bearer token)", file=sys.stderr)
    app = create_app()
    # The ~170k objects of start-up (modules, the app, pandas, SQLAlchemy) go to the
    # permanent generation: a full collection no longer scans them — without this, one
    # took 60-100 ms every so often under load, a pause every request in flight waited
    # out (bench/bench_api_auth.py's p99) — only what requests leave behind.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", server_header=False)
    return 0
