"""Each fault mode of a real receiver, end to end through "replay the recommendation", on
SQLite and PostgreSQL: a receiver that accepts the request and answers after the replay
timeout, one that drops the connection after reading it, one that answers 200 slowly.
Counting what the receiver accepted: the unknown outcomes are never recommended or sent
again by ``--recommended`` or a plain ``--ids``; only the operator's deliberate
``--resend-unknown`` sends one again, with the same ``webhook-id``."""

from __future__ import annotations

import json

import pytest

from intel.audit import AuditFilter, list_events
from intel.cli import main as cli_main
from intel.replay import jobs as J
from intel.replay import states as S
from intel.replay.runner import run_job
from intel.secretbox import default_box
from intel.settings import get_settings
from intel.store.schema import endpoints
from intel.timeutil import utcnow
from tests.replay.fault_helpers import (
    TIMEOUT_S,
    TLS,
    fault_settings,
    no_duplicates,
    nothing_lost,
    outcomes,
    world,
)
from tests.replay.replay_helpers import SECRET, Answer


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("replay:\n  allow_private_networks: true\n  global_rate_per_s: 1000\n"
                      f"  timeout_s: {TIMEOUT_S}\n  heartbeat_s: 0.2\n")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    get_settings.cache_clear()

    def run(*argv):
        code = cli_main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    yield run
    get_settings.cache_clear()


def _sign_everything(engine, receiver, tenant):
    """Every endpoint of the tenant signs with SECRET; the receiver verifies."""
    receiver.secrets[f"/{tenant}/"] = SECRET
    with engine.begin() as conn:
        for mode in ("ok", "timeout", "drop", "slow"):
            conn.execute(endpoints.insert().values(
                url=receiver.url(f"/{tenant}/{mode}"), signing_secret=default_box().seal(SECRET),
                disabled=False, updated_at=utcnow()))


@pytest.mark.parametrize(
    ("mode", "ends"),
    [("timeout", S.UNKNOWN), ("drop", S.UNKNOWN), ("slow", S.SUCCEEDED)],
    ids=["timeout-after-sending", "drop-after-read", "slow-200"],
)
def test_fault_mode_end_to_end(engine, receiver, cli, mode, ends):
    s = fault_settings()
    modes = world(engine, receiver, "acme", utcnow(), {mode: 3, "ok": 1})
    _sign_everything(engine, receiver, "acme")
    faulty = sorted(d for d, m in modes.items() if m == mode)

    first = J.create_recommended_job(engine, operator="alice", now=utcnow(),
                                     launched_from="cli", settings=s)
    assert sorted(first.advice["recommended_ids"]) == sorted(modes)
    run_job(engine, first.job_id, s, verify=TLS)
    assert {d: o for d, o in outcomes(engine, modes).items() if d in faulty} == dict.fromkeys(
        faulty, ends)
    assert all(receiver.accepted[d] == 1 for d in modes)
    assert all(r.verified for r in receiver.requests)

    # the advisor now: unknown outcomes are listed to check with the receiver, never
    # recommended; a second --recommended (the CLI) has nothing to send
    advice = J.create_recommended_job(engine, operator="bob", now=utcnow(),
                                      launched_from="cli", settings=s)
    assert not advice.created and advice.advice["recommended_ids"] == []
    unknown = faulty if ends == S.UNKNOWN else []
    assert sorted(u["id"] for u in advice.advice["outcome_unknown"]) == unknown
    assert all(u["job_id"] == first.job_id for u in advice.advice["outcome_unknown"])
    assert advice.advice["breakdown"]["by_decision"].get("outcome_unknown", 0) == len(unknown)
    code, _out, err = cli("replay", "--recommended", "--operator", "bob", "--json",
                          "--no-resume-stale")
    assert code == 0 and "nothing to replay" in err
    code, out, _err = cli("advise")
    assert code == 0 and ("outcome unknown — check with the receiver" in out) == bool(unknown)

    # a plain replay of them by id: skipped, not sent
    code, out, _err = cli("replay", "--ids", *faulty, "--operator", "carol", "--json",
                          "--no-resume-stale")
    summary = json.loads(out)
    assert summary["attempted"] == 0 and summary["skipped"] == len(faulty)
    no_duplicates(receiver, modes)
    nothing_lost(engine, modes)
    if not unknown:
        return

    # the operator's deliberate resend: same webhook-id, signed, audited
    receiver.route(f"/acme/{mode}", Answer(200))
    code, out, err = cli("replay", "--ids", unknown[0], "--resend-unknown", "--operator",
                         "lead", "--json", "--no-resume-stale")
    summary = json.loads(out)
    assert code == 0 and summary["succeeded"] == 1, err
    assert receiver.accepted[unknown[0]] == 2
    resent = [r for r in receiver.requests if r.headers["webhook-id"] == unknown[0]]
    assert len(resent) == 2 and all(r.verified for r in resent)
    (event,) = list_events(engine, AuditFilter(action_prefix="replay.unknown.resend"))[0]
    assert event["actor"] == "lead" and event["target_id"] == unknown[0]
    no_duplicates(receiver, modes, resent={unknown[0]})
    assert nothing_lost(engine, modes)[S.UNKNOWN] == len(unknown) - 1
    # --resend-unknown is for --ids only
    code, _out, err = cli("replay", "--recommended", "--resend-unknown", "--operator", "x")
    assert code == 2 and "--resend-unknown goes with --ids" in err
