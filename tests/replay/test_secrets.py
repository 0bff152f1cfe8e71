"""Endpoint signing secrets encrypted at rest (intel.secretbox): the stored column never
holds a plaintext ``whsec_``, signing and verification still work end to end, rotation
re-encrypts everything (legacy plaintext included), a wrong or missing key is a clear
error and never an unsigned send; the ``secrets`` CLI; the demo key file."""

from __future__ import annotations

import json
import os
import stat

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from intel.audit import AuditFilter, list_events
from intel.cli import main
from intel.replay import replay_single
from intel.secretbox import (
    ENV,
    PREFIX,
    SecretBox,
    SecretKeyInvalid,
    SecretKeyMissing,
    SecretUndecryptable,
    load_box,
    parse_keys,
    rotate,
    survey,
)
from intel.store.schema import endpoints
from tests.replay.replay_helpers import SECRET, T0, delivery, seed, settings

# Fixed keys: pytest-xdist needs the same parameter ids on every worker.
OLD = "rRe9lUMKXG6fQ3bJrcVsv_MYRo3RJkuz_8nkw_4gkbw="
NEW = "Zp5yXoyhwXVvaHkgSeE2sRm7ECWmS3sFq_Q7D-0Op1U="


def test_seal_and_open():
    box = SecretBox([NEW])
    stored = box.seal(SECRET)
    assert stored.startswith(PREFIX) and "whsec_" not in stored and SECRET not in stored
    assert box.open(stored) == SECRET
    assert box.seal(SECRET) != stored  # a fresh IV every time
    assert box.open(SECRET) == SECRET  # a legacy plaintext value is used as it is


def test_several_keys_newest_first():
    old_box, both = SecretBox([OLD]), SecretBox([NEW, OLD])
    stored = old_box.seal(SECRET)
    assert both.open(stored) == SECRET and not both.is_current(stored)
    resealed = both.reseal(stored)
    assert both.is_current(resealed) and SecretBox([NEW]).open(resealed) == SECRET
    with pytest.raises(SecretUndecryptable):
        old_box.open(resealed)


@pytest.mark.parametrize(
    ("env", "error", "message"),
    [
        ("", None, None),  # unset: no key (not demo)
        ("not-a-key", SecretKeyInvalid, "key 1 of 1 is not a Fernet key"),
        (f"{NEW},short", SecretKeyInvalid, "key 2 of 2 is not a Fernet key"),
        (" , ", SecretKeyInvalid, "is empty"),
    ],
)
def test_bad_keys_are_named_by_position_never_echoed(env, error, message):
    if error is None:
        assert not load_box(environ={ENV: env}).has_key
        return
    with pytest.raises(error, match=message) as info:
        load_box(environ={ENV: env})
    assert "short" not in str(info.value) and "not-a-key" not in str(info.value)


def test_without_a_key_secrets_are_neither_stored_nor_used():
    box = load_box(environ={})
    with pytest.raises(SecretKeyMissing, match=f"{ENV} is not set.*secrets genkey"):
        box.seal(SECRET)
    with pytest.raises(SecretKeyMissing):
        box.open(SecretBox([NEW]).seal(SECRET))


def test_a_wrong_key_is_a_clear_error():
    stored = SecretBox([OLD]).seal(SECRET)
    with pytest.raises(SecretUndecryptable, match="encrypted with another key"):
        SecretBox([NEW]).open(stored)
    with pytest.raises(SecretUndecryptable):
        SecretBox([NEW]).open(PREFIX + "garbage")


def test_the_demo_key_file_is_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "data" / "secret.key"
    first = load_box(environ={}, demo=True, key_file=path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = load_box(environ={}, demo=True, key_file=path)
    assert again.open(first.seal(SECRET)) == SECRET
    Fernet(path.read_text().strip())  # a valid key
    # the environment's key wins over the file
    assert load_box(environ={ENV: NEW}, demo=True, key_file=path).keys == [NEW]


def test_parse_keys_keeps_the_order():
    assert parse_keys(f" {NEW} , {OLD} ") == [NEW, OLD]


# --- with the store -------------------------------------------------------------------


def _stored(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(endpoints.c.url, endpoints.c.signing_secret)).all())


def _put(engine, rows: dict[str, str]) -> None:
    with engine.begin() as conn:
        for url, value in rows.items():
            conn.execute(endpoints.insert().values(url=url, signing_secret=value,
                                                   disabled=False, updated_at=T0))


def test_signed_replays_work_with_the_stored_secret_encrypted(engine, receiver):
    url = receiver.url("/signed/acme")
    receiver.secrets["/signed"] = SECRET  # the receiver verifies with the plaintext
    seed(engine, [delivery("evt_1", url)], {url: SECRET})
    assert _stored(engine)[url].startswith(PREFIX)
    out = replay_single(engine, "evt_1", operator="alice", settings=settings())
    assert out.outcome == "succeeded"
    assert receiver.requests[0].verified is True


def test_a_secret_that_cannot_be_decrypted_refuses_the_replay(engine, receiver, monkeypatch):
    url = receiver.url("/signed/acme")
    seed(engine, [delivery("evt_1", url)])
    _put(engine, {url: SecretBox([OLD]).seal(SECRET)})  # not the process's key
    out = replay_single(engine, "evt_1", operator="alice", settings=settings())
    assert out.outcome == "refused"
    assert "signing secret cannot be used" in out.reason and "another key" in out.reason
    assert receiver.requests == []  # never sent unsigned
    monkeypatch.delenv(ENV)  # no key at all (not demo)
    seed(engine, [delivery("evt_2", url)])
    out = replay_single(engine, "evt_2", operator="alice", settings=settings())
    assert out.outcome == "refused" and f"{ENV} is not set" in out.reason
    assert receiver.requests == []


def test_rotation_re_encrypts_everything_with_the_newest_key(engine):
    _put(engine, {"https://a.example/": SecretBox([OLD]).seal(SECRET),
                  "https://b.example/": SECRET,  # legacy plaintext
                  "https://c.example/": SecretBox([NEW]).seal(SECRET),
                  "https://d.example/": None})
    box = SecretBox([NEW, OLD])
    with engine.connect() as conn:
        before = survey(conn, box)
    assert (before.current, before.rotated, before.encrypted) == (1, 1, 1)
    with engine.begin() as conn:
        report = rotate(conn, box, actor="cli", now=T0)
    assert (report.current, report.rotated, report.encrypted) == (1, 1, 1)
    stored = _stored(engine)
    assert stored["https://d.example/"] is None
    new_only = SecretBox([NEW])
    for url in ("https://a.example/", "https://b.example/", "https://c.example/"):
        assert stored[url].startswith(PREFIX) and new_only.open(stored[url]) == SECRET
    events, _ = list_events(engine, AuditFilter(action_prefix="secrets.rotate"))
    assert events[0]["details"]["rotated"] == 1 and events[0]["actor"] == "cli"


def test_rotation_is_all_or_nothing(engine):
    stranger = "https://x:pw@stranger.example/"
    _put(engine, {"https://a.example/": SECRET, stranger: SecretBox([OLD]).seal(SECRET)})
    with pytest.raises(SecretUndecryptable, match=r"https://\*\*\*@stranger.example/") as info, \
            engine.begin() as conn:
        rotate(conn, SecretBox([NEW]), actor="cli", now=T0)
    assert "pw@" not in str(info.value) and "nothing was changed" in str(info.value)
    assert _stored(engine)["https://a.example/"] == SECRET


def test_the_secrets_cli(db_url, monkeypatch, capsys):
    assert main(["secrets", "genkey"]) == 0
    Fernet(capsys.readouterr().out.strip())
    from intel.store.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    _put(engine, {"https://a.example/": SecretBox([OLD]).seal(SECRET),
                  "https://b.example/": SECRET})
    monkeypatch.setenv(ENV, f"{NEW},{OLD}")
    assert main(["secrets", "status", "--db", db_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "current": 0, "rotated": 1, "encrypted": 1, "undecryptable": []}
    assert main(["secrets", "rotate", "--db", db_url]) == 0
    assert "1 re-encrypted, 1 encrypted" in capsys.readouterr().out
    monkeypatch.setenv(ENV, NEW)  # the old key can go now
    assert main(["secrets", "status", "--db", db_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["current"] == 2
    monkeypatch.setenv(ENV, OLD)  # a wrong key: a clear error, exit 2, no traceback
    assert main(["secrets", "rotate", "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "do not decrypt" in err and "Traceback" not in err
    monkeypatch.delenv(ENV)
    assert main(["secrets", "rotate", "--db", db_url]) == 2
    assert f"{ENV} is not set" in capsys.readouterr().err
    engine.dispose()
