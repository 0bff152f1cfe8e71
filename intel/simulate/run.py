"""History runs: plan a simulated period, generate it in batches, write it."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from intel.simulate import store
from intel.simulate.batch import Batch, WorldArrays, materialise, to_us
from intel.simulate.config import SimulationConfig, SimulationSummary
from intel.simulate.scenario import (
    Overlay,
    SimEvent,
    history_event_prefix,
    overlays,
    plan_history,
    profile_events,
)
from intel.simulate.traffic import history_skeleton
from intel.simulate.world import World, build_world

log = logging.getLogger(__name__)

BATCH_SIZE = 50_000  # part of the determinism contract: per-batch random streams


def delivery_prefix(seed: int) -> str:
    return f"sim{seed}-"


@dataclass
class Plan:
    config: SimulationConfig
    world: World
    start: datetime
    end: datetime
    events: list[SimEvent]  # injected incidents and confounders
    profiles: list[SimEvent]  # chronic endpoint profiles
    overlays: list[Overlay]
    arrays: WorldArrays
    t_us: np.ndarray
    ep: np.ndarray

    @property
    def all_events(self) -> list[SimEvent]:
        return self.profiles + self.events

    def batch_count(self) -> int:
        return (len(self.t_us) + BATCH_SIZE - 1) // BATCH_SIZE


def profile_event_ids(world: World, profiles: list[SimEvent]) -> dict[int, str]:
    by_url = {ep.url: ep.index for ep in world.endpoints}
    return {by_url[ev.target]: ev.id for ev in profiles if ev.target in by_url}


def make_plan(config: SimulationConfig, now: datetime | None = None) -> Plan:
    end = config.end or now
    if end is None:
        raise ValueError("end: give SimulationConfig(end=...) or now=")
    end = end.replace(microsecond=0)
    start = end - timedelta(days=config.days)
    world = build_world(config.seed, config.endpoint_base)
    events = plan_history(world, start, end, config.scenario)
    profiles = profile_events(world, start, end)
    ovs = overlays(world, events)
    arrays = WorldArrays(world, profile_event_ids(world, profiles))
    t_us, ep = history_skeleton(world, events, to_us(start), to_us(end), config.deliveries,
                                config.seed)
    return Plan(config, world, start, end, events, profiles, ovs, arrays, t_us, ep)


def iter_batches(plan: Plan) -> Iterator[Batch]:
    """The planned deliveries as ``Batch`` objects of up to ``BATCH_SIZE``, in time order."""
    prefix = delivery_prefix(plan.config.seed)
    seed = plan.config.seed
    for c in range(plan.batch_count()):
        lo, hi = c * BATCH_SIZE, min(len(plan.t_us), (c + 1) * BATCH_SIZE)
        ids = [f"{prefix}{i:08d}" for i in range(lo, hi)]
        rng = np.random.default_rng([seed, 1, c])
        prnd = random.Random(f"{seed}:history:{c}")
        yield materialise(plan.arrays, plan.overlays, plan.t_us[lo:hi], plan.ep[lo:hi], ids,
                          rng, prnd)


def generate(config: SimulationConfig, now: datetime | None = None) -> Iterator[list[dict]]:
    """The simulated deliveries as batches of CONTRACTS §1 records (no database)."""
    for batch in iter_batches(make_plan(config, now)):
        yield batch.records()


def simulate(engine: Engine, config: SimulationConfig, *, now: datetime | None = None,
             progress: Callable[[int, int], None] | None = None) -> SimulationSummary:
    """Write the simulated history (deliveries, attempts, ground truth, events, endpoints).

    ``now`` stamps ``updated_at`` and is the end of the history when ``config.end`` is
    None. Idempotent: ids are deterministic (``sim<seed>-<n>``), so running the same
    config again rewrites the same rows; a run of the same seed with other parameters
    replaces that seed's history (its events, truth and any deliveries past the new count).
    ``progress(done, total)`` is called after every batch.
    """
    started = time.perf_counter()
    plan = make_plan(config, now)
    now = now or plan.end
    summary = SimulationSummary(seed=config.seed, scenario=config.scenario, start=plan.start,
                                end=plan.end, endpoints=len(plan.world.endpoints),
                                tenants=len(plan.world.tenants))
    total = len(plan.t_us)
    with engine.connect() as conn:
        fast = _fast_sqlite(conn)
        try:
            with conn.begin():
                store.write_endpoints(conn, plan.world, now=now)
                store.write_events(conn, plan.profiles, replace_prefix=None)
                summary.events = store.write_events(
                    conn, plan.events, replace_prefix=history_event_prefix(config.seed)
                ) + len(plan.profiles)
            last_id = None
            for batch in _prefetched(iter_batches(plan)):
                with conn.begin():
                    store.write_batch(conn, batch, now=now)
                last_id = batch.ids[-1]
                summary.deliveries += len(batch)
                for s in batch.status:
                    if s == "delivered":
                        summary.delivered += 1
                    elif s == "failed":
                        summary.failed += 1
                    else:
                        summary.pending += 1
                if progress:
                    progress(summary.deliveries, total)
            with conn.begin():
                summary.removed = store.delete_beyond(conn, delivery_prefix(config.seed),
                                                      last_id)
        finally:
            if fast:
                conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                conn.exec_driver_sql("PRAGMA cache_size=-2000")
                conn.exec_driver_sql("PRAGMA temp_store=DEFAULT")
                conn.commit()
    for ev in plan.all_events:
        summary.by_kind[ev.kind] = summary.by_kind.get(ev.kind, 0) + 1
        summary.anomalies += ev.is_anomaly
    summary.seconds = round(time.perf_counter() - started, 2)
    log.info("simulated %d deliveries (%d failed) and %d events in %.1fs", summary.deliveries,
             summary.failed, summary.events, summary.seconds)
    return summary


def _prefetched(batches: Iterator[Batch]) -> Iterator[Batch]:
    """Generate the next batch in a thread while the caller writes the current one.

    The database drivers release the GIL while the engine works, so on two cores
    generation and writing overlap. Order and content are unchanged.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-gen") as pool:
        pending = pool.submit(next, batches, None)
        while True:
            batch = pending.result()
            if batch is None:
                return
            pending = pool.submit(next, batches, None)
            yield batch


def _fast_sqlite(conn) -> bool:
    """Bulk-load settings for the simulator's own SQLite connection (undone afterwards)."""
    if conn.dialect.name != "sqlite":
        return False
    conn.exec_driver_sql("PRAGMA synchronous=OFF")
    conn.exec_driver_sql("PRAGMA cache_size=-131072")
    conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
    conn.commit()
    return True
