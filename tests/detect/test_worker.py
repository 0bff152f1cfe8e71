"""The sidecar worker: leadership, takeover, catch-up, outages, SIGTERM, notifications."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from intel.deliveries.write import upsert_deliveries
from intel.incidents.lifecycle import advance
from intel.settings import parse_settings
from intel.store.db import make_engine, upgrade
from intel.store.schema import heartbeats, incidents, leases
from intel.timeutil import parse_timestamp
from intel.worker import lease
from intel.worker.heartbeat import freshness
from intel.worker.notify import Notifier
from intel.worker.runner import Worker
from tests.conftest import REPO
from tests.detect.test_lifecycle import sig
from tests.detect.traffic import DOWN, OUTAGE, records


def settings(**worker):
    worker = {"interval_s": 30, "lease_ttl_s": 20, "tick_lag_s": 0, **worker}
    return parse_settings({"worker": worker})


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _load_traffic(engine) -> None:
    batch = [dict(r, created_at=parse_timestamp(r["created_at"]),
                  last_attempt_at=parse_timestamp(r["last_attempt_at"])) for r in records()]
    with engine.begin() as conn:
        for i in range(0, len(batch), 5000):
            upsert_deliveries(conn, batch[i:i + 5000], now=OUTAGE[0], record_attempts=False)


def _holder(engine) -> str | None:
    with engine.connect() as conn:
        state = lease.current(conn)
    return state.holder if state else None


def test_two_workers_one_leader_and_takeover_within_a_tick(engine):
    clock = Clock(datetime(2026, 11, 5, 12, 0, 5, tzinfo=UTC))
    a = Worker(engine, settings(), holder="a", clock=clock)
    b = Worker(engine, settings(), holder="b", clock=clock)
    a.step()
    b.step()
    assert (a.is_leader, b.is_leader) == (True, False)
    assert a.ticks == 1 and b.ticks == 0
    for _ in range(5):  # the leader renews several times per lease; the standby waits
        clock.advance(7)
        a.step()
        b.step()
    assert (a.is_leader, b.is_leader) == (True, False) and _holder(engine) == "a"
    last = a.last_tick
    # "a" dies (no more steps): "b" polls every lease_ttl/3 and takes over once it lapses
    waited = 0
    while not b.is_leader:
        clock.advance(20 / 3)
        waited += 20 / 3
        b.step()
    assert waited <= 30  # within a tick
    assert b.last_tick > last and b.ticks >= 1  # it continued from a's last tick
    # a zombie "a" cannot act any more
    a.step()
    assert not a.is_leader
    with pytest.raises(lease.LeaseLost):
        a.run_tick(clock())
    # a clean stop hands over at once
    b.shutdown()
    a.step()
    assert a.is_leader


def test_catch_up_after_a_pause_opens_each_incident_once(sqlite_engine, receiver):
    _load_traffic(sqlite_engine)
    config = parse_settings({"worker": {"interval_s": 30, "lease_ttl_s": 20, "tick_lag_s": 0},
                             "notifications": {"webhook_url": receiver.url,
                                               "app_url": "http://ops.example:8501"}})
    clock = Clock(OUTAGE[0] - timedelta(minutes=5))
    worker = Worker(sqlite_engine, config, holder="w", clock=clock)
    worker.step()
    assert worker.ticks == 1
    clock.advance(25 * 60)  # paused for 25 minutes: 50 ticks to catch up
    worker.step()
    assert worker.ticks == 51
    clock.advance(30)
    worker.step()
    with sqlite_engine.connect() as conn:
        rows = conn.execute(sa.select(incidents)).mappings().all()
    assert [(r["type"], r["target"]) for r in rows] == [("endpoint_spike", DOWN)]
    (row,) = rows
    # detected as if it had ticked live, not when it woke up
    assert OUTAGE[0] < row["detected_at"] <= OUTAGE[0] + timedelta(minutes=3)
    triage = row["details"]["triage"]
    assert triage["failures"] > 0 and triage["top"]["category"] == "transient-endpoint-down"
    worker.notifier.close()
    assert any(b["text"].startswith("🚨 Incident opened") for b in receiver.bodies)
    text = receiver.bodies[0]["blocks"][0]["text"]["text"]
    assert "View affected deliveries" in text and "http://ops.example:8501/?" in text
    with sqlite_engine.connect() as conn:
        fresh = freshness(conn, clock(), 120)
    assert not fresh.stale and fresh.text == "detector last ran 0 s ago"


def test_notifier_retries_and_formats(receiver):
    receiver.status = 500
    notifier = Notifier(receiver.url, timeout_s=2, retries=1)
    step = advance({}, [sig()], datetime(2026, 11, 5, tzinfo=UTC), 300)
    resolved = advance(step.active, [], datetime(2026, 11, 5, 0, 10, tzinfo=UTC), 0)
    assert notifier.notify(step.transitions + resolved.transitions) == 2
    notifier.close()
    assert len(receiver.bodies) == 4 and notifier.failed == 2  # each tried twice
    receiver.status = 200
    receiver.bodies.clear()
    notifier = Notifier(receiver.url, timeout_s=2, retries=0)
    notifier.notify(resolved.transitions)
    notifier.close()
    assert receiver.bodies[0]["text"].startswith("✅ Incident resolved [warning]")


def _worker_cmd(url: str, config: str, name: str) -> subprocess.Popen:
    env = dict(os.environ, INTEL_CONFIG=config, DATABASE_URL=url, PYTHONUNBUFFERED="1")
    env.pop("REDIS_URL", None)
    return subprocess.Popen([sys.executable, "-m", "intel", "worker", "--id", name],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


@pytest.mark.slow
def test_killing_the_leader_process_and_sigterm(sqlite_url, tmp_path):
    config = tmp_path / "config.yaml"
    # the lease is shorter than a tick (checked at start-up): takeover within a tick
    config.write_text("worker:\n  interval_s: 3\n  lease_ttl_s: 2\n  tick_lag_s: 0\n")
    engine = make_engine(sqlite_url)
    procs = {name: _worker_cmd(sqlite_url, str(config), name) for name in ("p1", "p2")}
    try:
        first = _wait(lambda: _holder(engine), 20)
        assert first in procs
        other = "p2" if first == "p1" else "p1"
        time.sleep(1.5)
        assert _holder(engine) == first  # exactly one leader, keeping the lease
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(10)
        killed_at = time.monotonic()
        assert _wait(lambda: _holder(engine) == other, 10)
        assert time.monotonic() - killed_at <= 2 + 1  # lease ttl + one poll: within a tick

        def beating() -> str | None:
            with engine.connect() as conn:
                return conn.execute(sa.select(heartbeats.c.holder)).scalar()

        assert _wait(lambda: beating() == other, 5)  # and it ticks
        procs[other].send_signal(signal.SIGTERM)
        assert procs[other].wait(10) == 0
        with engine.connect() as conn:
            expires = conn.execute(sa.select(leases.c.expires_at)).scalar()
        assert expires <= datetime.now(UTC)  # released on the way out
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(5)
        engine.dispose()


def _run_in_thread(worker: Worker):
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


@pytest.mark.slow
def test_worker_survives_a_postgres_restart(throwaway_pg):
    engine = make_engine(throwaway_pg.url)
    upgrade(engine)
    worker = Worker(engine, settings(interval_s=2, lease_ttl_s=1.5, backoff_max_s=1),
                    holder="w")
    stop, thread = _run_in_thread(worker)
    try:
        assert _wait(lambda: worker.ticks >= 2, 15)
        throwaway_pg.stop()
        stopped = worker.ticks
        time.sleep(2.5)
        assert worker.ticks == stopped and thread.is_alive()  # backing off, not dead
        throwaway_pg.start()
        assert _wait(lambda: worker.ticks >= stopped + 2, 20), "did not resume"
        with engine.connect() as conn:
            holder = conn.execute(sa.select(heartbeats.c.holder)).scalar()
        assert holder == "w"
    finally:
        stop.set()
        thread.join(15)
        engine.dispose()
    assert not thread.is_alive()


@pytest.mark.slow
def test_worker_survives_a_redis_stop(sqlite_engine, throwaway_redis):
    import redis

    from intel.worker.events import HEARTBEAT_KEY

    client = redis.Redis.from_url(throwaway_redis.url, socket_connect_timeout=1)
    worker = Worker(sqlite_engine, settings(interval_s=2, lease_ttl_s=1.5, backoff_max_s=1),
                    holder="w", redis_url=throwaway_redis.url)
    stop, thread = _run_in_thread(worker)
    try:
        assert _wait(lambda: client.exists(HEARTBEAT_KEY), 15)
        throwaway_redis.stop()
        before = worker.ticks
        assert _wait(lambda: worker.ticks >= before + 2, 10)  # detection goes on
        assert worker.events.down
        throwaway_redis.start()
        client = redis.Redis.from_url(throwaway_redis.url, socket_connect_timeout=1)
        assert _wait(lambda: client.exists(HEARTBEAT_KEY), 15)  # publishing resumed
        assert not worker.events.down
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()


def test_worker_and_backtest_decide_alike(sqlite_engine):
    """The same detector code: ticking live and backtesting the same hours agree exactly."""
    from intel.backtest import backtest_store
    from intel.incidents.queries import incident_body

    _load_traffic(sqlite_engine)
    start, end = OUTAGE[0] - timedelta(minutes=10), OUTAGE[1] + timedelta(minutes=19)
    clock = Clock(start)
    worker = Worker(sqlite_engine, settings(), holder="w", clock=clock)
    worker.step()
    clock.now = end
    worker.step()  # catches up tick by tick (59 min: within catchup_max_s)
    with sqlite_engine.connect() as conn:
        rows = conn.execute(sa.select(incidents)).mappings().all()
        backtest = backtest_store(conn, start, end, 30, settings().detector)
    from intel.incidents.lifecycle import Incident

    live = [incident_body(Incident.from_row(r), end) for r in rows]
    replay = [incident_body(i, end) for i in backtest.incidents]
    keys = ("id", "type", "target", "severity", "detected_at", "resolved_at", "status",
            "peak_failures")
    assert [{k: i[k] for k in keys} for i in live] == [{k: i[k] for k in keys} for i in replay]
    assert len(live) == 1 and live[0]["status"] == "resolved"
