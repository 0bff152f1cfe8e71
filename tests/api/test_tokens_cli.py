"""`python -m intel tokens create|list|revoke` (CONTRACTS §6), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from intel.auth import Role
from intel.auth.tokens import authenticate, list_tokens
from intel.cli import main
from intel.store.db import make_engine
from intel.store.schema import api_tokens, audit_log
from intel.timeutil import parse_timestamp, utcnow
from tests.conftest import REPO


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        tokens = conn.execute(select(func.count()).select_from(api_tokens)).scalar()
        events = conn.execute(select(func.count()).select_from(audit_log)).scalar()
    engine.dispose()
    return int(tokens), int(events)


def test_create_json_prints_the_contract_object_and_the_token_works(db_url, capsys):
    assert main(["tokens", "create", "--name", "ci-bot", "--role", "operator",
                 "--tenant", "globex", "--tenant", "acme", "--expires", "30d", "--json",
                 "--db", db_url]) == 0
    out = capsys.readouterr().out
    body = json.loads(out)
    assert list(body) == ["name", "role", "tenants", "expires_at", "token"]
    assert body["name"] == "ci-bot" and body["role"] == "operator"
    assert body["tenants"] == ["acme", "globex"]
    expires = parse_timestamp(body["expires_at"])
    assert abs(expires - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
    engine = make_engine(db_url)
    who = authenticate(engine, body["token"], utcnow())
    engine.dispose()
    assert (who.name, who.role, who.tenants) == ("ci-bot", Role.operator,
                                                frozenset({"acme", "globex"}))


def test_create_without_tenants_or_expiry(db_url, capsys):
    assert main(["tokens", "create", "--name", "all", "--role", "viewer", "--json",
                 "--db", db_url]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["tenants"] == [] and body["expires_at"] is None
    assert body["token"].startswith("alk_")


def test_create_human_output_says_the_token_is_shown_once(db_url, capsys):
    assert main(["tokens", "create", "--name", "ops", "--role", "admin",
                 "--expires", "2099-01-01T00:00:00Z", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "shown only once" in out and "admin" in out and "all tenants" in out
    assert "2099-01-01T00:00:00Z" in out
    secret = next(line for line in out.splitlines() if line.startswith("alk_"))
    engine = make_engine(db_url)
    assert authenticate(engine, secret, utcnow()).name == "ops"
    engine.dispose()


def test_list_shows_states_and_never_a_secret(db_url, capsys):
    main(["tokens", "create", "--name", "a", "--role", "viewer", "--json", "--db", db_url])
    main(["tokens", "create", "--name", "b", "--role", "admin", "--tenant", "acme", "--json",
          "--db", db_url])
    secrets = [json.loads(line)["token"] for line in capsys.readouterr().out.splitlines()]
    assert main(["tokens", "revoke", "b", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["tokens", "list", "--json", "--db", db_url]) == 0
    out = capsys.readouterr().out
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["a"]["state"] == "active" and rows["b"]["state"] == "revoked"
    assert rows["b"]["tenants"] == ["acme"] and rows["a"]["created_by"] == "cli"
    assert main(["tokens", "list", "--db", db_url]) == 0
    table = capsys.readouterr().out
    assert "NAME" in table and "revoked" in table and "(all)" in table
    for secret in secrets:
        assert secret not in out and secret not in table
    assert "token_hash" not in out


def test_revoke_ends_a_token_and_is_audited(db_url, capsys):
    main(["tokens", "create", "--name", "gone", "--role", "operator", "--json",
          "--db", db_url])
    secret = json.loads(capsys.readouterr().out)["token"]
    assert main(["tokens", "revoke", "gone", "--db", db_url]) == 0
    assert "revoked API token gone" in capsys.readouterr().out
    engine = make_engine(db_url)
    assert authenticate(engine, secret, utcnow()) is None
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.actor)
                               .order_by(audit_log.c.id)).all()
    engine.dispose()
    assert [tuple(a) for a in actions] == [("token.create", "cli"), ("token.revoke", "cli")]
    assert main(["tokens", "revoke", "gone", "--db", db_url]) == 0
    assert "already revoked" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--name", "has space", "--role", "viewer"], "--name:"),
        (["--name", "x" * 101, "--role", "viewer"], "--name:"),
        (["--name", "ok", "--role", "root"], "--role: expected viewer | operator | admin"),
        (["--name", "ok", "--role", "viewer", "--tenant", "bad\nline"], "--tenant:"),
        (["--name", "ok", "--role", "viewer", "--expires", "yesterday"], "--expires:"),
        (["--name", "ok", "--role", "viewer", "--expires", "2000-01-01T00:00:00Z"],
         "--expires: '2000-01-01T00:00:00Z' is not in the future"),
        (["--name", "ok", "--role", "viewer", "--expires", "0d"], "--expires:"),
        (["--name", "taken", "--role", "viewer"], "--name: a token named 'taken' exists"),
    ],
)
def test_bad_arguments_are_exit_2_naming_them_and_write_nothing(db_url, capsys, args,
                                                                fragment):
    main(["tokens", "create", "--name", "taken", "--role", "viewer", "--db", db_url])
    capsys.readouterr()
    before = _counts(db_url)
    assert main(["tokens", "create", *args, "--db", db_url]) == 2
    captured = capsys.readouterr()
    assert fragment in captured.err and captured.out == ""
    assert _counts(db_url) == before


def test_revoking_an_unknown_name_is_exit_2(db_url, capsys):
    assert main(["tokens", "revoke", "nobody", "--db", db_url]) == 2
    assert "no token named 'nobody'" in capsys.readouterr().err
    assert _counts(db_url) == (0, 0)


@pytest.mark.parametrize("args", [["create", "--name", "x"], ["create", "--role", "viewer"],
                                  ["revoke"], ["frobnicate"]])
def test_missing_arguments_are_exit_2(db_url, args):
    with pytest.raises(SystemExit) as exc:
        main(["tokens", *args])
    assert exc.value.code == 2


def test_the_command_runs_as_a_module(sqlite_url):
    """`python -m intel tokens ...` end to end, as the contract writes it."""
    env = {"DATABASE_URL": sqlite_url, "PATH": "/usr/bin:/bin"}
    made = subprocess.run(
        [sys.executable, "-m", "intel", "tokens", "create", "--name", "m", "--role", "viewer",
         "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["name"] == "m"
    listed = subprocess.run([sys.executable, "-m", "intel", "tokens", "list", "--json"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert [t["name"] for t in json.loads(listed.stdout)] == ["m"]
    engine = make_engine(sqlite_url)
    assert [t.name for t in list_tokens(engine)] == ["m"]
    engine.dispose()
