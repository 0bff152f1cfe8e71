"""Benchmark: load all Insights data at 1M deliveries, cold and warm (cached).

    .venv/bin/python bench/bench_insights.py [--deliveries 1000000] [--days 30]
        [--backends sqlite,postgres] [--sqlite-path data/bench_insights.db] [--keep]
        [--quick]

Targets (issue 6): cold load of every Insights section under 1 s (seed: 2 s); warm
(cached, Redis) under 50 ms. For each backend and period (24h, 7d, 30d):

* cold: the cache emptied, then ``load_insights`` (all six bodies: system health,
  endpoints, tenants, operators, recommendations, adoption), each SQL aggregate run;
  repeated 5 times, median and worst printed, plus the per-section split;
* warm: ``load_insights`` again with the results in Redis (20 runs, median and worst).

The data: the simulator's deterministic history (``SimulationConfig(seed=1)``) spread over
``--days`` days up to NOW, plus operator activity (audit events, replays, replay jobs,
incidents, 2,000 labels) generated with a fixed seed. SQLite lives in a temporary file
(or ``--sqlite-path``, reused when it already holds the same data); PostgreSQL gets its
own database on 127.0.0.1:5432, dropped at the end. The cold figures are quoted beside a
plain ``SELECT count(*) FROM deliveries`` on the same database, the warm ones beside the
cold.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _report
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Endpoints' signing secrets are stored encrypted (intel.secretbox): a throwaway key
# for this run when none is set (child processes inherit it).
os.environ.setdefault("INTEL_SECRET_KEY", "")
if not os.environ["INTEL_SECRET_KEY"]:
    from cryptography.fernet import Fernet

    os.environ["INTEL_SECRET_KEY"] = Fernet.generate_key().decode()

from intel import audit
from intel.cache import ResultCache
from intel.insights import api
from intel.simulate import SimulationConfig, simulate
from intel.store.db import make_engine, upgrade
from intel.store.schema import (
    deliveries,
    delivery_attempts,
    incidents,
    labels,
    replay_jobs,
    sim_failure_truth,
)

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
COLD_TARGET_S, SEED_COLD_TARGET_S, WARM_TARGET_S = 1.0, 2.0, 0.050
PERIODS = ("24h", "7d", "30d")
SECTIONS = api.SECTIONS


def log(msg: str) -> None:
    print(msg, flush=True)


def populate(engine, n: int, days: float) -> None:
    with engine.connect() as conn:
        have = conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar()
    if have == n:
        log(f"  reusing {have:,} deliveries")
        return
    started = time.perf_counter()
    summary = simulate(engine, SimulationConfig(seed=1, deliveries=n, days=days, end=NOW),
                       now=NOW)
    log(f"  simulated {summary.deliveries:,} deliveries ({summary.failed:,} failed) over "
        f"{days:g} days in {time.perf_counter() - started:.0f} s")
    add_operator_activity(engine, days)


def add_operator_activity(engine, days: float) -> None:
    """Audit events, replays, jobs, incidents and labels, as a team of 12 would leave."""
    rng = random.Random(1)
    operators = [f"operator{i:02d}" for i in range(12)]
    span = int(days * 86400)
    with engine.begin() as conn:
        failed_ids = conn.execute(
            sa.select(deliveries.c.id).where(deliveries.c.status == "failed")
            .order_by(deliveries.c.id).limit(20000)
        ).scalars().all()
        truth = dict(conn.execute(
            sa.select(sim_failure_truth.c.delivery_id, sim_failure_truth.c.category)
            .where(sim_failure_truth.c.delivery_id.in_(failed_ids[:2000]))
        ).all())
        for _ in range(6000):
            at = NOW - timedelta(seconds=rng.randrange(span))
            action = rng.choice(["replay.single", "replay.job.start", "incident.ack",
                                 "label.create", "insights.view", "audit.export"])
            details = {"via": rng.choice(["banner", "page"])} if action == "incident.ack" \
                else None
            audit.record(conn, actor=rng.choice(operators), action=action, at=at,
                         details=details)
        conn.execute(delivery_attempts.insert(), [
            {"delivery_id": failed_ids[i], "attempt_no": 100 + i, "kind": "replay",
             "status": rng.choice(["delivered"] * 4 + ["failed"]),
             "finished_at": NOW - timedelta(seconds=rng.randrange(span)),
             "operator": rng.choice(operators)}
            for i in range(min(3000, len(failed_ids)))
        ])
        conn.execute(replay_jobs.insert(), [
            {"id": f"job{i}", "created_by": rng.choice(operators),
             "created_at": NOW - timedelta(seconds=rng.randrange(span)),
             "source": rng.choice(["advisor", "advisor", "manual", "cli", "single"]),
             "status": "completed", "total": 10}
            for i in range(300)
        ])
        for i in range(80):
            detected = NOW - timedelta(seconds=rng.randrange(span))
            acked = rng.random() < 0.8
            conn.execute(incidents.insert().values(
                id=f"inc{i}", dedup_key=f"burst|*|{i}", type="burst", target="*",
                severity=rng.choice(["warning", "critical"]),
                status="resolved" if i % 5 else "active", current_failures=50,
                peak_failures=80, baseline=5.0, detected_at=detected, updated_at=detected,
                acknowledged_at=detected + timedelta(seconds=rng.randrange(10, 900))
                if acked else None,
                resolved_at=detected + timedelta(seconds=rng.randrange(600, 7200))
                if i % 5 else None,
            ))
        conn.execute(labels.insert(), [
            {"delivery_id": d, "category": c, "labeler": rng.choice(operators),
             "labeled_at": NOW - timedelta(hours=1), "updated_at": NOW - timedelta(hours=1)}
            for d, c in truth.items()
        ])


def analyze(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def count_all_s(engine) -> float:
    """The plain reference: a count of the whole deliveries table, median of three."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(engine, label: str) -> dict:
    plain = count_all_s(engine)
    cache = ResultCache(REDIS, ttl_s=300, namespace=f"intel:bench:{uuid.uuid4().hex[:8]}")
    if cache.backend != "redis":
        log(f"  (Redis at {REDIS} unavailable: warm figures are the in-process cache)")
    results = {}
    for period in PERIODS:
        # one untimed warm-up of the connection pool and the triage memo
        api.load_insights(engine, now=NOW, period=period)
        cold, cpu = [], []
        for _ in range(5):
            cache.invalidate()
            c0, t0 = time.process_time(), time.perf_counter()
            api.load_insights(engine, now=NOW, period=period, cache=cache)
            cold.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        split = {}
        for name, body in SECTIONS.items():
            t0 = time.perf_counter()
            body(engine, now=NOW, period=period)
            split[name] = time.perf_counter() - t0
        warm = []
        for _ in range(20):
            t0 = time.perf_counter()
            api.load_insights(engine, now=NOW, period=period, cache=cache)
            warm.append(time.perf_counter() - t0)
        results[period] = (statistics.median(cold), max(cold), statistics.median(warm),
                           max(warm), plain, cache.backend, statistics.median(cpu))
        log(f"  {label} {period:>3}: cold median {statistics.median(cold) * 1000:7.0f} ms "
            f"(worst {max(cold) * 1000:.0f}; this process's CPU {statistics.median(cpu) * 1000:.0f}"
            f" ms) | warm median {statistics.median(warm) * 1000:5.1f} ms (worst "
            f"{max(warm) * 1000:.1f}) [{cache.backend}] load avg {os.getloadavg()[0]:.1f}")
        log("        split: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in split.items()))
    cache.invalidate()
    cache.close()
    return results


def run_sqlite(args) -> dict:
    if args.sqlite_path:
        path = Path(args.sqlite_path)
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_insights_")
        path = Path(tmp.name) / "bench.db"
    engine = make_engine(f"sqlite:///{path}")
    log(f"SQLite {path}")
    upgrade(engine)
    populate(engine, args.deliveries, args.days)
    if args.analyze:
        analyze(engine)
    try:
        return measure(engine, "sqlite  ")
    finally:
        engine.dispose()
        if tmp is not None:
            tmp.cleanup()


def run_postgres(args) -> dict:
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = args.postgres_db or f"intel_bench_insights_{uuid.uuid4().hex[:8]}"
    if not args.postgres_db:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    log(f"PostgreSQL database {name}")
    try:
        upgrade(engine)
        populate(engine, args.deliveries, args.days)
        analyze(engine)  # VACUUM ANALYZE: what autovacuum does after a bulk load
        return measure(engine, "postgres")
    finally:
        engine.dispose()
        if not args.keep and not args.postgres_db:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=7.0,
                        help="history length (the simulator default: 7 days)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--sqlite-path", help="reuse / keep the SQLite database here")
    parser.add_argument("--analyze", action="store_true",
                        help="run ANALYZE on SQLite too (PostgreSQL always is analysed)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--postgres-db", help="reuse this (kept) PostgreSQL bench database")
    args = _report.parse_args(parser, {"deliveries": 250_000})
    runners = {"sqlite": run_sqlite, "postgres": run_postgres}
    verdicts = []
    size = f"{args.deliveries:,} deliveries over {args.days:g} days"
    for backend in args.backends.split(","):
        results = runners[backend.strip()](args)
        for period, (cold, cold_worst, warm, warm_worst, plain, kind, cpu) in results.items():
            verdicts.append((backend, period, cold, cold_worst, warm, warm_worst))
            _report.figure(f"{backend}: all Insights, {period}, cold median ({size})",
                           cold * 1000, f"< {COLD_TARGET_S * 1000:g}", "ms",
                           reference=f"count(*) of deliveries {plain * 1000:.0f} ms; worst "
                                     f"{cold_worst * 1000:.0f} ms; this process's CPU "
                                     f"{cpu * 1000:.0f} ms")
            _report.figure(f"{backend}: all Insights, {period}, warm median ({kind} cache)",
                           warm * 1000, f"< {WARM_TARGET_S * 1000:g}", "ms",
                           reference=f"cold {cold * 1000:.0f} ms")
    log("")
    log(f"{args.deliveries:,} deliveries over {args.days:g} days; targets: cold < "
        f"{COLD_TARGET_S:.0f} s (seed {SEED_COLD_TARGET_S:.0f} s), warm < "
        f"{WARM_TARGET_S * 1000:.0f} ms")
    log(f"verdicts on the median; the worst run is shown too (load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    ok = True

    def verdict(value: float, target: float) -> str:
        return "PASS" if value < target else "FAIL"

    for backend, period, cold, cold_worst, warm, warm_worst in verdicts:
        ok &= cold < COLD_TARGET_S and warm < WARM_TARGET_S
        log(f"{backend:8} {period:>3}  cold {cold * 1000:6.0f} ms {verdict(cold, COLD_TARGET_S)}"
            f" (worst {cold_worst * 1000:.0f}: {verdict(cold_worst, COLD_TARGET_S)}; seed 2 s: "
            f"{verdict(cold_worst, SEED_COLD_TARGET_S)})  warm {warm * 1000:5.1f} ms "
            f"{verdict(warm, WARM_TARGET_S)} (worst {warm_worst * 1000:.1f}: "
            f"{verdict(warm_worst, WARM_TARGET_S)})")
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
