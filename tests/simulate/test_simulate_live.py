"""Live mode: ticks append deterministic traffic; the live incident is recorded up front."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from intel.simulate import SimulationConfig
from intel.simulate.behaviour import endpoint_behaviour, load_scenario
from intel.simulate.live import LiveRunner, run_live
from intel.store.schema import deliveries, delivery_attempts, sim_events, sim_failure_truth

START = datetime(2026, 11, 5, 14, 0, 2, tzinfo=UTC)  # a weekday afternoon
# ~20 deliveries a second, so a few seconds of ticks hold plenty of traffic
CONFIG = SimulationConfig(seed=42, days=1, deliveries=1_700_000, live_interval_s=5,
                          live_incident="outage", live_incident_after_s=180,
                          live_incident_duration_s=600)


def _count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()


def test_a_tick_appends_traffic_and_records_the_live_incident(engine):
    runner = LiveRunner(engine, CONFIG, start=START)
    events = runner.begin()
    assert [ev.kind for ev in events] == ["outage"]
    outage = events[0]
    assert outage.start_at == START.replace(microsecond=0) + timedelta(minutes=3)
    assert outage.end_at - outage.start_at == timedelta(minutes=10)
    assert outage.is_anomaly == 1 and outage.expected_type == "endpoint_spike"
    with engine.connect() as conn:
        kinds = set(conn.execute(sa.select(sim_events.c.kind)).scalars())
    assert {"outage", "profile_flaky", "profile_gone"} <= kinds

    written = runner.step(START + timedelta(seconds=30))
    assert written > 100
    assert _count(engine, deliveries) == written
    assert _count(engine, delivery_attempts) == written
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(deliveries.c.last_attempt_at))).scalar()
        first = conn.execute(sa.select(sa.func.min(deliveries.c.last_attempt_at))).scalar()
    assert START - timedelta(seconds=5) <= first and last < START + timedelta(seconds=30)
    assert runner.step(START + timedelta(seconds=31)) == 0  # no complete slot yet

    # A second runner over the same slots rewrites the same ids: nothing duplicates.
    again = LiveRunner(engine, CONFIG, start=START)
    again.watermark_us = runner.watermark_us - 6 * runner.interval_us
    assert again.step(START + timedelta(seconds=30)) > 0
    assert _count(engine, deliveries) == written


def test_the_live_outage_fails_then_recovers(engine):
    runner = LiveRunner(engine, CONFIG, start=START)
    outage = runner.begin()[0]
    inside_slot = outage.start_at + timedelta(minutes=2)
    runner.watermark_us = runner._slot_floor(int(inside_slot.timestamp() * 1_000_000))
    runner.step(inside_slot + timedelta(seconds=60))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries.c.status, sim_failure_truth.c.scenario_event)
                            .select_from(deliveries.outerjoin(
                                sim_failure_truth,
                                sim_failure_truth.c.delivery_id == deliveries.c.id))
                            .where(deliveries.c.endpoint == outage.target)).all()
    assert rows and all(s == "failed" and e == outage.id for s, e in rows)
    scenario = load_scenario(engine)
    assert endpoint_behaviour(scenario, outage.target, inside_slot).reason.startswith(outage.id)
    assert endpoint_behaviour(scenario, outage.target, outage.end_at).http_status == 200


def test_run_live_stops_cleanly_and_is_deterministic_per_tick(engine):
    clock_times = iter(START + timedelta(seconds=s) for s in range(0, 10_000, 7))
    stop = threading.Event()
    ticks = []

    def on_tick(written, summary):
        ticks.append(written)
        if len(ticks) == 3:
            stop.set()

    config = SimulationConfig(seed=42, days=1, deliveries=1_700_000, live_interval_s=5,
                              live_incident=None)
    summary = run_live(engine, config, stop, clock=lambda: next(clock_times), on_tick=on_tick)
    assert summary.ticks == 3 and summary.deliveries == sum(ticks) > 0
    assert summary.events == []
    runner = LiveRunner(engine, config, start=START)
    slot = runner._slot_floor(int(START.timestamp() * 1_000_000))
    a, b = runner.slot_batch(slot), runner.slot_batch(slot)
    assert a.records() == b.records() and len(a) > 0
    assert a.ids[0].startswith(f"sim42-L{slot // 1000}-")
