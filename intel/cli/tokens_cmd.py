"""``python -m intel tokens create|list|revoke``: API bearer tokens (CONTRACTS §6).

``create --name NAME --role viewer|operator|admin [--tenant T ...] [--expires
RFC3339|30d] [--json]`` makes a token and prints its secret, shown this once: only its
hash is stored. ``--tenant`` (repeatable) limits it to those tenants (none: all tenants);
``--expires`` is a time (RFC 3339) or a duration from now (``30d``, ``12h``). ``--json``
prints one object: ``name``, ``role``, ``tenants``, ``expires_at`` (or null), ``token``.
``list [--json]`` shows every token (never a secret) with its state (active, expired,
revoked) and when it was last used. ``revoke NAME`` ends a token at once.

The command acts with the machine's database access (``DATABASE_URL`` or ``--db``): it is
for whoever runs the deployment; creating and revoking are audited with the actor
``cli``. A bad argument is an error naming it (exit code 2) and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

ACTOR = "cli"
#: TokenError messages start with the field; the option a user typed for it.
_OPTION = {"name": "--name", "role": "--role", "tenant": "--tenant", "expires": "--expires"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tokens",
        help="API bearer tokens: create (shown once), list, revoke",
        description=__doc__.split("\n\n", 1)[1],
    )
    actions = parser.add_subparsers(dest="tokens_action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a token and print its secret once")
    create.add_argument("--name", required=True, metavar="NAME",
                        help="unique name: the actor of everything done with the token")
    create.add_argument("--role", required=True, metavar="viewer|operator|admin",
                        help="viewer reads; operator also replays, acknowledges and labels; "
                             "admin may do everything")
    create.add_argument("--tenant", action="append", default=[], metavar="T",
                        help="limit the token to this tenant (repeatable; none: all tenants)")
    create.add_argument("--expires", metavar="RFC3339|30d",
                        help="expiry: a time, or a duration from now such as 30d (default: "
                             "never)")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    create.add_argument("--db", metavar="URL", help="database URL (default: DATABASE_URL)")
    create.set_defaults(func=run_create)

    listing = actions.add_parser("list", help="every token and its state (no secrets)")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("--db", metavar="URL", help="database URL (default: DATABASE_URL)")
    listing.set_defaults(func=run_list)

    revoke = actions.add_parser("revoke", help="end a token at once")
    revoke.add_argument("name", metavar="NAME", help="the token's name")
    revoke.add_argument("--db", metavar="URL", help="database URL (default: DATABASE_URL)")
    revoke.set_defaults(func=run_revoke)


def _engine(args):
    from intel.settings import database_url
    from intel.store.db import make_engine

    url = args.db or database_url()
    return make_engine(url), make_url(url).render_as_string(hide_password=True)


def _bad(message: str) -> int:
    field, sep, rest = message.partition(":")
    option = _OPTION.get(field.strip())
    print(f"tokens: {option}:{rest}" if sep and option else f"tokens: {message}",
          file=sys.stderr)
    return 2


def _database_error(shown: str, exc: SQLAlchemyError) -> int:
    detail = getattr(exc, "orig", None) or exc
    print(f"tokens: database {shown}: {type(exc).__name__}: {detail} (is it migrated? "
          "python -m intel db upgrade)", file=sys.stderr)
    return 1


def run_create(args: argparse.Namespace) -> int:
    from intel.auth import parse_role
    from intel.auth.tokens import TokenError, create_token, parse_expiry
    from intel.timeutil import to_rfc3339, utcnow

    now = utcnow()
    try:  # everything the arguments can get wrong, before the database is opened
        role = parse_role(args.role)
        expires_at = parse_expiry(args.expires, now)
    except (ValueError, TokenError) as exc:
        return _bad(str(exc))
    engine, shown = _engine(args)
    try:
        info, secret = create_token(engine, name=args.name, role=role, tenants=args.tenant,
                                    expires_at=expires_at, actor=ACTOR, now=now)
    except TokenError as exc:
        return _bad(str(exc))
    except SQLAlchemyError as exc:
        return _database_error(shown, exc)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"name": info.name, "role": info.role.value,
                          "tenants": list(info.tenants),
                          "expires_at": to_rfc3339(info.expires_at), "token": secret}))
        return 0
    tenants = ", ".join(info.tenants) if info.tenants else "all tenants"
    expiry = to_rfc3339(info.expires_at) if info.expires_at else "never"
    print(f"created API token {info.name}: role {info.role.value}, {tenants}, expires "
          f"{expiry}")
    print("The token is shown only once (only its hash is stored); keep it now:")
    print(secret)
    print(f'Use it as: curl -H "Authorization: Bearer {secret}" http://127.0.0.1:8700/deliveries',
          file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from intel.auth.tokens import list_tokens
    from intel.timeutil import utcnow

    now = utcnow()
    engine, shown = _engine(args)
    try:
        tokens = list_tokens(engine)
    except SQLAlchemyError as exc:
        return _database_error(shown, exc)
    finally:
        engine.dispose()
    rows = [t.to_json(now) for t in tokens]
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no API tokens (create one with: python -m intel tokens create --name NAME "
              "--role viewer)")
        return 0
    header = ("NAME", "ROLE", "TENANTS", "STATE", "EXPIRES", "LAST USED", "CREATED BY")
    table = [header] + [
        (r["name"], r["role"], ",".join(r["tenants"]) or "(all)", r["state"],
         r["expires_at"] or "never", r["last_used_at"] or "never", r["created_by"])
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from intel.auth.tokens import TokenError, list_tokens, revoke_token
    from intel.timeutil import to_rfc3339, utcnow

    now = utcnow()
    engine, shown = _engine(args)
    try:
        before = {t.name: t for t in list_tokens(engine)}.get(args.name)
        info = revoke_token(engine, args.name, actor=ACTOR, now=now)
    except TokenError as exc:
        print(f"tokens: NAME: no token named {args.name!r}" if "no token" in str(exc)
              else f"tokens: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        return _database_error(shown, exc)
    finally:
        engine.dispose()
    if before is not None and before.revoked_at is not None:
        print(f"API token {info.name} was already revoked at {to_rfc3339(info.revoked_at)}")
    else:
        print(f"revoked API token {info.name}: it no longer authenticates")
    return 0
