"""Benchmark: the authenticated REST API under 20 concurrent clients.

Targets (issue 9), judged with 20 clients in the paced mode below, each quoted beside
the same run's ``GET /health`` (no token, no query but ``SELECT 1``: the server's own
floor under the same load):

* ``GET /triage/deliveries/{id}`` with a bearer token: p99 < 20 ms;
* ``POST /triage/deliveries/batch`` with 100 ids: p99 < 100 ms.

The API runs as ``python -m intel api`` (uvicorn, one process, on a loopback port) over a
SQLite file seeded by the traffic simulator (seed 1; kept in ``--workdir`` and reused
when it holds the same simulation). Each request authenticates a viewer token for real
(hash lookup, scope, role check). The clients are ``--clients`` asyncio tasks in this
process, each with its own keep-alive connection, in two modes:

* paced: each client sends ``--rate`` requests a second (``--batch-rate`` batches) on a
  fixed schedule, latency counted from the scheduled time (a late server is charged for
  the wait);
* back to back (a closed loop): each client sends its next request as soon as the last
  is answered, so the server is saturated and latency is mostly the queue: 20 clients
  over a service time of S ms wait about 20 x S ms whatever the route does (the
  ``/health`` reference shows that floor).

The first tenth of each paced phase, and the first ``--warmup`` requests of each
back-to-back phase, are not counted.

    .venv/bin/python bench/bench_api_auth.py [--deliveries 50000] [--clients 20]
        [--rate 10] [--batch-rate 2] [--requests 2000] [--port 0] [--quick]

``--quick`` (for ``scripts/bench``) keeps the paced phases, where the targets are judged,
and shortens the back-to-back ones.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("INTEL_SECRET_KEY", "")
if not os.environ["INTEL_SECRET_KEY"]:
    from cryptography.fernet import Fernet

    os.environ["INTEL_SECRET_KEY"] = Fernet.generate_key().decode()

import _report
import httpx
import sqlalchemy as sa

from intel.auth.tokens import create_token
from intel.simulate import SimulationConfig, simulate
from intel.store.db import make_engine, upgrade
from intel.store.schema import api_tokens, deliveries

REPO = Path(__file__).resolve().parents[1]
END = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
ONE_TARGET_MS = 20.0
BATCH_TARGET_MS = 100.0
BATCH_SIZE = 100


def build_db(path: Path, n: int):
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        have = conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar()
    if have == n:
        print(f"sqlite: reusing {path} ({have:,} deliveries)")
    else:
        started = time.perf_counter()
        summary = simulate(engine, SimulationConfig(seed=1, deliveries=n, end=END), now=END)
        print(f"sqlite: simulated {summary.deliveries:,} deliveries ({summary.failed:,} "
              f"failed) in {time.perf_counter() - started:.1f} s")
    return engine


def failed_ids(engine, limit: int = 5000) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(deliveries.c.id).where(deliveries.c.status == "failed").limit(limit)
        ).scalars())


def fresh_token(engine) -> str:
    with engine.begin() as conn:
        conn.execute(api_tokens.delete().where(api_tokens.c.name == "bench"))
    now = datetime.now(UTC)
    _info, secret = create_token(engine, name="bench", role="viewer", actor="bench", now=now,
                                 expires_at=now + timedelta(hours=2))
    return secret


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_api(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}", PYTHONPATH=str(REPO))
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "intel", "api", "--port", str(port)],
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the API did not answer /health within 60 s; see {log}")


async def phase(base: str, clients: int, total: int, warmup: int, make_request,
                rate: float | None = None) -> dict:
    """``total`` requests from ``clients`` tasks; latencies in ms.

    ``rate`` None: each client sends back to back (a closed loop: the server is
    saturated, latency is mostly the queue). ``rate`` R: each client sends R requests a
    second on a fixed schedule, and a latency counts from the request's *scheduled* time,
    so a server that falls behind is charged for the wait (no coordinated omission)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total + warmup))

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        loop = asyncio.get_running_loop()
        due = loop.time() + (rng.random() / rate if rate else 0.0)  # spread the starts
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     limits=httpx.Limits(max_connections=1)) as http:
            for i in counter:
                method, url, kw = make_request(rng)
                if rate:
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    started = time.perf_counter() - max(0.0, loop.time() - due)
                    due += 1.0 / rate
                else:
                    started = time.perf_counter()
                response = await http.request(method, url, **kw)
                elapsed = (time.perf_counter() - started) * 1000.0
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if i >= warmup:
                    latencies.append(elapsed)

    started = time.perf_counter()
    await asyncio.gather(*(client(s) for s in range(clients)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "n": len(latencies),
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max": latencies[-1],
        "rps": (total + warmup) / wall,
        "statuses": statuses,
    }


def report(name: str, r: dict, health: dict | None = None, target: float | None = None) -> bool:
    ok = target is None or r["p99"] < target
    ref = (f"  (/health: p50 {health['p50']:.1f}, p99 {health['p99']:.1f})"
           if health else "")
    verdict = "" if target is None else f"  target p99 < {target:.0f} ms: " + (
        "PASS" if ok else "FAIL")
    print(f"{name:34s} p50 {r['p50']:6.1f}  p99 {r['p99']:6.1f}  max {r['max']:6.1f} ms  "
          f"{r['rps']:7.0f} req/s  {r['statuses']}{ref}{verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000,
                        help="counted per back-to-back phase")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0,
                        help="paced phases: single requests a second per client (default 10:"
                             " 200/s from 20 clients)")
    parser.add_argument("--batch-rate", type=float, default=2.0,
                        help="paced phases: batches a second per client (default 2: 40 "
                             "batches/s, 4,000 triages/s, from 20 clients)")
    parser.add_argument("--paced-seconds", type=float, default=10.0,
                        help="length of each paced phase")
    parser.add_argument("--port", type=int, default=0, help="0: a free loopback port")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "intel-bench"))
    args = _report.parse_args(parser, {"requests": 500, "warmup": 100})

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"api-auth-{args.deliveries}.db"
    engine = build_db(db, args.deliveries)
    ids = failed_ids(engine)
    secret = fresh_token(engine)
    engine.dispose()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_api(db, port, workdir / "bench-api.log")
    auth = {"Authorization": f"Bearer {secret}"}
    print(f"API on {base} (python -m intel api, one uvicorn process); {args.clients} clients "
          f"on loopback; {len(ids):,} failed ids to pick from; {os.cpu_count()} CPU(s)\n")

    def health(rng):
        return "GET", "/health", {}

    def one(rng):
        return "GET", f"/triage/deliveries/{rng.choice(ids)}", {"headers": auth}

    def batch(rng):
        return "POST", "/triage/deliveries/batch", {
            "headers": auth, "json": {"ids": rng.sample(ids, BATCH_SIZE)}}

    def run(make, rate: float | None = None) -> dict:
        if rate:
            total = max(1, int(args.clients * rate * args.paced_seconds))
            warmup = max(1, total // 10)
        else:
            total, warmup = args.requests, args.warmup
        return asyncio.run(phase(base, args.clients, total, warmup, make, rate))

    results = {}
    try:
        for mode, one_rate, batch_rate in (("paced", args.rate, args.batch_rate),
                                           ("back to back", None, None)):
            results[mode] = (run(health, one_rate), run(one, one_rate),
                             run(health, batch_rate), run(batch, batch_rate))
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    ok = True
    for mode, (ref_one, r_one, ref_batch, r_batch) in results.items():
        paced = mode == "paced"
        if paced:
            print(f"Paced: each client sends {args.rate:g} single requests/s, then "
                  f"{args.batch_rate:g} batches/s (latency from the scheduled send time); "
                  "the targets are judged here")
        else:
            print(f"\nBack to back (saturation; no target): each client sends its next "
                  f"request when the last one is answered ({args.requests} counted after "
                  f"{args.warmup} warm-up), so latency is mostly the wait in the server's "
                  "queue: about clients x service time, /health included")
        report("GET /health (reference)", ref_one)
        ok &= report("GET /triage/deliveries/{id}", r_one, ref_one,
                     ONE_TARGET_MS if paced else None) or not paced
        report("GET /health (reference, again)", ref_batch)
        ok &= report(f"POST /triage/deliveries/batch x{BATCH_SIZE}", r_batch, ref_batch,
                     BATCH_TARGET_MS if paced else None) or not paced
        if paced:
            for route, r, ref, target in (
                    ("GET /triage/deliveries/{id}", r_one, ref_one, ONE_TARGET_MS),
                    (f"POST /triage/deliveries/batch x{BATCH_SIZE}", r_batch, ref_batch,
                     BATCH_TARGET_MS)):
                _report.figure(f"{route} p99, {args.clients} clients paced", r["p99"],
                               f"< {target:g}", "ms",
                               reference=f"p50 {r['p50']:.1f} ms; GET /health p99 "
                                         f"{ref['p99']:.1f} ms, same load")
        bad = {s for r in (r_one, r_batch) for s in r["statuses"] if s != 200}
        _report.figure(f"{mode}: answers other than 200",
                       sum(n for r in (r_one, r_batch) for s, n in r["statuses"].items()
                           if s != 200), "== 0", "",
                       reference=f"{sum(sum(r['statuses'].values()) for r in (r_one, r_batch)):,}"
                                 " requests")
        if bad:
            print(f"unexpected statuses: {sorted(bad)}")
            ok = False
    print("\nOVERALL (the paced targets, every answer a 200):", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
