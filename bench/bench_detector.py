"""One worker tick with 1M deliveries in the store, on SQLite and PostgreSQL (< 250 ms).

    .venv/bin/python bench/bench_detector.py [--deliveries 1000000] [--ticks 40]
                                             [--backends sqlite postgresql] [--quick]

Simulates 7 days of traffic (seed 42) into a temporary SQLite file and a temporary
PostgreSQL database on 127.0.0.1:5432 (created and dropped here), then runs the worker's
ticks (``intel.worker.runner.Worker.run_tick``: lease fence, count refresh, rules,
lifecycle, triage breakdown, persistence, heartbeat) every 30 s of simulated time across
a stretch with incidents in it. The first tick loads the whole 25-h look-back (reported
separately); every later tick re-reads the recent 20 min plus a 1-h verification slice.
Also prints the query plan of the refresh query (a range scan of the last_attempt_at
index). PASS/FAIL against the issue's target for the steady ticks.
"""

from __future__ import annotations

import argparse
import os
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

from intel.detect.source import bucket_query
from intel.settings import Settings
from intel.simulate import SimulationConfig, simulate
from intel.store.db import make_engine, upgrade
from intel.worker.runner import Worker

END = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
TARGET_MS = 250.0
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def plan(engine, at: datetime) -> str:
    q = bucket_query(at - timedelta(minutes=20), at, 30)
    sql = str(q.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + sql).all()
    return "\n".join("    " + " | ".join(str(c) for c in r) for r in rows)


def bench(engine, label: str, deliveries: int, ticks: int) -> bool:
    upgrade(engine)
    began = time.perf_counter()
    simulate(engine, SimulationConfig(seed=42, end=END, days=7, deliveries=deliveries),
             now=END)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar()
    print(f"\n{label}: {n:,} deliveries written in {time.perf_counter() - began:.0f} s")
    # a stretch of the week with an incident in it (seed 42: a tenant misconfiguration)
    start = datetime(2026, 11, 5, 8, 38, tzinfo=UTC)
    now = [start]
    worker = Worker(engine, Settings(), holder="bench", clock=lambda: now[0])
    worker.step()  # takes the lease, first (cold) tick
    cold = worker.last_result
    cold_ms = sum(v for k, v in cold.timings_ms.items() if k in
                  ("refresh", "evaluate", "triage", "persist"))
    times, parts, opened = [], [], 0
    for _ in range(ticks):
        now[0] += timedelta(seconds=30)
        t0 = time.perf_counter()
        worker.step()
        times.append((time.perf_counter() - t0) * 1000)
        parts.append(worker.last_result.timings_ms)
        opened += sum(t.kind == "open" for t in worker.last_result.transitions)
    worker.shutdown()
    med, p95, worst = statistics.median(times), sorted(times)[int(0.95 * len(times))], max(times)
    mean = {k: statistics.mean(p[k] for p in parts) for k in
            ("refresh", "evaluate", "triage", "persist")}
    print(f"  cold first tick (loads the 25-h look-back, {cold.timings_ms.get('loaded_rows', 0):,}"
          f" bucket rows): {cold_ms:.0f} ms")
    print(f"  {ticks} steady ticks (lease + refresh + rules + lifecycle + triage + persist + "
          f"heartbeat): median {med:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms; "
          f"{worker.last_result.active} active incident(s), {opened} opened")
    print("  mean per part: " + ", ".join(f"{k} {v:.1f} ms" for k, v in mean.items()))
    print("  refresh query plan:\n" + plan(engine, now[0]))
    passed = worst < TARGET_MS
    print(f"{'PASS' if passed else 'FAIL'}  {label}: one tick at {n:,} deliveries < "
          f"{TARGET_MS:.0f} ms (max {worst:.0f} ms)")
    _report.figure(f"{label}: worst of {ticks} steady worker ticks, {n:,} deliveries", worst,
                   f"< {TARGET_MS:g}", "ms",
                   reference=f"median {med:.0f} ms; cold first tick {cold_ms:.0f} ms")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=40)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = _report.parse_args(parser, {"ticks": 20})
    ok = True
    if "sqlite" in args.backends:
        with tempfile.TemporaryDirectory(prefix="bench-detector-") as tmp:
            engine = make_engine(f"sqlite:///{tmp}/bench.db")
            ok &= bench(engine, "SQLite", args.deliveries, args.ticks)
            engine.dispose()
    if "postgresql" in args.backends:
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"bench_detector_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            print(f"FAIL  PostgreSQL at {PG_ADMIN} unreachable: {exc}")
            return 1
        url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(
            hide_password=False)
        engine = make_engine(url)
        try:
            ok &= bench(engine, "PostgreSQL", args.deliveries, args.ticks)
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
