"""`python -m intel db upgrade|status`: create or upgrade the schema."""

from __future__ import annotations

import sys

from sqlalchemy.engine import make_url

from intel.settings import database_url
from intel.store.db import current_revisions, head_revisions, make_engine, upgrade


def register(subparsers) -> None:
    parser = subparsers.add_parser("db", help="create, upgrade or inspect the database schema")
    parser.add_argument("action", choices=["upgrade", "status"])
    parser.add_argument("--db", help="SQLAlchemy URL (default: DATABASE_URL or data/aetherlink.db)")
    parser.set_defaults(func=run)


def run(args) -> int:
    url = args.db or database_url()
    shown = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        if args.action == "upgrade":
            upgrade(engine)
            print(f"schema up to date at {', '.join(sorted(current_revisions(engine)))} ({shown})")
            return 0
        current, heads = current_revisions(engine), head_revisions(engine)
        state = "up to date" if current == heads else "needs `python -m intel db upgrade`"
        print(f"{shown}: at {sorted(current) or 'no schema'}, latest {sorted(heads)}: {state}")
        return 0 if current == heads else 1
    except Exception as exc:  # connection refused, bad URL, permission ...
        print(f"error: database {shown}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
