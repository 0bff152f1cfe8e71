"""Benchmark: importing 1M delivery records (time and peak memory), per format and dialect.

The records are the traffic simulator's (``intel.simulate.generate``: realistic bodies,
headers and payloads), written once to ``--workdir`` as JSON Lines, and converted to CSV
and Parquet (row groups of 50,000). Each import runs ``python -m intel import`` on a fresh
database, started by a small helper process that reports
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``: the import's own peak resident memory.
The issue asks for the figures, with no target; the streaming claim is checked: peak
memory must stay far below the file's size (FAIL above ``--max-rss-mb``, default 300).

Speed is quoted beside a plain reference measured in the same run, at the same size, on
a fresh migrated database: on SQLite a loop of ``json.loads`` and one ``executemany`` of
plain tuples per 5,000 lines, on PostgreSQL ``json.loads`` and psycopg ``COPY`` (JSON
Lines only; no validation, no attempts, no upsert: the floor an import can approach).
Records/s are on the import's own time (its summary line), without the process start and
the schema check.

    .venv/bin/python bench/bench_import.py [--records 1000000] [--formats jsonl,csv,parquet]
                                          [--pg] [--quick]

Each peak is quoted beside the file's size and the import's time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import _report  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from intel.simulate import SimulationConfig, generate  # noqa: E402
from intel.store.db import make_engine, upgrade  # noqa: E402
from intel.timeutil import to_rfc3339  # noqa: E402

END = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
FIELDS = ["id", "tenant", "endpoint", "event_type", "status", "http_status", "error",
          "response_headers", "response_body", "attempts", "created_at", "last_attempt_at",
          "duration_ms", "payload"]


def _plain(record: dict) -> dict:
    return {
        k: to_rfc3339(v) if isinstance(v, datetime) else v for k, v in record.items()
    }


def write_jsonl(path: Path, n: int) -> None:
    started = time.perf_counter()
    with open(path, "w", encoding="utf-8") as handle:
        for batch in generate(SimulationConfig(seed=1, deliveries=n, end=END)):
            handle.write("".join(json.dumps(_plain(r), ensure_ascii=False) + "\n" for r in batch))
    print(f"wrote {path} ({path.stat().st_size / 1e6:,.0f} MB) in "
          f"{time.perf_counter() - started:.1f} s")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_csv(source: Path, path: Path) -> None:
    with open(source, encoding="utf-8") as src, open(path, "w", newline="",
                                                     encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for line in src:
            record = json.loads(line)
            writer.writerow([_cell(record.get(f)) for f in FIELDS])
    print(f"wrote {path} ({path.stat().st_size / 1e6:,.0f} MB)")


def write_parquet(source: Path, path: Path, group: int = 50_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("id", pa.string()), ("tenant", pa.string()), ("endpoint", pa.string()),
        ("event_type", pa.string()), ("status", pa.string()), ("http_status", pa.int64()),
        ("error", pa.string()), ("response_headers", pa.string()),
        ("response_body", pa.string()), ("attempts", pa.int64()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("last_attempt_at", pa.timestamp("us", tz="UTC")), ("duration_ms", pa.float64()),
        ("payload", pa.string()),
    ])

    def flush(rows, writer):
        columns = {f: [r.get(f) for r in rows] for f in FIELDS}
        for name in ("response_headers", "payload"):
            columns[name] = [None if v is None else json.dumps(v) for v in columns[name]]
        for name in ("created_at", "last_attempt_at"):
            columns[name] = [
                None if v is None else datetime.fromisoformat(v.replace("Z", "+00:00"))
                for v in columns[name]
            ]
        writer.write_table(pa.table(columns, schema=schema))

    with open(source, encoding="utf-8") as src, pq.ParquetWriter(path, schema) as writer:
        rows = []
        for line in src:
            rows.append(json.loads(line))
            if len(rows) == group:
                flush(rows, writer)
                rows = []
        if rows:
            flush(rows, writer)
    print(f"wrote {path} ({path.stat().st_size / 1e6:,.0f} MB)")


# Runs the import in a fresh, small Python process that reports its child's peak RSS:
# measured from this (large) process, a forked child would count the pages it shared
# with us before exec, not the import's own memory.
_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, capture_output=True, text=True)
print(json.dumps({"seconds": time.perf_counter() - started,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "returncode": done.returncode, "stdout": done.stdout,
                  "stderr": done.stderr[-2000:]}))
"""


def run_import(path: Path, url: str) -> tuple[float, float, str]:
    """(seconds, peak RSS MB, summary line) of ``python -m intel import`` in a child."""
    helper = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "intel", "import", str(path),
         "--db", url],
        cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True,
    )
    result = json.loads(helper.stdout)
    if result["returncode"] != 0:
        raise SystemExit(f"import failed ({result['returncode']}): {result['stderr']}")
    summary = result["stdout"].strip().splitlines()[-1]
    return result["seconds"], result["maxrss_kb"] / 1024, summary


_COLUMNS = (*FIELDS, "extra", "updated_at")
_REFERENCE_BATCH = 5000


def _plain_rows(path: Path):
    """Each line as the tuple of ``deliveries`` columns, with no checking at all."""
    now = to_rfc3339(END)
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            yield (r["id"], r["tenant"], r["endpoint"], r.get("event_type"), r["status"],
                   r.get("http_status"), r.get("error"), json.dumps(r.get("response_headers")),
                   r.get("response_body"), r.get("attempts") or 1, r["created_at"],
                   r.get("last_attempt_at") or r["created_at"], r.get("duration_ms"),
                   json.dumps(r.get("payload")), "null", now)


def reference_sqlite(path: Path, url: str) -> float:
    """Seconds of the plain SQLite loop: json.loads, executemany of tuples, one commit."""
    engine = make_engine(url)
    upgrade(engine)
    sql = (f"INSERT INTO deliveries ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(_COLUMNS))})")
    started = time.perf_counter()
    with engine.begin() as conn:
        batch = []
        for row in _plain_rows(path):
            batch.append(row)
            if len(batch) == _REFERENCE_BATCH:
                conn.exec_driver_sql(sql, batch)
                batch = []
        if batch:
            conn.exec_driver_sql(sql, batch)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def reference_postgres(path: Path, url: str) -> float:
    """Seconds of plain psycopg COPY of every line (json.loads), one commit, into the
    emptied ``deliveries`` of ``url``."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE deliveries CASCADE")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(
            f"COPY deliveries ({', '.join(_COLUMNS)}) FROM STDIN"
        ) as copy:
            for row in _plain_rows(path):
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def import_seconds(summary: str) -> float:
    """The import's own time, from its summary line ("... in 12.3 s")."""
    found = re.search(r" in ([0-9.]+) s", summary)
    if found is None:
        raise SystemExit(f"no time in the import's summary: {summary!r}")
    return float(found.group(1))


def count(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM deliveries")).scalar()
    engine.dispose()
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--formats", default="jsonl,csv,parquet")
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument("--pg", action="store_true", help="also import the JSONL into PostgreSQL")
    parser.add_argument("--max-rss-mb", type=float, default=300.0)
    args = _report.parse_args(parser, {"records": 100_000})
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    jsonl = work / f"bench_import_{args.records}.jsonl"
    if not jsonl.exists():
        write_jsonl(jsonl, args.records)
    files = {"jsonl": jsonl}
    if "csv" in formats:
        files["csv"] = work / f"bench_import_{args.records}.csv"
        if not files["csv"].exists():
            write_csv(jsonl, files["csv"])
    if "parquet" in formats:
        files["parquet"] = work / f"bench_import_{args.records}.parquet"
        if not files["parquet"].exists():
            write_parquet(jsonl, files["parquet"])

    ok = True
    results = []
    for fmt in formats:
        db = work / f"bench_import_{fmt}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
        seconds, rss, line = run_import(files[fmt], url)
        n = count(url)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        reference = reference_sqlite(files[fmt], url) if fmt == "jsonl" else None
        results.append(("sqlite", fmt, seconds, import_seconds(line), rss, n,
                        files[fmt].stat().st_size, reference))
        print(f"sqlite   {fmt:8s} {line}")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    if args.pg:
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"intel_bench_import_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(
            hide_password=False
        )
        try:
            seconds, rss, line = run_import(jsonl, url)
            n = count(url)
            reference = reference_postgres(jsonl, url)
            results.append(("postgres", "jsonl", seconds, import_seconds(line), rss, n,
                            jsonl.stat().st_size, reference))
            print(f"postgres jsonl    {line}")
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    print(f"\n{'dialect':9s} {'format':8s} {'records':>10s} {'file MB':>8s} {'seconds':>8s} "
          f"{'rec/s':>8s} {'plain':>8s} {'peak MB':>8s}  memory")
    for dialect, fmt, seconds, own, rss, n, size, reference in results:
        fine = n == args.records and rss < args.max_rss_mb
        ok &= fine
        rate = n / own
        plain = args.records / reference if reference else None
        print(f"{dialect:9s} {fmt:8s} {n:10,d} {size / 1e6:8.0f} {own:8.1f} "
              f"{rate:8.0f} {plain or 0:8.0f} {rss:8.0f}  {'PASS' if fine else 'FAIL'}")
        loop = "json.loads + executemany" if dialect == "sqlite" else "json.loads + psycopg COPY"
        versus = (f"plain {loop}: {reference:.1f} s = {plain:,.0f} rec/s "
                  f"(import {plain / rate:.1f}x slower)" if reference else "no plain reference")
        _report.figure(f"{dialect}: import of {args.records:,} records, {fmt}, speed", rate,
                       None, "rec/s", reference=f"{versus}; {own:.1f} s of import")
        _report.figure(f"{dialect}: import of {args.records:,} records, {fmt}, peak RSS", rss,
                       f"< {args.max_rss_mb:g}", "MB", passed=fine,
                       reference=f"file {size / 1e6:,.0f} MB; {seconds:.1f} s with process "
                                 f"start = {n / seconds:,.0f} rec/s; {n:,} rows written")
    print("\nOVERALL:", "PASS" if ok else "FAIL",
          f"(all records written, peak RSS < {args.max_rss_mb:.0f} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
