"""Benchmark: the closed loop — simulator data, sandbox endpoints, advisor, bulk replay.

    .venv/bin/python bench/bench_closed_loop.py [--seeds 1 2 3] [--deliveries 60000]
                                                [--config config.demo.yaml] [--postgres]

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
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
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

import sqlalchemy as sa  # noqa: E402
from bench_replay import make_database, sandbox_get, sandbox_process, wait_for_scenario  # noqa: E402

from intel.advisor import get_replay_recommendations  # noqa: E402
from intel.replay import job_summary, replay_now  # noqa: E402
from intel.settings import load_settings  # noqa: E402
from intel.simulate import SimulationConfig, simulate  # noqa: E402
from intel.simulate.live import LiveRunner  # noqa: E402
from intel.store.schema import replay_items, sim_failure_truth  # noqa: E402
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--deliveries", type=int, default=60000,
                        help="deliveries in the two simulated days (per seed)")
    parser.add_argument("--config", default=str(REPO / "config.demo.yaml"))
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL")
    args = parser.parse_args()
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
    wait_ok = sum(r["wait_succeeded"] for r in rows)
    ok = attempted > 0 and rate >= TARGET_SUCCESS and permanent == 0 and twice == 0
    print(f"[{label}] overall: replays of recommended deliveries {succeeded}/{attempted} "
          f"succeeded = {rate:.1%} (target >= {TARGET_SUCCESS:.0%}); permanent replayed: "
          f"{permanent} (target 0); ground-truth permanent recommended: {truth_perm}; "
          f"'wait' contrast: {wait_ok}/{wait_att} succeeded"
          + (f" = {wait_ok / wait_att:.1%}" if wait_att else "")
          + f"; received twice: {twice}")
    print(f"[{label}] {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
