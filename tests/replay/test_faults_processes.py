"""A job runner process paused (SIGSTOP) past its heartbeat and resumed (SIGCONT) after
another runner took the job over, and one killed (SIGKILL) mid-job, on SQLite and
PostgreSQL. Counting what the receiver accepted: nothing twice, nothing lost; the
deliveries in flight at the pause or kill are unknown outcomes (or, when the paused
runner reads their answer after all, succeeded), and a later "replay the recommendation"
sends none of them again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from intel.replay import jobs as J
from intel.replay import states as S
from intel.replay.runner import resume_stale_jobs, run_job
from intel.store.db import make_engine
from intel.store.schema import replay_items
from intel.timeutil import utcnow
from tests.replay.fault_helpers import TLS, fault_settings, no_duplicates, nothing_lost, world
from tests.replay.replay_helpers import Answer, wait_for

REPO = Path(__file__).resolve().parents[2]
STALE_S = 1.0
ANSWER_AFTER_S = 0.3  # every answer is slow, so requests are in flight at the signal


def _runner(db_url: str, tmp_path: Path, job_id: str) -> subprocess.Popen:
    config = tmp_path / "config.yaml"
    config.write_text(
        "replay:\n  allow_private_networks: true\n  per_endpoint_concurrency: 2\n"
        "  global_rate_per_s: 1000\n  heartbeat_s: 0.2\n"
        f"  runner_stale_after_s: {STALE_S}\n  timeout_s: 0.6\n"
    )
    env = dict(os.environ, DATABASE_URL=db_url, INTEL_CONFIG=str(config), PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "intel", "replay", "--resume", job_id, "--no-resume-stale"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _states(engine, job_id) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(
            sa.select(replay_items.c.delivery_id, replay_items.c.state)
            .where(replay_items.c.job_id == job_id)).all())


def _setup(request, database, receiver):
    db_url = request.getfixturevalue("sqlite_url" if database == "sqlite" else "pg_url")
    engine = make_engine(db_url)
    modes = world(engine, receiver, "acme", utcnow(), {"ok": 8, "slow": 8})
    receiver.route("/acme/", Answer(200, delay_s=ANSWER_AFTER_S))
    made = J.create_recommended_job(engine, operator="alice", now=utcnow(),
                                    launched_from="cli", settings=fault_settings())
    assert sorted(made.advice["recommended_ids"]) == sorted(modes)
    return db_url, engine, modes, made.job_id


def _afterwards(engine, receiver, modes) -> None:
    """A later "replay the recommendation" sends none of what the receiver may have."""
    s = fault_settings(runner_stale_after_s=STALE_S)
    later = J.create_recommended_job(engine, operator="later", now=utcnow(),
                                     launched_from="cli", settings=s)
    unknown = {u["id"] for u in later.advice["outcome_unknown"]}
    assert not unknown & set(later.advice["recommended_ids"])
    if later.created:
        run_job(engine, later.job_id, s, verify=TLS)
    no_duplicates(receiver, modes)
    ends = nothing_lost(engine, modes)
    assert set(ends) <= {S.SUCCEEDED, S.UNKNOWN}


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_runner_paused_past_its_heartbeat_then_resumed(request, receiver, tmp_path, database):
    db_url, engine, modes, job_id = _setup(request, database, receiver)
    runner = _runner(db_url, tmp_path, job_id)
    taken: list = []
    takeover = threading.Thread(target=lambda: taken.extend(
        resume_stale_jobs(engine, fault_settings(runner_stale_after_s=STALE_S))))
    try:
        assert wait_for(lambda: sum(receiver.receipts.values()) >= 3, timeout=20)
        runner.send_signal(signal.SIGSTOP)
        time.sleep(STALE_S + 0.5)  # its heartbeat goes stale; its requests' timeouts pass
        takeover.start()
        # Paused inside a database transaction, it holds its locks until it resumes: the
        # takeover then waits for it (and may find it beating again, and leave it the job).
        takeover.join(5)
    finally:
        runner.send_signal(signal.SIGCONT)
    takeover.join(30)
    assert not takeover.is_alive()
    assert runner.wait(20) is not None  # lost the job: sends nothing more; or finished it
    assert J.get_job(engine, job_id)["status"] == S.JOB_COMPLETED
    if taken and taken[0].ran:  # taken over: what it had in flight became unknown
        assert taken[0].job_id == job_id
    no_duplicates(receiver, modes)
    states = _states(engine, job_id)
    assert set(states) == set(modes)
    # the paused runner may have read some answers after all: those end succeeded (the
    # same attempt row), the rest stay unknown; nothing is pending or sending
    assert set(states.values()) <= {S.SUCCEEDED, S.INTERRUPTED, S.UNKNOWN}
    assert len([st for st in states.values() if st != S.SUCCEEDED]) <= 4  # 2 endpoints x 2
    assert all(receiver.accepted[d] == 1 for d in modes)  # each sent exactly once
    _afterwards(engine, receiver, modes)
    assert sum(receiver.receipts.values()) == len(modes)
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_runner_killed_mid_job_then_resumed(request, receiver, tmp_path, database):
    db_url, engine, modes, job_id = _setup(request, database, receiver)
    runner = _runner(db_url, tmp_path, job_id)
    try:
        assert wait_for(lambda: sum(receiver.receipts.values()) >= 3, timeout=20)
    finally:
        runner.kill()
        runner.wait(10)
    time.sleep(STALE_S + 0.2)
    (taken,) = resume_stale_jobs(engine, fault_settings(runner_stale_after_s=STALE_S))
    assert taken.job_id == job_id and taken.status == S.JOB_COMPLETED
    no_duplicates(receiver, modes)
    states = _states(engine, job_id)
    interrupted = {d for d, st in states.items() if st == S.INTERRUPTED}
    assert 1 <= len(interrupted) <= 4
    assert set(states.values()) == {S.SUCCEEDED, S.INTERRUPTED}
    _afterwards(engine, receiver, modes)
    assert set(nothing_lost(engine, modes)) <= {S.SUCCEEDED, S.UNKNOWN}
    assert sum(receiver.receipts.values()) <= len(modes)  # the killed ones: at most once
    engine.dispose()
