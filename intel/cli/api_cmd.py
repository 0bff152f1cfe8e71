"""`python -m intel api`: serve the REST API."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("api", help="serve the REST API (OpenAPI docs at /docs)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.set_defaults(func=run)


def run(args) -> int:
    import uvicorn

    from intel.api import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
    return 0
