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


def _resumer():
    """The settings of the runner that takes the job over in this process: answers come
    after ``ANSWER_AFTER_S``, well within its timeout (only the signalled runner's
    requests may end unknown)."""
    return fault_settings(runner_stale_after_s=STALE_S, timeout_s=2.0)


def _runner(db_url: str, tmp_path: Path, job_id: str) -> subprocess.Popen:
    config = tmp_path / "config.yaml"
    config.write_text(
        "replay:\n  allow_private_networks: true\n  per_endpoint_concurrency: 2\n"
        "  global_rate_per_s: 1000\n  heartbeat_s: 0.2\n"
        f"  runner_stale_after_s: {STALE_S}\n  timeout_s: 1.0\n"
    )
    env = dict(os.environ, DATABASE_URL=db_url, INTEL_CONFIG=str(config), PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "intel", "replay", "--resume", job_id, "--no-resume-stale"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL,
        stderr=(tmp_path / f"runner-{job_id}.log").open("w"),  # read when a check fails
    )


def _states(engine, job_id) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(
            sa.select(replay_items.c.delivery_id, replay_items.c.state)
            .where(replay_items.c.job_id == job_id)).all())


ROUNDS = 3  # each test repeats its race this many times (a new tenant each round)


def _setup(engine, receiver, tenant):
    modes = world(engine, receiver, tenant, utcnow(), {"ok": 8, "slow": 8})
    receiver.route(f"/{tenant}/", Answer(200, delay_s=ANSWER_AFTER_S))
    made = J.create_recommended_job(engine, operator="alice", now=utcnow(),
                                    launched_from="cli", tenant=tenant,
                                    settings=fault_settings())
    assert sorted(made.advice["recommended_ids"]) == sorted(modes)
    return modes, made.job_id


def _received(receiver, modes) -> int:
    return sum(receiver.receipts[d] for d in modes)


def _afterwards(engine, receiver, tenant, modes, never_sent=frozenset()) -> None:
    """A later "replay the recommendation" sends none of what the receiver may have."""
    s = _resumer()
    later = J.create_recommended_job(engine, operator="later", now=utcnow(),
                                     launched_from="cli", tenant=tenant, settings=s)
    unknown = {u["id"] for u in later.advice["outcome_unknown"]}
    assert not unknown & set(later.advice["recommended_ids"])
    if later.created:
        run_job(engine, later.job_id, s, verify=TLS)
    no_duplicates(receiver, modes)
    ends = nothing_lost(engine, modes)
    # a delivery whose replay provably never left stays failed: the advisor does not
    # recommend what a replay failed on since the endpoint's recovery
    assert set(ends) <= ({S.SUCCEEDED, S.UNKNOWN, S.FAILED} if never_sent
                         else {S.SUCCEEDED, S.UNKNOWN})
    assert ends[S.FAILED] <= len(never_sent)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request):
    db_url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = make_engine(db_url)
    yield db_url, engine
    engine.dispose()


@pytest.mark.slow
def test_runner_paused_past_its_heartbeat_then_resumed(database, receiver, tmp_path):
    db_url, engine = database
    for r in range(ROUNDS):
        modes, job_id = _setup(engine, receiver, f"paused{r}")
        runner = _runner(db_url, tmp_path, job_id)
        taken: list = []
        takeover = threading.Thread(target=lambda taken=taken: taken.extend(
            resume_stale_jobs(engine, _resumer())))
        try:
            assert wait_for(lambda modes=modes: _received(receiver, modes) >= 3, timeout=20)
            runner.send_signal(signal.SIGSTOP)
            time.sleep(STALE_S + 0.5)  # its heartbeat goes stale; its requests' timeouts pass
            takeover.start()
            # Paused inside a database transaction, it holds its locks until it resumes:
            # the takeover then waits for it (and may find it beating again, and leave it
            # the job).
            takeover.join(5)
        finally:
            runner.send_signal(signal.SIGCONT)
        takeover.join(30)
        assert not takeover.is_alive()
        assert runner.wait(20) is not None  # lost the job: sends nothing more; or finished
        log = (tmp_path / f"runner-{job_id}.log").read_text()
        if J.get_job(engine, job_id)["status"] == S.JOB_FAILED:
            # the resumed runner gave up on items it had not sent (say its connects timed
            # out during the pause): the job is left resumable, and resuming finishes it
            run_job(engine, job_id, _resumer(), allow_failed=True, verify=TLS)
        assert J.get_job(engine, job_id)["status"] == S.JOB_COMPLETED, log
        if taken and taken[0].ran:  # taken over: what it had in flight became unknown
            assert taken[0].job_id == job_id
        no_duplicates(receiver, modes)
        states = _states(engine, job_id)
        assert set(states) == set(modes)
        # the paused runner may have read some answers after all: those end succeeded
        # (the same attempt row), the rest stay unknown; a connect that timed out during
        # the pause is failed (nothing was written: provably not received); nothing is
        # pending or sending
        assert set(states.values()) <= {S.SUCCEEDED, S.INTERRUPTED, S.UNKNOWN, S.FAILED}, log
        in_flight = [d for d, st in states.items() if st in (S.INTERRUPTED, S.UNKNOWN)]
        assert len(in_flight) <= 4, log  # 2 endpoints x 2 connections
        never_sent = {d for d, st in states.items() if st == S.FAILED}
        assert all(receiver.accepted[d] == 0 for d in never_sent), log
        assert all(receiver.accepted[d] == 1 for d in modes if d not in never_sent), log
        _afterwards(engine, receiver, f"paused{r}", modes, never_sent)
        assert _received(receiver, modes) >= len(modes) - len(never_sent)


@pytest.mark.slow
def test_runner_killed_mid_job_then_resumed(database, receiver, tmp_path):
    db_url, engine = database
    for r in range(ROUNDS):
        modes, job_id = _setup(engine, receiver, f"killed{r}")
        runner = _runner(db_url, tmp_path, job_id)
        try:
            assert wait_for(lambda modes=modes: _received(receiver, modes) >= 3, timeout=20)
        finally:
            runner.kill()
            runner.wait(10)
        time.sleep(STALE_S + 0.2)
        (taken,) = resume_stale_jobs(engine, _resumer())
        assert taken.job_id == job_id and taken.status == S.JOB_COMPLETED
        no_duplicates(receiver, modes)
        states = _states(engine, job_id)
        interrupted = {d for d, st in states.items() if st == S.INTERRUPTED}
        assert 1 <= len(interrupted) <= 4
        assert set(states.values()) == {S.SUCCEEDED, S.INTERRUPTED}
        _afterwards(engine, receiver, f"killed{r}", modes)
        assert set(nothing_lost(engine, modes)) <= {S.SUCCEEDED, S.UNKNOWN}
        assert _received(receiver, modes) <= len(modes)  # the killed ones: at most once
