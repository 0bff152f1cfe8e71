"""``python -m intel secrets genkey|status|rotate``: the key endpoint signing secrets are
encrypted with (``intel.secretbox``).

``genkey`` prints a new key for ``INTEL_SECRET_KEY``. ``status`` counts the stored
secrets: sealed with the newest key, with an older one, legacy plaintext, and any no
configured key opens. ``rotate`` re-encrypts every secret with the newest key (the first
of ``INTEL_SECRET_KEY``'s comma-separated keys) and encrypts plaintext ones, in one
transaction: to rotate, set ``INTEL_SECRET_KEY=NEW,OLD``, run ``rotate``, then set
``INTEL_SECRET_KEY=NEW``.
"""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "secrets",
        help="the key endpoint signing secrets are encrypted with: genkey, status, rotate",
        description=__doc__.split("\n\n", 1)[1],
    )
    actions = parser.add_subparsers(dest="secrets_action", metavar="ACTION", required=True)
    gen = actions.add_parser("genkey", help="print a new key for INTEL_SECRET_KEY")
    gen.set_defaults(func=run_genkey)
    for name, helptext, func in (
        ("status", "count stored secrets by how they are encrypted", run_status),
        ("rotate", "re-encrypt every stored secret with the newest key", run_rotate),
    ):
        sub = actions.add_parser(name, help=helptext)
        sub.add_argument("--db", metavar="URL", help="database URL (default: DATABASE_URL)")
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        sub.set_defaults(func=func)


def run_genkey(args: argparse.Namespace) -> int:
    from intel.secretbox import generate_key

    print(generate_key())
    return 0


def _box():
    from intel.secretbox import default_box

    return default_box()


def _engine(args):
    from intel.settings import database_url
    from intel.store.db import make_engine, upgrade

    url = args.db or database_url()
    engine = make_engine(url)
    upgrade(engine)
    return engine, make_url(url).render_as_string(hide_password=True)


def _print(report, args, verb: str) -> None:
    if args.json:
        print(json.dumps(report.to_dict()))
        return
    print(f"endpoint signing secrets {verb}: {report.current} current (newest key), "
          f"{report.rotated} {'re-encrypted' if verb == 'rotated' else 'on an older key'}, "
          f"{report.encrypted} {'encrypted' if verb == 'rotated' else 'plaintext'}"
          + (f", {len(report.undecryptable)} undecryptable" if report.undecryptable else ""))
    for url in report.undecryptable or []:
        print(f"  does not decrypt: {url}", file=sys.stderr)


def _run(args: argparse.Namespace, rotating: bool) -> int:
    from intel.secretbox import SecretError, rotate, survey
    from intel.timeutil import utcnow

    try:
        box = _box()
        if rotating:
            box._need_key("store")
    except SecretError as exc:
        print(f"secrets: {exc}", file=sys.stderr)
        return 2
    engine, shown = _engine(args)
    try:
        if rotating:
            with engine.begin() as conn:
                report = rotate(conn, box, actor="cli", now=utcnow())
        else:
            with engine.connect() as conn:
                report = survey(conn, box)
    except SecretError as exc:
        print(f"secrets: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        print(f"secrets: database {shown}: {type(exc).__name__}: {detail}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    _print(report, args, "rotated" if rotating else "stored")
    return 1 if report.undecryptable else 0


def run_status(args: argparse.Namespace) -> int:
    return _run(args, rotating=False)


def run_rotate(args: argparse.Namespace) -> int:
    return _run(args, rotating=True)
