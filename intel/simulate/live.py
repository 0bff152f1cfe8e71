"""Live mode: keep appending simulated traffic in real time.

Time is cut into slots of ``config.live_interval_s`` aligned on the Unix epoch; each
slot's deliveries are a pure function of (seed, slot start), so re-running a slot
rewrites the same ids (``sim<seed>-L<slot start ms>-<n>``). Volumes and seasonality are
those of a history run of the same config (``deliveries`` per ``days``).

At start the runner records its scenario in ``sim_events`` up front: the chronic
profiles of the seed (if a history run did not already) and, unless
``live_incident`` is ``"none"``/None, one incident starting ``live_incident_after_s``
after live start and lasting ``live_incident_duration_s`` (by default an outage of the
busiest endpoint three minutes in, for ten minutes), so the detector can catch it and
the sandbox recovers it when the window ends.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, func, select

from intel.deliveries.write import upsert_deliveries
from intel.simulate import store
from intel.simulate.batch import US, Batch, WorldArrays, materialise, to_datetime, to_us
from intel.simulate.config import SimulationConfig
from intel.simulate.run import profile_event_ids
from intel.simulate.scenario import SimEvent, TargetPicker, make_event, overlays, profile_events
from intel.simulate.traffic import live_skeleton
from intel.simulate.world import build_world
from intel.store.schema import deliveries
from intel.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_CATCH_UP_S = 3600.0  # never write more than an hour of backlog in one go


@dataclass
class LiveSummary:
    ticks: int = 0
    deliveries: int = 0
    failed: int = 0
    events: list[str] | None = None


class LiveRunner:
    """The live loop's state; ``step(now)`` is the unit tests drive with a fixed clock."""

    def __init__(self, engine: Engine, config: SimulationConfig, *, start: datetime,
                 backfill_max_s: float = MAX_CATCH_UP_S):
        self.engine = engine
        self.config = config
        self.start = start
        self.world = build_world(config.seed, config.endpoint_base)
        self.interval_us = round(config.live_interval_s * US)
        self.per_second = config.deliveries / (config.days * 86400)
        self.backfill_max_us = int(backfill_max_s * US)
        self.events: list[SimEvent] = []
        self.profiles = profile_events(self.world, start, start)
        self.arrays = WorldArrays(self.world, profile_event_ids(self.world, self.profiles))
        self.overlays = []
        self.watermark_us: int | None = None
        self.cache: dict = {}
        self.summary = LiveSummary(events=[])

    def _slot_floor(self, us: int) -> int:
        return us - us % self.interval_us

    def begin(self) -> list[SimEvent]:
        """Write endpoints, profiles and the live incident; choose where traffic resumes."""
        cfg = self.config
        self.events = []
        if cfg.live_incident and cfg.live_incident != "none":
            s = (self.start + timedelta(seconds=cfg.live_incident_after_s)).replace(
                microsecond=0)
            e = s + timedelta(seconds=cfg.live_incident_duration_s)
            rng = np.random.default_rng([cfg.seed, 9, int(self.start.timestamp())])
            # The busiest target, so the incident shows within the detector's window.
            picker = TargetPicker(self.world, rng, busiest=True)
            eid = f"sim{cfg.seed}-live{int(self.start.timestamp())}-{cfg.live_incident}"
            self.events.append(make_event(self.world, rng, cfg.live_incident, eid, s, e, picker))
        self.overlays = overlays(self.world, self.events)
        start_us = self._slot_floor(to_us(self.start))
        with self.engine.begin() as conn:
            store.write_endpoints(conn, self.world, now=self.start)
            store.insert_missing_events(conn, self.profiles)
            store.write_events(conn, self.events)
            latest = conn.execute(select(func.max(deliveries.c.last_attempt_at))).scalar()
        if latest is not None and latest <= self.start:
            latest_us = to_us(latest)
            if to_us(self.start) - latest_us <= self.backfill_max_us:
                start_us = self._slot_floor(latest_us) + self.interval_us
        self.watermark_us = start_us
        self.summary.events = [ev.id for ev in self.events]
        for ev in self.events:
            log.info("live scenario: %s %s on %s from %s to %s", ev.id, ev.kind, ev.target,
                     ev.start_at.isoformat(), ev.end_at.isoformat())
        return self.events

    def slot_batch(self, slot_start_us: int) -> Batch:
        """The deliveries of one slot (pure: same seed and slot, same batch)."""
        seed = self.config.seed
        slot_end_us = slot_start_us + self.interval_us
        t_us, ep = live_skeleton(self.world, seed, slot_start_us, slot_end_us, self.per_second,
                                 self.cache)
        ms = slot_start_us // 1000
        ids = [f"sim{seed}-L{ms}-{j:05d}" for j in range(len(t_us))]
        rng = np.random.default_rng([seed, 8, slot_start_us])
        prnd = random.Random(f"{seed}:live:{slot_start_us}")
        return materialise(self.arrays, self.overlays, t_us, ep, ids, rng, prnd)

    def step(self, now: datetime) -> int:
        """Write every complete slot up to ``now``; returns the deliveries written."""
        if self.watermark_us is None:
            self.begin()
        now_us = to_us(now)
        if now_us - self.watermark_us > self.backfill_max_us:
            self.watermark_us = self._slot_floor(now_us - self.backfill_max_us)
        written = 0
        with self.engine.begin() as conn:
            while self.watermark_us + self.interval_us <= now_us:
                batch = self.slot_batch(self.watermark_us)
                if len(batch):
                    upsert_deliveries(conn, batch.records(), now=now)
                    store.clear_truth(conn, batch.ids)
                    store.write_truth(conn, batch.truth)
                written += len(batch)
                self.summary.failed += batch.failures
                self.watermark_us += self.interval_us
            store.extend_profiles(conn, self.config.seed, to_datetime(self.watermark_us))
        self.summary.ticks += 1
        self.summary.deliveries += written
        return written

    def next_due(self) -> datetime:
        """When the next slot is complete."""
        return to_datetime(self.watermark_us + self.interval_us)


def run_live(engine: Engine, config: SimulationConfig, stop_event: threading.Event,
             clock: Callable[[], datetime] = utcnow, *,
             on_tick: Callable[[int, LiveSummary], None] | None = None) -> LiveSummary:
    """Append traffic every ``config.live_interval_s`` until ``stop_event`` is set."""
    runner = LiveRunner(engine, config, start=clock())
    runner.begin()
    while not stop_event.is_set():
        written = runner.step(clock())
        if on_tick:
            on_tick(written, runner.summary)
        wait = (runner.next_due() - clock()).total_seconds()
        stop_event.wait(max(0.05, min(wait, config.live_interval_s)))
    return runner.summary
