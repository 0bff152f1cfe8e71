"""The CLI of CONTRACTS §4: advise, replay --recommended / --ids, and job control."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from intel.cli import main
from intel.settings import get_settings
from intel.store.db import make_engine
from intel.store.schema import replay_jobs
from intel.timeutil import utcnow
from tests.replay.replay_helpers import Answer, delivery, seed


@pytest.fixture
def cli_env(sqlite_url, tmp_path, monkeypatch):
    """The CLI against a SQLite store (the store code under it is tested on both)."""
    db_url = sqlite_url
    config = tmp_path / "config.yaml"
    config.write_text("replay:\n  allow_private_networks: true\n  global_rate_per_s: 1000\n"
                      "  heartbeat_s: 0.2\n")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    get_settings.cache_clear()
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _recent_world(engine, receiver):
    now = utcnow()
    ok, down = receiver.url("/ok"), receiver.url("/down")
    receiver.route("/down", Answer(503))

    def at(minutes):
        return now - timedelta(minutes=minutes)

    seed(engine, [
        delivery("r1", ok, created_at=at(90), last_attempt_at=at(90)),
        delivery("r2", ok, created_at=at(80), last_attempt_at=at(80),
                 http_status=None, response_body=None,
                 error="dial tcp 10.0.0.1:443: connect: connection refused"),
        delivery("ok1", ok, status="delivered", http_status=200, created_at=at(10),
                 last_attempt_at=at(10)),
        delivery("w1", down, created_at=at(20), last_attempt_at=at(20)),
        delivery("p1", ok, created_at=at(30), last_attempt_at=at(30), http_status=404,
                 response_body="Not Found"),
    ])


def test_replay_ids_prints_the_summary(cli_env, receiver, capsys):
    url = receiver.url("/x")
    receiver.route("/x/bad", Answer(500))
    seed(cli_env, [delivery("a", url), delivery("b", url), delivery("c", url + "/bad")])
    code, out, err = _run(capsys, "replay", "--ids", "a", "b", "c", "--operator", "alice",
                          "--json", "--no-resume-stale")
    summary = json.loads(out)
    assert code == 1  # one failed
    assert {k: summary[k] for k in ("attempted", "succeeded", "failed", "skipped")} == {
        "attempted": 3, "succeeded": 2, "failed": 1, "skipped": 0}
    assert summary["job_id"].startswith("rj-") and summary["status"] == "completed"
    assert [(d["id"], d["outcome"]) for d in summary["deliveries"]] == [
        ("a", "succeeded"), ("b", "succeeded"), ("c", "failed")]
    assert summary["deliveries"][2]["http_status"] == 500
    assert "replay job" in err  # progress and the preview go to stderr


def test_replay_ids_all_good_exits_zero_and_text_output(cli_env, receiver, capsys):
    seed(cli_env, [delivery("a", receiver.url("/x"))])
    code, out, _err = _run(capsys, "replay", "--ids", "a", "--operator", "alice",
                           "--no-resume-stale")
    assert code == 0 and "1 succeeded" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "--ids", "a"], "--operator"),
        (["replay", "--ids", "nope", "--operator", "x"], "unknown delivery id(s): nope"),
        (["replay", "--ids", "a", "--tenant", "t", "--operator", "x"], "--recommended"),
        (["replay", "--recommended", "--since", "bogus", "--operator", "x"], "--since"),
        (["replay", "--resume", "rj-missing"], "unknown replay job"),
        (["replay", "--status", "rj-missing"], "unknown replay job"),
        (["replay", "--cancel", "rj-missing", "--operator", "x"], "unknown replay job"),
        (["advise", "--since", "last tuesday"], "--since"),
    ],
)
def test_bad_input_exits_2_with_a_message(cli_env, receiver, capsys, argv, message):
    seed(cli_env, [delivery("a", receiver.url("/x"))])
    code, _out, err = _run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err
    with cli_env.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(replay_jobs)).scalar() == 0


def test_advise_json_is_the_recommendations_body(cli_env, receiver, capsys):
    _recent_world(cli_env, receiver)
    code, out, _err = _run(capsys, "advise", "--json")
    body = json.loads(out)
    assert code == 0
    for key in ("recommended_ids", "total_recommended", "total_analyzed", "confidence",
                "reasoning", "breakdown", "age_distribution", "affected_endpoints"):
        assert key in body
    assert body["recommended_ids"] == ["r1", "r2"]
    assert body["total_analyzed"] == 4
    code, out, _err = _run(capsys, "advise", "--since", "1h")
    assert code == 0 and "0 deliveries recommended" in out
    code, out, _err = _run(capsys, "advise")
    assert code == 0 and "2 deliveries recommended for replay (50% of failures)" in out


def test_replay_recommended_replays_only_the_recommendation(cli_env, receiver, capsys):
    _recent_world(cli_env, receiver)
    code, out, _err = _run(capsys, "replay", "--recommended", "--operator", "bob", "--json",
                           "--no-resume-stale")
    summary = json.loads(out)
    assert code == 0 and summary["succeeded"] == 2
    assert sorted(receiver.receipts) == ["r1", "r2"]  # not the waiting or permanent ones
    with cli_env.connect() as conn:
        job = conn.execute(sa.select(replay_jobs)).mappings().one()
    assert job["source"] == "advisor" and job["created_by"] == "bob"
    assert job["preview"]["filters"]["launched_from"] == "cli"
    # nothing left to recommend: a clean "nothing to replay"
    code, out, err = _run(capsys, "replay", "--recommended", "--operator", "bob", "--json",
                          "--no-resume-stale")
    assert code == 0 and json.loads(out)["job_id"] is None and "nothing to replay" in err


def test_status_and_cancel(cli_env, receiver, capsys):
    from intel.replay.jobs import create_job

    seed(cli_env, [delivery("a", receiver.url("/x"))])
    job_id, _ = create_job(cli_env, ["a"], operator="x", source="cli", now=utcnow())
    code, out, _err = _run(capsys, "replay", "--status", job_id, "--json")
    assert code == 0 and json.loads(out)["status"] == "pending"
    code, _out, err = _run(capsys, "replay", "--cancel", job_id, "--operator", "lead")
    assert code == 0 and "cancel requested" in err
    code, out, _err = _run(capsys, "replay", "--status", job_id)
    assert code == 0 and "cancelled" in out
    assert not receiver.requests
