"""API bearer tokens (CONTRACTS §6): random, shown once, stored as a hash, revocable.

A token is ``alk_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored; the lookup is by that hash (a unique index), and the final comparison is
constant-time. Creating and revoking are audited.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from intel import audit
from intel.auth.identity import Identity
from intel.auth.roles import Role, parse_role
from intel.store.schema import api_tokens
from intel.timeutil import ensure_utc, parse_duration, parse_timestamp

PREFIX = "alk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_TENANT = re.compile(r"^[^\x00-\x1f]{1,200}$")


class TokenError(ValueError):
    """A bad token request; the message names the field."""


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: Role
    tenants: tuple[str, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_json(self, now: datetime) -> dict:
        from intel.timeutil import to_rfc3339

        return {
            "name": self.name,
            "role": self.role.value,
            "tenants": list(self.tenants),
            "expires_at": to_rfc3339(self.expires_at),
            "created_at": to_rfc3339(self.created_at),
            "created_by": self.created_by,
            "revoked_at": to_rfc3339(self.revoked_at),
            "last_used_at": to_rfc3339(self.last_used_at),
            "state": self.state(now),
        }


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_expiry(value: str | None, now: datetime) -> datetime | None:
    """``--expires``: RFC 3339, or a duration from now (``30d``, ``12h``)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?[smhdw]", text):
            at = now + parse_duration(text)
        else:
            at = parse_timestamp(text)
    except ValueError as exc:
        raise TokenError(f"expires: {exc}") from None
    if at <= now:
        raise TokenError(f"expires: {text!r} is not in the future")
    return at


def _row_info(row) -> TokenInfo:
    return TokenInfo(
        name=row["name"],
        role=Role(row["role"]),
        tenants=tuple(row["tenants"] or ()),
        created_at=row["created_at"],
        created_by=row["created_by"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


def create_token(
    engine: Engine,
    *,
    name: str,
    role: Role | str,
    tenants: Iterable[str] = (),
    expires_at: datetime | None = None,
    actor: str,
    now: datetime,
) -> tuple[TokenInfo, str]:
    """Create a token; returns its info and the secret (shown this once, never stored)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise TokenError(
            f"name: {name!r} must be 1-100 letters, digits or . _ @ - (starting with a letter "
            "or digit)"
        )
    role = parse_role(role) if not isinstance(role, Role) else role
    tenant_list = sorted({t.strip() for t in tenants if t and t.strip()})
    for t in tenant_list:
        if not _TENANT.match(t):
            raise TokenError(f"tenant: {t!r} is not a tenant id")
    now = ensure_utc(now)
    if expires_at is not None and ensure_utc(expires_at) <= now:
        raise TokenError("expires: must be in the future")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = {
        "name": name,
        "role": role.value,
        "tenants": tenant_list,
        "token_hash": hash_token(secret),
        "created_at": now,
        "created_by": actor,
        "expires_at": ensure_utc(expires_at) if expires_at else None,
        "revoked_at": None,
        "last_used_at": None,
    }
    try:
        with engine.begin() as conn:
            conn.execute(insert(api_tokens).values(**row))
            audit.record(
                conn, actor=actor, action="token.create", at=now, target_type="token",
                target_id=name,
                summary=f"API token {name} created: {role.value}, "
                + (", ".join(tenant_list) if tenant_list else "all tenants"),
                details={"role": role.value, "tenants": tenant_list,
                         "expires_at": row["expires_at"].isoformat() if expires_at else None},
            )
    except IntegrityError:
        raise TokenError(f"name: a token named {name!r} exists already") from None
    return _row_info(row), secret


def list_tokens(engine: Engine) -> list[TokenInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.name)).mappings()
        return [_row_info(r) for r in rows]


def revoke_token(engine: Engine, name: str, *, actor: str, now: datetime) -> TokenInfo:
    now = ensure_utc(now)
    with engine.begin() as conn:
        row = conn.execute(
            select(api_tokens).where(api_tokens.c.name == name)
        ).mappings().first()
        if row is None:
            raise TokenError(f"name: no token named {name!r}")
        if row["revoked_at"] is None:
            conn.execute(
                update(api_tokens).where(api_tokens.c.name == name).values(revoked_at=now)
            )
            audit.record(conn, actor=actor, action="token.revoke", at=now,
                         target_type="token", target_id=name,
                         summary=f"API token {name} revoked")
        row = conn.execute(
            select(api_tokens).where(api_tokens.c.name == name)
        ).mappings().first()
    return _row_info(row)


def authenticate(engine: Engine, secret: str | None, now: datetime) -> Identity | None:
    """The identity a bearer secret stands for, or None (unknown, revoked or expired)."""
    if not secret or not isinstance(secret, str) or len(secret) > 200:
        return None
    digest = hash_token(secret)
    with engine.connect() as conn:
        row = conn.execute(
            select(api_tokens).where(api_tokens.c.token_hash == digest)
        ).mappings().first()
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        return None
    info = _row_info(row)
    if info.state(ensure_utc(now)) != "active":
        return None
    return Identity.make(info.name, info.role, info.tenants, via="token")


def touch_last_used(engine: Engine, name: str, now: datetime) -> None:
    """Record when a token was last used (best effort; callers may throttle it)."""
    with engine.begin() as conn:
        conn.execute(
            update(api_tokens).where(api_tokens.c.name == name).values(last_used_at=now)
        )


def ensure_token_file(engine: Engine, path: Path, *, name: str, role: Role | str,
                      actor: str, now: datetime) -> tuple[str, bool]:
    """A working token kept in ``path`` (mode 0600): the demo's way to hand the API a
    credential without printing a fresh secret on every start. Returns (secret, created).

    The file's token is kept while it authenticates; otherwise a token named ``name`` is
    (re)created — an older one of that name is revoked first, so the file is the only
    copy of a usable secret."""
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        identity = authenticate(engine, secret, now)
        if identity is not None and identity.name == name:
            return secret, False
    with engine.connect() as conn:
        exists = conn.execute(
            select(api_tokens.c.name).where(api_tokens.c.name == name)
        ).first() is not None
    if exists:
        revoke_token(engine, name, actor=actor, now=now)
        with engine.begin() as conn:  # the name is unique: make room for its successor
            conn.execute(api_tokens.delete().where(api_tokens.c.name == name))
    _info, secret = create_token(engine, name=name, role=role, actor=actor, now=now)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    os.chmod(path, 0o600)
    return secret, True
