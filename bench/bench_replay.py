"""Benchmark: a bulk replay of 1,000 deliveries to the sandbox (issue 4 target: < 30 s).

    .venv/bin/python bench/bench_replay.py [--n 1000] [--config config.demo.yaml] [--postgres]
                                           [--rate R] [--concurrency C] [--quick]

The sandbox runs as its own process (``python -m intel sandbox``, as in the demo) on a
free port; the simulator writes its endpoints (with their signing secrets, so every
replay is signed and verified) and scenario there. The
bench writes ``--n`` failed deliveries to endpoints the scenario leaves healthy and
replays them as one job (create, preview, run) with the replay settings of ``--config``
(default: the demo config, whose private-network allowance the sandbox needs). Prints the
time, throughput, outcomes, what the sandbox received (and whether anything twice), and
PASS/FAIL. With ``--postgres`` it runs on a database it creates and drops on
127.0.0.1:5432 instead of a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# Endpoints' signing secrets are stored encrypted (intel.secretbox): a throwaway key
# for this run when none is set (child processes inherit it).
os.environ.setdefault("INTEL_SECRET_KEY", "")
if not os.environ["INTEL_SECRET_KEY"]:
    from cryptography.fernet import Fernet

    os.environ["INTEL_SECRET_KEY"] = Fernet.generate_key().decode()

import _report  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from intel.deliveries.write import upsert_deliveries  # noqa: E402
from intel.replay import replay_now  # noqa: E402
from intel.settings import load_settings  # noqa: E402
from intel.simulate import SimulationConfig, simulate  # noqa: E402
from intel.simulate.behaviour import load_scenario  # noqa: E402
from intel.store.db import make_engine, upgrade  # noqa: E402
from intel.store.schema import endpoints  # noqa: E402
from intel.timeutil import utcnow  # noqa: E402

TARGET_S = 30.0
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sandbox_get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=5) as resp:
        return json.loads(resp.read())


@contextmanager
def sandbox_process(db_url: str):
    """``python -m intel sandbox`` on a free port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "intel", "sandbox", "--port", str(port), "--db", db_url],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sandbox_get(base, "/_sandbox/health")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def wait_for_scenario(base: str, timeout: float = 30.0) -> None:
    """Until the sandbox has re-read the scenario with the simulated endpoints' secrets."""
    deadline = time.monotonic() + timeout
    while sandbox_get(base, "/_sandbox/health")["endpoints_with_secret"] == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not load the scenario")
        time.sleep(0.2)


def make_database(postgres: bool):
    """(engine, url, cleanup) for a fresh, migrated database."""
    if not postgres:
        tmp = tempfile.TemporaryDirectory(prefix="bench_replay_")
        url = f"sqlite:///{tmp.name}/bench.db"
        engine = make_engine(url)
        upgrade(engine)

        def cleanup():
            engine.dispose()
            tmp.cleanup()

        return engine, url, cleanup
    admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"bench_replay_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)

    def cleanup():
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return engine, url, cleanup


def healthy_endpoints(engine) -> list[str]:
    """Simulated endpoints no scenario event or profile touches: they answer 200."""
    scenario = load_scenario(engine)
    with engine.connect() as conn:
        urls = list(conn.execute(sa.select(endpoints.c.url).order_by(endpoints.c.url)).scalars())
    return [u for u in urls if scenario.endpoint_url(u) is None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="deliveries to replay")
    parser.add_argument("--config", default=str(REPO / "config.demo.yaml"),
                        help="settings file whose replay section is used")
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL")
    parser.add_argument("--rate", type=float, help="override replay.global_rate_per_s")
    parser.add_argument("--concurrency", type=int,
                        help="override replay.per_endpoint_concurrency")
    # the full 1,000 already take under a minute: --quick runs the same
    args = _report.parse_args(parser, {})
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(args.config).replay
    overrides = {k: v for k, v in (("global_rate_per_s", args.rate),
                                   ("per_endpoint_concurrency", args.concurrency)) if v}
    settings = settings.model_copy(update=overrides)
    if not settings.allow_private_networks:
        print(f"{args.config}: replay.allow_private_networks is off; the sandbox is on "
              "127.0.0.1, so every replay would be refused. Use the demo config.")
        return 2
    engine, url, cleanup = make_database(args.postgres)
    label = "postgres" if args.postgres else "sqlite"
    try:
        with sandbox_process(url) as base:
            now = utcnow()
            simulate(engine, SimulationConfig(seed=11, days=1, deliveries=2000,
                                              endpoint_base=base,
                                              end=now - timedelta(hours=1)), now=now)
            wait_for_scenario(base)
            targets = healthy_endpoints(engine)
            records = []
            for i in range(args.n):
                at = now - timedelta(minutes=30, seconds=i)
                records.append({
                    "id": f"bench-{i:05d}", "tenant": targets[i % len(targets)].split("/")[-2],
                    "endpoint": targets[i % len(targets)], "event_type": "invoice.paid",
                    "status": "failed", "http_status": 503, "error": None,
                    "response_headers": None, "response_body": "Service Unavailable",
                    "attempts": 1, "created_at": at, "last_attempt_at": at, "duration_ms": 30.0,
                    "payload": {"id": f"evt_{i}", "type": "invoice.paid",
                                "data": {"amount": i, "currency": "EUR"}},
                    "extra": None,
                })
            with engine.begin() as conn:
                upsert_deliveries(conn, records, now=now)
            t0 = time.perf_counter()
            result = replay_now(engine, [r["id"] for r in records], operator="bench",
                                settings=settings, source="manual")
            elapsed = time.perf_counter() - t0
            stats = sandbox_get(base, "/_sandbox/stats")
    finally:
        cleanup()
    s = result.summary
    ok = (elapsed < TARGET_S and s["succeeded"] == args.n
          and stats["received_more_than_once"] == 0)
    print(f"[{label}] bulk replay of {args.n:,} deliveries to {len(targets)} sandbox endpoints "
          f"in {elapsed:.2f} s = {args.n / elapsed:,.0f} replays/s "
          f"(per-endpoint concurrency {settings.per_endpoint_concurrency}, global rate "
          f"{settings.global_rate_per_s:g}/s: floor {args.n / settings.global_rate_per_s:.1f} s)")
    print(f"[{label}] outcomes: {s['succeeded']} succeeded, {s['failed']} failed, "
          f"{s['skipped']} skipped, {s['refused']} refused; sandbox received "
          f"{stats['requests']} requests, {stats['distinct_webhook_ids']} distinct webhook ids, "
          f"{stats['received_more_than_once']} more than once, answers {stats['answers']}")
    print(f"[{label}] {'PASS' if ok else 'FAIL'} (target < {TARGET_S:.0f} s, all succeeded, "
          "none twice)")
    floor = args.n / settings.global_rate_per_s
    _report.figure(f"{label}: bulk replay of {args.n:,} to the sandbox", elapsed,
                   f"< {TARGET_S:g}", "s",
                   reference=f"the rate cap's floor {floor:.1f} s "
                             f"({settings.global_rate_per_s:g}/s)")
    _report.figure(f"{label}: bulk replay, not succeeded", args.n - s["succeeded"], "== 0", "",
                   reference=f"{s['failed']} failed, {s['skipped']} skipped, "
                             f"{s['refused']} refused")
    _report.figure(f"{label}: bulk replay, received more than once",
                   stats["received_more_than_once"], "== 0", "",
                   reference=f"{stats['requests']} requests received")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
