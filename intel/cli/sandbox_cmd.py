"""`python -m intel sandbox [--host H] [--port P] [--db URL] [--base URL]`: sandbox endpoints."""

from __future__ import annotations

import sys

from sqlalchemy.engine import make_url

from intel.settings import SettingsError, database_url, get_settings


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="serve local endpoints that answer like the simulated customers' endpoints",
        description="Serve POST /hooks/<tenant>/<slug>, answering as the simulator's "
        "scenario says that endpoint answers now (outages that recover, permanent "
        "401/404/410, 429 with Retry-After, slow answers, dropped connections), after "
        "checking the Standard Webhooks signature with the endpoint's secret.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8701, help="port to listen on")
    parser.add_argument("--db", help="SQLAlchemy URL (default: DATABASE_URL)")
    parser.add_argument(
        "--base",
        help="the URL the simulated endpoints were generated with (default http://HOST:PORT)",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    if not 0 < args.port < 65536:
        print(f"error: --port: expected 1..65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    url = args.db or database_url()
    try:
        from intel.store.db import make_engine

        engine = make_engine(url)
        with engine.connect():
            pass
    except Exception as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        print(f"error: --db {shown}: {exc}", file=sys.stderr)
        return 2
    from intel.sandbox.server import serve_forever

    base = args.base or f"http://{args.host}:{args.port}"
    print(f"sandbox: serving {base}/hooks/<tenant>/<slug> from {make_url(url).database}",
          file=sys.stderr)
    try:
        serve_forever(engine, host=args.host, port=args.port, base_url=base,
                      reload_s=settings.replay.sandbox_reload_s)
    except OSError as exc:  # address in use, permission denied
        print(f"error: --host {args.host} --port {args.port}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0
