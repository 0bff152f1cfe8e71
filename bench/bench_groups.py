"""Benchmark of the failure-groups (Triage) view at 1M deliveries, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_groups.py [--rows 1000000] [--failure-rate 0.08]
                                           [--sqlite-only | --pg-only]
    .venv/bin/python bench/bench_groups.py --store /tmp/g/demo.db   # an existing store
    .venv/bin/python bench/bench_groups.py --quick   # scripts/bench's size

Builds a store of N deliveries over 7 days (about 8 % failed, failures rendered by the
simulator's real-world texts: Go/Node/Python/Java/curl transport errors with varying
IPs, ports and durations, nginx/Cloudflare/ALB pages with varying ray ids, 401/403/404/
410/422, signatures, 429 with rate-limit headers ...) on ~300 endpoints of 60 tenants,
then times ``intel.groups.failure_groups`` (the page's whole computation: SQL aggregate,
example headers, Python fold) for the last 24 h and the whole 7 days, each with a cold
triage cache, and for one tenant over 7 days.

Targets (this benchmark's claim, the page's budget): 24 h window under 1 s and 7 d
window under 3 s, on both databases (best of 3 runs, each with a cold triage cache;
the median and this process's CPU time are printed too). PostgreSQL uses a throwaway database on
127.0.0.1:5432 that it creates and drops.

Fold figures, per window: the problems (groups), the share of the failures in the 20
biggest, and "clashes" (an endpoint and action shared by two of those 20: an operator
would fix them with one action), beside the previous fold (endpoint x category x
normalised signature, computed from the same rows). Issue 11's target, on the demo's
24 h (``--store`` on a seeded demo: ``python -m intel demo seed``): >= 90 % of the
failures in the 20 biggest problems and no clash. The synthetic store gives every
endpoint four random failure causes, so its fold figures are a stress case, not that
target.

Each time is quoted beside the SQL aggregate alone (``intel.groups.query.failure_rows``, the
same window, timed once after the runs): the floor the fold and triage add to.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _report
import sqlalchemy as sa

from intel.groups import failure_groups, fold_figures
from intel.groups.fold import TOP, variants_of
from intel.groups.query import failure_rows
from intel.simulate.texts import CAUSES, CLIENTS, PROXIES, render, target_from_url
from intel.store.db import make_engine, upgrade
from intel.triage.engine import clear_caches

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
SPAN = timedelta(days=7)
TARGETS_S = {"24h": 1.0, "7d": 3.0}
FOLD_TARGET = 0.90  # share of the failures in the TOP biggest problems (issue 11)
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
COLUMNS = ("id", "tenant", "endpoint", "event_type", "status", "http_status", "error",
           "response_headers", "response_body", "attempts", "created_at", "last_attempt_at",
           "duration_ms", "updated_at")


def generate(rows: int, failure_rate: float, seed: int = 7):
    """Yield delivery tuples (COLUMNS order; headers as JSON text, times as datetimes)."""
    import json

    rnd = random.Random(seed)
    tenants = [f"tenant-{i:02d}" for i in range(60)]
    endpoints = []
    for i in range(300):
        tenant = tenants[min(int(rnd.paretovariate(1.2)) - 1, 59)]
        url = f"https://hooks{i}.{tenant}.example.com/webhooks/{rnd.randrange(1000)}"
        target = target_from_url(url, client=rnd.choice(CLIENTS), proxy=rnd.choice(PROXIES),
                                 tenant=tenant)
        # each endpoint has its own few failure causes (its "failure mix")
        causes = rnd.sample(sorted(CAUSES), 4)
        endpoints.append((tenant, url, target, causes))
    weights = [1 / (k + 1) for k in range(len(endpoints))]  # Zipf-like volumes
    span_s = SPAN.total_seconds()
    start = NOW - SPAN
    picks = rnd.choices(range(len(endpoints)), weights=weights, k=rows)
    for n, k in enumerate(picks):
        tenant, url, target, causes = endpoints[k]
        at = start + timedelta(seconds=rnd.random() * span_s)
        did = f"del_{n:08d}"
        if rnd.random() < failure_rate:
            out = render(rnd.choice(causes), rnd, target, at.timestamp())
            headers = json.dumps(out.headers) if out.headers else None
            yield (did, tenant, url, "invoice.paid", "failed", out.http_status, out.error,
                   headers, out.body, 1, at, at, out.duration_ms, NOW)
        else:
            yield (did, tenant, url, "invoice.paid", "delivered", 200, None, None, '{"ok":true}',
                   1, at, at, 42.0, NOW)


def _sqlite_time(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def load_sqlite(path: str, rows: int, rate: float) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    sql = f"INSERT INTO deliveries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    batch = []
    for row in generate(rows, rate):
        row = list(row)
        for i in (10, 11, 13):
            row[i] = _sqlite_time(row[i])
        batch.append(row)
        if len(batch) >= 20000:
            con.executemany(sql, batch)
            batch.clear()
    if batch:
        con.executemany(sql, batch)
    con.commit()
    con.execute("ANALYZE")
    con.close()


def load_pg(url: str, rows: int, rate: float) -> None:
    import psycopg

    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(dsn) as con, con.cursor() as cur:
        with cur.copy(f"COPY deliveries ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in generate(rows, rate):
                copy.write_row(row)
        con.commit()
        cur.execute("ANALYZE deliveries")


def previous_fold(rows) -> tuple[int, float]:
    """The fold before issue 11 (endpoint x category x normalised signature): its groups
    and the share of the failures in its 20 biggest, from the same raw rows."""
    sizes: dict[tuple[str, str, str], int] = {}
    for v in variants_of(rows):
        key = (v.endpoint, v.category, v.signature)
        sizes[key] = sizes.get(key, 0) + v.count
    total = sum(sizes.values())
    top = sum(sorted(sizes.values(), reverse=True)[:TOP])
    return len(sizes), (top / total if total else 1.0)


def measure(engine, label: str, repeats: int = 3, now: datetime = NOW,
            timed: bool = True) -> dict[str, float]:
    """Best of ``repeats`` wall times per window (each run with a cold triage cache: the
    signatures and categories are computed afresh), with the median and the CPU time
    of this process (all of it on SQLite, the Python side on PostgreSQL), and the fold
    figures beside the previous fold's."""
    results = {}
    windows = [("24h", now - timedelta(hours=24), None), ("7d", now - SPAN, None)]
    with engine.connect() as conn:
        busiest = conn.execute(
            sa.text("SELECT tenant FROM deliveries WHERE status = 'failed' GROUP BY tenant "
                    "ORDER BY count(*) DESC LIMIT 1")
        ).scalar()
        size = conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar()
    windows.append(("7d one tenant", now - SPAN, busiest))
    until = now + timedelta(seconds=1)
    for name, since, tenant in windows:
        walls, cpus = [], []
        for _ in range(repeats):
            clear_caches()
            with engine.connect() as conn:
                t0, c0 = time.perf_counter(), time.process_time()
                result = failure_groups(conn, since=since, until=until, tenant=tenant)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
        best = min(walls)
        results[name] = best
        target = TARGETS_S.get(name) if timed else None
        verdict = "" if target is None else (" PASS" if best < target else " FAIL")
        print(f"  {label} {name:<14} best {best * 1000:6.0f} ms  median "
              f"{statistics.median(walls) * 1000:6.0f} ms  cpu {min(cpus) * 1000:6.0f} ms  "
              f"failures {result.total_failures:>7,}  distinct rows {result.distinct_rows:>6,}"
              + (f"  (target < {target:.0f} s){verdict}" if target else ""))
        figures = fold_figures(result.groups)
        with engine.connect() as conn:
            t0 = time.perf_counter()
            raw = failure_rows(conn, since=since, until=until, tenant=tenant)
            sql_s = time.perf_counter() - t0
            before = previous_fold(raw)
        print(f"  {'':{len(label)}} {'':<14} fold: {figures.groups:>5,} problems, "
              f"{figures.top_share:6.1%} in the {TOP} biggest, {len(figures.clashes)} clash(es)"
              f" (sporadic under {result.floor:,})   previous fold: {before[0]:>6,} groups, "
              f"{before[1]:6.1%} in the {TOP} biggest")
        if target:
            _report.figure(f"{label}: failure groups, {name} window, best of {repeats} "
                           f"({size:,} deliveries)", best * 1000, f"< {target * 1000:g}",
                           "ms", reference=f"SQL aggregate alone {sql_s * 1000:.0f} ms; median "
                                           f"{statistics.median(walls) * 1000:.0f} ms")
        if not timed and name == "24h":
            # issue 11's target is for the demo's last 24 h, which is what --store measures
            _report.figure(f"{label}: share of 24 h failures in the {TOP} biggest problems",
                           figures.top_share * 100, f">= {FOLD_TARGET * 100:g}", "%",
                           reference=f"previous fold {before[1]:.1%}")
            _report.figure(f"{label}: clashes among the {TOP} biggest problems (24 h)",
                           len(figures.clashes), "== 0", "",
                           reference=f"{figures.groups:,} problems in all")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--failure-rate", type=float, default=0.08)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--sqlite-only", action="store_true")
    only.add_argument("--pg-only", action="store_true")
    parser.add_argument("--sqlite-file", metavar="PATH",
                        help="keep the SQLite store in PATH and reuse it when it exists")
    parser.add_argument("--store", metavar="PATH",
                        help="measure an existing SQLite store (e.g. a seeded demo) instead; "
                             "the windows end at its last delivery")
    args = _report.parse_args(parser, {"rows": 250_000})
    ok = True
    if args.store:
        engine = make_engine(f"sqlite:///{args.store}")
        with engine.connect() as conn:
            last = conn.execute(sa.text("SELECT max(last_attempt_at) FROM deliveries")).scalar()
        end = datetime.fromisoformat(str(last)).replace(tzinfo=UTC)
        print(f"failure groups of the store {args.store}, windows ending {end.isoformat()}")
        measure(engine, "store", now=end, timed=False)
        engine.dispose()
        return 0
    print(f"failure groups over {args.rows:,} deliveries, {args.failure_rate:.0%} failed, 7 days")

    if not args.pg_only:
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite_file or f"{tmp}/bench.db"
            if not Path(path).exists():
                engine = make_engine(f"sqlite:///{path}")
                upgrade(engine)
                engine.dispose()
                t0 = time.perf_counter()
                load_sqlite(path, args.rows, args.failure_rate)
                print(f"SQLite: loaded in {time.perf_counter() - t0:.1f} s")
            else:
                print(f"SQLite: reusing {path}")
            engine = make_engine(f"sqlite:///{path}")
            res = measure(engine, "SQLite")
            engine.dispose()
            ok &= all(res[k] < v for k, v in TARGETS_S.items())

    if not args.sqlite_only:
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"bench_groups_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            print(f"PostgreSQL at {PG_ADMIN} not reachable ({exc}): skipped")
            return 0 if ok else 1
        url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(
            hide_password=False)
        try:
            engine = make_engine(url)
            upgrade(engine)
            t0 = time.perf_counter()
            load_pg(url, args.rows, args.failure_rate)
            print(f"PostgreSQL: loaded in {time.perf_counter() - t0:.1f} s")
            res = measure(engine, "PostgreSQL")
            engine.dispose()
            ok &= all(res[k] < v for k, v in TARGETS_S.items())
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
