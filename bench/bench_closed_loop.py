"""Benchmark: the closed loop — simulator data, sandbox endpoints, advisor, bulk replay.

    .venv/bin/python bench/bench_closed_loop.py [--seeds 1 2 3] [--deliveries 60000]
                                                [--config config.demo.yaml] [--postgres]
                                                [--fault-rounds 5] [--quick]

For each seed: the sandbox runs as its own process (``python -m intel sandbox``) on a free
port; the simulator writes two days of history ending 20 minutes ago with every endpoint
at ``{sandbox}/hooks/<tenant>/<slug>``, then its live mode writes the last 20 minutes,
with an outage that started 15 minutes ago and is still going on. The advisor analyses the
last 24 hours; the recommended deliveries are replayed as one job (source ``advisor``)
with the config's replay settings (``replay.allow_private_networks`` on: the demo config).

Figures (issue 4 targets): the success rate of replays of recommended deliveries
(>= 95 %), and how many deliveries the advisor calls permanent were replayed (must be 0),
checked against the jobs' items and against the simulator's ground truth. For contrast,
the deliveries the advisor says to "wait" for are replayed too (a separate job) and their
success rate printed: the endpoints they go to are still down. Also: whether the sandbox
received any webhook-id twice.

Then the **fault mix** (issue 10): ``--fault-rounds`` rounds against a real local receiver
whose endpoints time out after reading the request (answer 200 after ``replay.timeout_s``),
drop the connection after reading it, answer 200 slowly, answer 503, or answer 200. Each
round: three overlapping "replay the recommendation" jobs (app, API, CLI provenance) in
threads; a runner process killed (SIGKILL) mid-job and resumed; a runner process paused
(SIGSTOP) past its heartbeat, taken over, and continued (SIGCONT); then a later
``--recommended``. Figures: requests the receiver got, deliveries it *accepted* twice (2xx
or read and left unanswered; must be 0 — no operator resends here), deliveries that never
ended (must be 0), and the outcomes.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
from bench_replay import make_database, sandbox_get, sandbox_process, wait_for_scenario  # noqa: E402

from intel.advisor import get_replay_recommendations  # noqa: E402
from intel.deliveries.write import upsert_deliveries  # noqa: E402
from intel.replay import create_recommended_job, job_summary, replay_now, run_job  # noqa: E402
from intel.replay import states as S  # noqa: E402
from intel.replay.runner import resume_stale_jobs  # noqa: E402
from intel.settings import load_settings  # noqa: E402
from intel.settings.replay import ReplaySettings  # noqa: E402
from intel.simulate import SimulationConfig, simulate  # noqa: E402
from intel.simulate.live import LiveRunner  # noqa: E402
from intel.store.schema import (  # noqa: E402
    replay_claims,
    replay_items,
    replay_jobs,
    sim_failure_truth,
)
from intel.timeutil import utcnow  # noqa: E402

TARGET_SUCCESS = 0.95
LIVE_MINUTES = 20


def one_seed(seed: int, deliveries: int, settings, postgres: bool) -> dict:
    engine, url, cleanup = make_database(postgres)
    try:
        with sandbox_process(url) as base:
            now = utcnow()
            live_start = now - timedelta(minutes=LIVE_MINUTES)
            config = SimulationConfig(
                seed=seed, days=2, deliveries=deliveries, endpoint_base=base, end=live_start,
                live_incident="outage", live_incident_after_s=300,
                live_incident_duration_s=3 * 3600,
            )
            t0 = time.perf_counter()
            sim = simulate(engine, config, now=live_start)
            live = LiveRunner(engine, config, start=live_start)
            live.begin()
            live.step(utcnow())
            sim_s = time.perf_counter() - t0
            wait_for_scenario(base)
            time.sleep(5.5)  # one sandbox reload period: the live outage is in its scenario

            t0 = time.perf_counter()
            advice = get_replay_recommendations(engine, None, "24h", now=utcnow(),
                                                settings=settings)
            advise_s = time.perf_counter() - t0
            recommended = advice["recommended_ids"]
            held = advice["held_back"]
            permanent_ids = {h["id"] for h in held if h["category"] == "permanent-4xx"}
            wait_ids = [h["id"] for h in held if h["decision"] == "wait"]

            t0 = time.perf_counter()
            job = replay_now(engine, recommended, operator="bench", settings=settings,
                             source="advisor", filters={"bench": "closed-loop"}) \
                if recommended else None
            replay_s = time.perf_counter() - t0
            contrast = replay_now(engine, wait_ids, operator="bench", settings=settings,
                                  source="manual", filters={"bench": "contrast: wait"}) \
                if wait_ids else None
            stats = sandbox_get(base, "/_sandbox/stats")
            not_sent = {}
            if job:
                for entry in job_summary(engine, job.job_id)["deliveries"]:
                    if entry["outcome"] not in ("succeeded", "failed"):
                        key = f"{entry['outcome']}: {entry['reason']}"
                        not_sent[key] = not_sent.get(key, 0) + 1

            with engine.connect() as conn:
                replayed = set(conn.execute(
                    sa.select(replay_items.c.delivery_id).where(
                        replay_items.c.state.in_(("succeeded", "failed", "interrupted")))
                ).scalars())
                truth = dict(conn.execute(
                    sa.select(sim_failure_truth.c.delivery_id, sim_failure_truth.c.category)
                    .where(sim_failure_truth.c.delivery_id.in_(recommended[:30000] or ["-"]))
                ).all())
    finally:
        cleanup()
    s = job.summary if job else {"attempted": 0, "succeeded": 0, "failed": 0}
    c = contrast.summary if contrast else {"attempted": 0, "succeeded": 0}
    return {
        "seed": seed,
        "deliveries": sim.deliveries + live.summary.deliveries,
        "failures_analyzed": advice["total_analyzed"],
        "recommended": len(recommended),
        "share": advice["share_of_failures"],
        "confidence": advice["confidence"],
        "decisions": advice["breakdown"]["by_decision"],
        "attempted": s["attempted"],
        "succeeded": s["succeeded"],
        "failed": s["failed"],
        "permanent_by_advisor": advice["breakdown"]["by_category"].get("permanent-4xx", 0),
        "permanent_replayed": len(permanent_ids & replayed),
        "truth_permanent_recommended": sum(1 for c_ in truth.values() if c_ == "permanent-4xx"),
        "wait_attempted": c["attempted"],
        "wait_succeeded": c["succeeded"],
        "twice": stats["received_more_than_once"],
        "not_sent": not_sent,
        "sim_s": sim_s, "advise_s": advise_s, "replay_s": replay_s,
    }


# --- the fault mix (issue 10) ---------------------------------------------------------

FAULT_TIMEOUT_S = 0.3
FAULT_STALE_S = 1.0
#: endpoint mode -> (status or None to drop after reading, delay before answering)
FAULT_MODES = {
    "ok": (200, 0.0),
    "slow": (200, 0.1),
    "timeout": (200, FAULT_TIMEOUT_S + 0.4),  # answers after the replay gave up
    "drop": (None, 0.0),
    "down": (503, 0.0),
}
FAULT_MIX = {"ok": 8, "slow": 4, "timeout": 4, "drop": 4, "down": 4}
PROCESS_MIX = {"ok": 10, "slow": 10}  # every answer slowed: requests in flight at a signal


class FaultReceiver:
    """A real HTTP receiver on 127.0.0.1: per path prefix a fault mode; counts, per
    ``webhook-id``, what arrived and what it accepted (answered 2xx, however late, or read
    and left unanswered: a receiver would have acted on it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received: Counter = Counter()
        self.accepted: Counter = Counter()
        self.modes: dict[str, tuple] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                wid = self.headers.get("webhook-id")
                status, delay = next(
                    (m for p, m in sorted(receiver.modes.items(), key=lambda kv: -len(kv[0]))
                     if self.path.startswith(p)), (200, 0.0))
                with receiver.lock:
                    receiver.received[wid] += 1
                    if status is None or 200 <= status < 300:
                        receiver.accepted[wid] += 1
                try:
                    if delay:
                        time.sleep(delay)
                    if status is None:
                        self.close_connection = True
                        return
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a killed runner's kept-alive connection reset: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fault_world(engine, receiver: FaultReceiver, tenant: str, mix: dict[str, int],
                delay: float | None = None) -> dict[str, str]:
    """Failed deliveries of ``tenant`` the advisor recommends (a transient 503 an hour ago,
    to an endpoint that succeeded ten minutes ago); id -> endpoint mode."""
    now = utcnow()
    records, modes = [], {}

    def record(did, url, status, at):
        return {"id": did, "tenant": tenant, "endpoint": url, "event_type": "invoice.paid",
                "status": status, "http_status": 200 if status == "delivered" else 503,
                "response_body": "ok" if status == "delivered"
                else "<html>503 Service Temporarily Unavailable</html>",
                "attempts": 1, "created_at": at, "last_attempt_at": at, "duration_ms": 12.0,
                "payload": {"id": did, "amount": 10}}

    for mode, n in mix.items():
        path = f"/{tenant}/{mode}"
        status, wait = FAULT_MODES[mode]
        receiver.modes[path] = (status, wait if delay is None else delay)
        url = receiver.url(path)
        records.append(record(f"{tenant}-{mode}-ok", url, "delivered",
                              now - timedelta(minutes=10)))
        for i in range(n):
            did = f"{tenant}-{mode}-{i}"
            records.append(record(did, url, "failed", now - timedelta(minutes=60, seconds=i)))
            modes[did] = mode
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=now)
    return modes


def _threads(*targets) -> None:
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def go(fn):
        try:
            barrier.wait(10)
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]


def _runner_process(url: str, config: Path, job_id: str) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, INTEL_CONFIG=str(config), PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "intel", "replay", "--resume", job_id, "--no-resume-stale"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.02)
    return predicate()


def fault_mix(rounds: int, postgres: bool) -> dict:
    engine, url, cleanup = make_database(postgres)
    receiver = FaultReceiver()
    s = ReplaySettings(allow_private_networks=True, timeout_s=FAULT_TIMEOUT_S,
                       per_endpoint_concurrency=2, global_rate_per_s=1000.0, heartbeat_s=0.2,
                       runner_stale_after_s=FAULT_STALE_S, circuit_breaker_failures=50)
    tmp = tempfile.TemporaryDirectory(prefix="bench_fault_")
    config = Path(tmp.name) / "config.yaml"
    config.write_text(
        "replay:\n  allow_private_networks: true\n  per_endpoint_concurrency: 2\n"
        "  global_rate_per_s: 1000\n  heartbeat_s: 0.2\n"
        f"  runner_stale_after_s: {FAULT_STALE_S}\n  timeout_s: 0.6\n")
    ids: dict[str, str] = {}
    t0 = time.perf_counter()

    def recommended(tenant, launched_from):
        def go():
            made = create_recommended_job(engine, operator=f"bench-{launched_from}",
                                          now=utcnow(), launched_from=launched_from,
                                          tenant=tenant, settings=s)
            if made.created:
                run_job(engine, made.job_id, s)
        return go

    slow = s.model_copy(update={"timeout_s": 0.6})  # the runner processes' settings

    def process_round(tenant, sig):
        modes = fault_world(engine, receiver, tenant, PROCESS_MIX, delay=0.3)
        ids.update(modes)
        made = create_recommended_job(engine, operator="bench-proc", now=utcnow(),
                                      launched_from="cli", tenant=tenant, settings=slow)
        proc = _runner_process(url, config, made.job_id)
        try:
            _wait(lambda: sum(receiver.received[d] for d in modes) >= 3, 30)
            proc.send_signal(sig)
            time.sleep(FAULT_STALE_S + 0.5)  # its heartbeat goes stale, its timeouts pass
            taker = threading.Thread(target=resume_stale_jobs, args=(engine, slow))
            taker.start()
            taker.join(3)
        finally:
            if sig == signal.SIGSTOP:
                proc.send_signal(signal.SIGCONT)
            proc.wait(60)
        taker.join(60)
        time.sleep(FAULT_STALE_S + 0.2)
        resume_stale_jobs(engine, slow)  # whatever is still nobody's (a lost race): finish it

    try:
        for r in range(rounds):
            mixed = fault_world(engine, receiver, f"mix{r:02d}", FAULT_MIX)
            ids.update(mixed)
            _threads(*(recommended(f"mix{r:02d}", src) for src in ("app", "api", "cli")))
            process_round(f"kill{r:02d}", signal.SIGKILL)
            process_round(f"pause{r:02d}", signal.SIGSTOP)
            # later "replay the recommendation" for every tenant: must resend nothing
            recommended(None, "cli")()
        elapsed = time.perf_counter() - t0
        with engine.connect() as conn:
            claims = dict(conn.execute(
                sa.select(replay_claims.c.delivery_id, replay_claims.c.state)).all())
            unfinished = conn.execute(
                sa.select(sa.func.count()).select_from(replay_jobs)
                .where(replay_jobs.c.status.in_(S.JOB_LIVE))).scalar()
            items = Counter(conn.execute(sa.select(replay_items.c.state)).scalars())
            resends = conn.execute(
                sa.select(sa.func.count()).select_from(replay_jobs)
                .where(replay_jobs.c.resend_unknown.is_(True))).scalar()
        ends = Counter()
        for did in ids:
            claim = claims.get(did)
            ends["stuck" if claim in S.CLAIM_HELD else claim or "failed or skipped"] += 1
        return {
            "deliveries": len(ids),
            "requests": sum(receiver.received[d] for d in ids),
            "received_twice": sum(1 for d in ids if receiver.received[d] > 1),
            "accepted_twice": sum(1 for d in ids if receiver.accepted[d] > 1),
            "never_received": sum(1 for d in ids if not receiver.received[d]),
            "unfinished_jobs": int(unfinished),
            "ends": dict(ends),
            "items": dict(items),
            "operator_resends": int(resends),
            "elapsed_s": elapsed,
        }
    finally:
        receiver.close()
        tmp.cleanup()
        cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3],
                        help="simulator seeds of the closed loop (none: only the fault mix)")
    parser.add_argument("--deliveries", type=int, default=60000,
                        help="deliveries in the two simulated days (per seed)")
    parser.add_argument("--config", default=str(REPO / "config.demo.yaml"))
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL")
    parser.add_argument("--fault-rounds", type=int, default=5,
                        help="rounds of the fault mix (0: skip it)")
    args = _report.parse_args(parser, {"seeds": [1], "fault_rounds": 1})
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(args.config).replay
    if not settings.allow_private_networks:
        print(f"{args.config}: replay.allow_private_networks is off; use the demo config.")
        return 2
    label = "postgres" if args.postgres else "sqlite"
    rows = [one_seed(seed, args.deliveries, settings, args.postgres) for seed in args.seeds]
    for r in rows:
        rate = r["succeeded"] / r["attempted"] if r["attempted"] else float("nan")
        wait_rate = (r["wait_succeeded"] / r["wait_attempted"]) if r["wait_attempted"] else None
        print(f"[{label}] seed {r['seed']}: {r['deliveries']:,} deliveries; advisor analysed "
              f"{r['failures_analyzed']:,} failures in {r['advise_s']:.2f} s, recommended "
              f"{r['recommended']:,} ({r['share']:.0%}, {r['confidence']} confidence); "
              f"decisions {r['decisions']}")
        print(f"[{label}] seed {r['seed']}: replays of recommended: {r['succeeded']}/"
              f"{r['attempted']} succeeded = {rate:.1%} (in {r['replay_s']:.1f} s); "
              f"permanent (advisor) {r['permanent_by_advisor']}, replayed "
              f"{r['permanent_replayed']}; ground-truth permanent among recommended "
              f"{r['truth_permanent_recommended']}; contrast: 'wait' replays "
              + (f"{r['wait_succeeded']}/{r['wait_attempted']} succeeded"
                 if wait_rate is not None else "none")
              + f"; received twice: {r['twice']}")
        for reason, n in r["not_sent"].items():
            print(f"[{label}] seed {r['seed']}:   not sent: {n} x {reason}")
    attempted = sum(r["attempted"] for r in rows)
    succeeded = sum(r["succeeded"] for r in rows)
    rate = succeeded / attempted if attempted else 0.0
    permanent = sum(r["permanent_replayed"] for r in rows)
    truth_perm = sum(r["truth_permanent_recommended"] for r in rows)
    twice = sum(r["twice"] for r in rows)
    wait_att = sum(r["wait_attempted"] for r in rows)
    held_permanent = sum(r["permanent_by_advisor"] for r in rows)
    wait_ok = sum(r["wait_succeeded"] for r in rows)
    ok = not rows or (attempted > 0 and rate >= TARGET_SUCCESS and permanent == 0
                      and twice == 0)
    if args.fault_rounds > 0:
        f = fault_mix(args.fault_rounds, args.postgres)
        stuck = f["ends"].get("stuck", 0)
        print(f"[{label}] fault mix: {args.fault_rounds} rounds, {f['deliveries']} deliveries "
              f"(timeout after reading, drop after reading, slow 200, 503, 200; 3 overlapping "
              f"recommended jobs, a runner killed, a runner paused, a later --recommended) in "
              f"{f['elapsed_s']:.1f} s: {f['requests']} requests; accepted twice: "
              f"{f['accepted_twice']} (target 0); received twice: {f['received_twice']}; "
              f"never ended: {stuck} (target 0); unfinished jobs: {f['unfinished_jobs']}; "
              f"operator resends: {f['operator_resends']}")
        print(f"[{label}] fault mix: claims at the end {f['ends']}; items {f['items']}")
        mix = f"fault mix, {args.fault_rounds} round(s) of {f['deliveries'] // args.fault_rounds}"
        _report.figure(f"{label}: {mix}: accepted twice", f["accepted_twice"], "== 0", "",
                       reference=f"{f['requests']} requests for {f['deliveries']} deliveries")
        _report.figure(f"{label}: {mix}: received twice", f["received_twice"], "== 0", "",
                       reference=f"{f['never_received']} never received")
        _report.figure(f"{label}: {mix}: never ended (claim still held)", stuck, "== 0", "",
                       reference=f"claims at the end {f['ends']}")
        _report.figure(f"{label}: {mix}: unfinished jobs", f["unfinished_jobs"], "== 0", "",
                       reference=f"{f['operator_resends']} operator resends")
        ok = (ok and f["accepted_twice"] == 0 and f["received_twice"] == 0 and stuck == 0
              and f["unfinished_jobs"] == 0)
    if rows:
        print(f"[{label}] overall: replays of recommended deliveries {succeeded}/{attempted} "
              f"succeeded = {rate:.1%} (target >= {TARGET_SUCCESS:.0%}); permanent replayed: "
              f"{permanent} (target 0); ground-truth permanent recommended: {truth_perm}; "
              f"'wait' contrast: {wait_ok}/{wait_att} succeeded"
              + (f" = {wait_ok / wait_att:.1%}" if wait_att else "")
              + f"; received twice: {twice}")
        seeds = f"seed{'s' if len(rows) > 1 else ''} {', '.join(str(r['seed']) for r in rows)}"
        wait = (f"'wait' replays (endpoints still down) {wait_ok}/{wait_att}"
                + (f" = {wait_ok / wait_att:.1%}" if wait_att else ""))
        _report.figure(f"{label}: replays of recommended deliveries succeeded ({seeds}, "
                       f"{args.deliveries:,} each)", rate * 100, f">= {TARGET_SUCCESS * 100:g}",
                       "%", passed=attempted > 0 and rate >= TARGET_SUCCESS,
                       reference=f"{succeeded}/{attempted}; {wait}")
        _report.figure(f"{label}: permanent failures replayed ({seeds})", permanent, "== 0", "",
                       reference=f"the advisor held back {held_permanent} as permanent; "
                                 f"ground-truth permanent among recommended: {truth_perm}")
        _report.figure(f"{label}: closed loop, received twice ({seeds})", twice, "== 0", "",
                       reference=f"{attempted + wait_att} replays sent")
    print(f"[{label}] {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
