"""A job whose runner process is killed (SIGKILL) mid-way resumes with nothing sent twice
and nothing lost; on SQLite and PostgreSQL, resumed by the CLI and by the next runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from intel.audit import AuditFilter, list_events
from intel.replay import jobs as J
from intel.replay.runner import resume_stale_jobs
from intel.store.db import make_engine
from intel.store.schema import delivery_attempts, replay_claims, replay_items
from tests.replay.replay_helpers import T0, Answer, delivery, seed, settings, wait_for

REPO = Path(__file__).resolve().parents[2]
N = 60


def _env(db_url: str, config: Path) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=db_url, INTEL_CONFIG=str(config), PYTHONPATH=str(REPO))
    return env


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "replay:\n"
        "  allow_private_networks: true\n"
        "  per_endpoint_concurrency: 2\n"
        "  global_rate_per_s: 1000\n"
        "  heartbeat_s: 0.2\n"
        "  runner_stale_after_s: 1.0\n"
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("database", "resume_by"),
                         [("sqlite", "cli"), ("postgres", "next-runner")])
def test_killed_runner_resumes_without_double_send_or_loss(request, receiver, tmp_path,
                                                           database, resume_by):
    db_url = request.getfixturevalue("sqlite_url" if database == "sqlite" else "pg_url")
    engine = make_engine(db_url)
    receiver.route("/", Answer(200, delay_s=0.1))
    urls = [receiver.url(f"/k{e}") for e in range(3)]
    ids = [f"d{i:04d}" for i in range(N)]
    seed(engine, [delivery(i, urls[i % 3]) for i in range(N)])
    job_id, _ = J.create_job(engine, ids, operator="alice", source="cli", now=T0)
    config = _config(tmp_path)
    env = _env(db_url, config)

    runner = subprocess.Popen(
        [sys.executable, "-m", "intel", "replay", "--resume", job_id, "--no-resume-stale"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: sum(receiver.receipts.values()) >= 15, timeout=20)
    finally:
        runner.kill()  # SIGKILL: no cleanup of any kind
        runner.wait(10)
    received_at_kill = dict(receiver.receipts)
    assert J.get_job(engine, job_id)["status"] == "running"

    time.sleep(1.2)  # the dead runner's heartbeat goes stale
    if resume_by == "cli":
        done = subprocess.run(
            [sys.executable, "-m", "intel", "replay", "--resume", job_id, "--json",
             "--no-resume-stale"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )
        summary = json.loads(done.stdout)
        assert summary["job_id"] == job_id and summary["status"] == "completed"
    else:
        (result,) = resume_stale_jobs(engine, settings(runner_stale_after_s=1.0))
        assert result.job_id == job_id and result.status == "completed"
        summary = J.job_summary(engine, job_id)

    # Nothing sent twice.
    assert max(receiver.receipts.values()) == 1, receiver.receipts.most_common(3)
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.select(replay_items.c.delivery_id, replay_items.c.state).where(
                    replay_items.c.job_id == job_id
                )
            ).all()
        )
        unknown_claims = set(
            conn.execute(
                sa.select(replay_claims.c.delivery_id).where(replay_claims.c.state == "unknown")
            ).scalars()
        )
        unknown_attempts = conn.execute(
            sa.select(sa.func.count()).select_from(delivery_attempts).where(
                delivery_attempts.c.status == "unknown"
            )
        ).scalar()
    # Nothing lost: every item ended, succeeded ones were received exactly once, and the
    # ones in flight at the kill are "interrupted" (received at most once, never re-sent).
    assert set(states) == set(ids)
    assert set(states.values()) <= {"succeeded", "interrupted"}
    succeeded = {d for d, s in states.items() if s == "succeeded"}
    interrupted = {d for d, s in states.items() if s == "interrupted"}
    assert all(receiver.receipts[d] == 1 for d in succeeded)
    assert all(receiver.receipts[d] <= 1 for d in interrupted)
    assert all(received_at_kill.get(d, 0) <= 1 for d in ids)
    assert len(interrupted) <= 6  # at most what was in flight (3 endpoints x 2)
    assert unknown_claims == interrupted and unknown_attempts == len(interrupted)
    assert summary["succeeded"] == len(succeeded)
    assert summary["interrupted"] == len(interrupted)
    assert summary["succeeded"] + summary["interrupted"] == N
    starts = list_events(engine, AuditFilter(action_prefix="replay.job.start"))[0]
    assert [e["details"]["resumed"] for e in starts] == [True, False]
    assert starts[0]["details"]["interrupted"] == len(interrupted)
    engine.dispose()
