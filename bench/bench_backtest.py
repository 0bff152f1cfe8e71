"""Backtest report: the guarded detector vs the literal seed rules on simulator scenarios.

    .venv/bin/python bench/bench_backtest.py [--seeds 42 7 123] [--deliveries 200000]
                                             [--speed-deliveries 1000000]

For each seed: simulate 7 days into a temporary SQLite store (``intel.simulate``), run
the backtest (CONTRACTS §3, 30-s steps over the whole week — the same code as
``python -m intel backtest --db``) with the guarded rules and with the literal seed rules,
and score both against the ground truth (``intel.detect.scoring``). Then time a 7-day
backtest over 1M deliveries. Prints the figures and PASS/FAIL against issue 5's targets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Endpoints' signing secrets are stored encrypted (intel.secretbox): a throwaway key
# for this run when none is set (child processes inherit it).
os.environ.setdefault("INTEL_SECRET_KEY", "")
if not os.environ["INTEL_SECRET_KEY"]:
    from cryptography.fernet import Fernet

    os.environ["INTEL_SECRET_KEY"] = Fernet.generate_key().decode()

from intel.detect.backtest import backtest_store
from intel.detect.scoring import load_truth, score
from intel.settings import Settings
from intel.simulate import SimulationConfig, simulate
from intel.store.db import make_engine, upgrade

END = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
START = END - timedelta(days=7)


def make_store(directory: Path, seed: int, deliveries: int):
    engine = make_engine(f"sqlite:///{directory / f'sim{seed}_{deliveries}.db'}")
    upgrade(engine)
    began = time.perf_counter()
    simulate(engine, SimulationConfig(seed=seed, end=END, days=7, deliveries=deliveries),
             now=END)
    return engine, time.perf_counter() - began


def evaluate(engine, settings):
    with engine.connect() as conn:
        began = time.perf_counter()
        result = backtest_store(conn, START, END, 30, settings)
        seconds = time.perf_counter() - began
        truth = load_truth(conn, START, END)
    return score(result.to_json()["incidents"], truth), seconds


def fmt(value, digits=0, unit=""):
    if value is None:
        return "-"
    return f"{value:.{digits}f}{unit}"


def totals(reports):
    lat = [x for r in reports for x in r.latencies]
    bursts = [r.burst_from_start_max for r in reports if r.burst_from_start_max is not None]
    incidents = sum(r.incidents for r in reports)
    fps = sum(r.false_positives for r in reports)
    return {
        "anomalies": sum(len(r.anomalies) for r in reports),
        "detectable": sum(len(r.scored) for r in reports),
        "detected": sum(r.detected for r in reports),
        "exact": sum(r.exact for r in reports),
        "undetectable": sum(len(r.undetectable) for r in reports),
        "lat_median": statistics.median(lat) if lat else None,
        "lat_max": max(lat) if lat else None,
        "burst_max": max(bursts) if bursts else None,
        "incidents": incidents,
        "fp": fps,
        "fp_rate": fps / incidents if incidents else 0.0,
        "confounder": sum(r.confounder_incidents for r in reports),
        "per_anomaly_max": max((r.per_anomaly_max for r in reports), default=0),
        "per_anomaly_mean": statistics.mean(a.related for r in reports for a in r.anomalies),
    }


ROWS = [
    ("injected anomalies", "anomalies", "{}"),
    ("  with >= 3 failures (detectable)", "detectable", "{}"),
    ("  detected (right target/scope)", "detected", "{}"),
    ("  detected, exact type & target", "exact", "{}"),
    ("latency from 3rd failure, median", "lat_median", "{:.0f} s"),
    ("latency from 3rd failure, max", "lat_max", "{:.0f} s"),
    ("burst detected after start, max", "burst_max", "{:.0f} s"),
    ("incidents raised", "incidents", "{}"),
    ("false positives", "fp", "{}"),
    ("false-positive rate", "fp_rate", "{:.1%}"),
    ("incidents from confounders", "confounder", "{}"),
    ("incidents per anomaly, max", "per_anomaly_max", "{}"),
    ("incidents per anomaly, mean", "per_anomaly_mean", "{:.2f}"),
]


def show(value, pattern):
    return "-" if value is None else pattern.format(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 123])
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--speed-deliveries", type=int, default=1_000_000)
    args = parser.parse_args()
    guarded = Settings().detector
    literal = guarded.model_copy(update={"mode": "literal"})
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        directory = Path(tmp)
        reports = {"guarded": [], "literal": []}
        print(f"Backtest, 7 days at 30-s steps, {args.deliveries:,} simulated deliveries per "
              f"seed, seeds {args.seeds}")
        print(f"{'seed':>6} {'rules':>8} {'det/able':>9} {'exact':>6} {'lat med':>8} "
              f"{'lat max':>8} {'burst':>6} {'incid.':>7} {'FP':>5} {'FP %':>6} {'conf':>5} "
              f"{'max/an':>7} {'time':>6}")
        for seed in args.seeds:
            engine, _ = make_store(directory, seed, args.deliveries)
            for name, settings in (("guarded", guarded), ("literal", literal)):
                rep, seconds = evaluate(engine, settings)
                reports[name].append(rep)
                print(f"{seed:>6} {name:>8} {rep.detected:>4}/{len(rep.scored):<4} "
                      f"{rep.exact:>6} {fmt(rep.latency_median, 0, 's'):>8} "
                      f"{fmt(rep.latency_max, 0, 's'):>8} "
                      f"{fmt(rep.burst_from_start_max, 0, 's'):>6} {rep.incidents:>7} "
                      f"{rep.false_positives:>5} {rep.fp_rate:>6.1%} "
                      f"{rep.confounder_incidents:>5} {rep.per_anomaly_max:>7} "
                      f"{seconds:>5.1f}s")
            engine.dispose()
        g, lit = totals(reports["guarded"]), totals(reports["literal"])
        print("\nAll seeds together          guarded rules     literal seed rules")
        for label, key, pattern in ROWS:
            print(f"  {label:<34} {show(g[key], pattern):>12} {show(lit[key], pattern):>18}")
        checks = [
            ("every detectable anomaly detected", g["detected"] == g["detectable"]),
            ("latency median <= 60 s", (g["lat_median"] or 0) <= 60),
            ("latency max <= 5 min", (g["lat_max"] or 0) <= 300),
            ("bursts within 5 min of start", (g["burst_max"] or 0) <= 300),
            ("false positives < 5 % of incidents", g["fp_rate"] < 0.05),
            ("no incident from confounders", g["confounder"] == 0),
            ("<= 3 incidents per anomaly", g["per_anomaly_max"] <= 3),
        ]
        print()
        for label, passed in checks:
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'}  {label}")

        engine, sim_s = make_store(directory, args.seeds[0], args.speed_deliveries)
        rep, seconds = evaluate(engine, guarded)
        engine.dispose()
        passed = seconds < 60
        ok &= passed
        print(f"\nSpeed: {args.speed_deliveries:,} deliveries (simulated in {sim_s:.0f} s): "
              f"7-day backtest at 30-s steps (20,161 ticks) in {seconds:.1f} s "
              f"(one aggregate query + count arrays)")
        print(f"       on it: {rep.detected}/{len(rep.scored)} detected, median latency "
              f"{fmt(rep.latency_median, 0, ' s')}, {rep.false_positives} false positives of "
              f"{rep.incidents}")
        print(f"{'PASS' if passed else 'FAIL'}  backtest of 7 days over 1M deliveries < 60 s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
