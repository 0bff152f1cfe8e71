"""API tokens (CONTRACTS §6): created once, stored hashed, revocable, expiring, audited —
on SQLite and PostgreSQL."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from sqlalchemy import select

from intel.audit import AuditFilter, list_events
from intel.auth import Role
from intel.auth.tokens import (
    PREFIX,
    TokenError,
    authenticate,
    create_token,
    ensure_token_file,
    hash_token,
    list_tokens,
    parse_expiry,
    revoke_token,
)
from intel.store.schema import api_tokens


def test_a_token_is_shown_once_and_stored_only_as_a_hash(engine, now):
    info, secret = create_token(engine, name="ci-bot", role="operator", tenants=["t2", "t1"],
                                actor="root", now=now)
    assert secret.startswith(PREFIX) and len(secret) > 40
    assert info.role is Role.operator and info.tenants == ("t1", "t2")
    with engine.connect() as conn:
        stored = conn.execute(select(api_tokens)).mappings().one()
    assert secret not in {str(v) for v in stored.values()}
    assert stored["token_hash"] == hash_token(secret)
    who = authenticate(engine, secret, now)
    assert (who.name, who.role, who.tenants, who.via) == (
        "ci-bot", Role.operator, frozenset({"t1", "t2"}), "token")
    events, _ = list_events(engine, AuditFilter(action_prefix="token"))
    assert [(e["action"], e["actor"], e["target_id"]) for e in events] == [
        ("token.create", "root", "ci-bot")]
    assert secret not in str(events)


@pytest.mark.parametrize("secret", [None, "", "alk_unknown", "x" * 500, "alk_\ud800"])
def test_unknown_or_malformed_secrets_authenticate_nobody(engine, now, secret):
    create_token(engine, name="a", role="viewer", actor="root", now=now)
    assert authenticate(engine, secret, now) is None


def test_revoked_and_expired_tokens_stop_working(engine, now):
    _, revoked = create_token(engine, name="old", role="admin", actor="root", now=now)
    _, expiring = create_token(engine, name="temp", role="viewer", actor="root", now=now,
                               expires_at=now + timedelta(hours=1))
    assert authenticate(engine, expiring, now + timedelta(minutes=59)) is not None
    assert authenticate(engine, expiring, now + timedelta(hours=1)) is None
    info = revoke_token(engine, "old", actor="root", now=now)
    assert info.state(now) == "revoked" and authenticate(engine, revoked, now) is None
    revoke_token(engine, "old", actor="root", now=now)  # again: no second audit entry
    states = {t.name: t.state(now + timedelta(hours=2)) for t in list_tokens(engine)}
    assert states == {"old": "revoked", "temp": "expired"}
    _, total = list_events(engine, AuditFilter(action_prefix="token.revoke"))
    assert total == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name:"),
        ({"name": "has space"}, "name:"),
        ({"name": "x" * 101}, "name:"),
        ({"role": "root"}, "role: expected viewer | operator | admin"),
        ({"tenants": ["ok", "bad\nline"]}, "tenant:"),
        ({"expires_in": timedelta(seconds=0)}, "expires: must be in the future"),
    ],
)
def test_bad_requests_name_the_field_and_write_nothing(engine, now, kwargs, message):
    args = {"name": "n", "role": "viewer", "tenants": ()}
    kwargs = dict(kwargs)  # the table's dict is shared by the SQLite and PostgreSQL runs
    expires_in = kwargs.pop("expires_in", None)
    args.update(kwargs)
    with pytest.raises((TokenError, ValueError), match=message):
        create_token(engine, **args, actor="root", now=now,
                     expires_at=now + expires_in if expires_in is not None else None)
    assert list_tokens(engine) == []


def test_names_are_unique(engine, now):
    create_token(engine, name="bot", role="viewer", actor="root", now=now)
    with pytest.raises(TokenError, match="name: a token named 'bot' exists already"):
        create_token(engine, name="bot", role="admin", actor="root", now=now)
    assert [t.role for t in list_tokens(engine)] == [Role.viewer]


@pytest.mark.parametrize(
    ("text", "hours"),
    [("30d", 720), ("12h", 12), ("2w", 336), ("2026-11-06T16:30:00Z", 24), (None, None)],
)
def test_expiry_is_a_duration_or_a_timestamp(now, text, hours):
    at = parse_expiry(text, now)
    assert (at - now if at else None) == (timedelta(hours=hours) if hours else None)


@pytest.mark.parametrize("text", ["yesterday", "-1d", "2020-01-01T00:00:00Z", "0h"])
def test_bad_expiry_names_the_field(now, text):
    with pytest.raises(TokenError, match="expires:"):
        parse_expiry(text, now)


def test_the_demo_token_file_is_kept_while_it_works(sqlite_engine, now, tmp_path):
    path = tmp_path / "run" / "demo-api-token"
    secret, created = ensure_token_file(sqlite_engine, path, name="demo", role="operator",
                                        actor="demo-seed", now=now)
    assert created and path.read_text().strip() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_token_file(sqlite_engine, path, name="demo", role="operator",
                             actor="demo-seed", now=now) == (secret, False)
    revoke_token(sqlite_engine, "demo", actor="root", now=now)
    fresh, created = ensure_token_file(sqlite_engine, path, name="demo", role="operator",
                                       actor="demo-seed", now=now)
    assert created and fresh != secret and path.read_text().strip() == fresh
    assert authenticate(sqlite_engine, secret, now) is None
    assert authenticate(sqlite_engine, fresh, now).role is Role.operator
    assert [t.name for t in list_tokens(sqlite_engine)] == ["demo"]
