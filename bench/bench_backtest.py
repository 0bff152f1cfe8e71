"""Backtest report: the detector against ground truth, worst case per anomaly kind.

    .venv/bin/python bench/bench_backtest.py [--seeds 42 7 123] [--deliveries 200000]
                                             [--small-seeds 11 12 13 14 15 16 17 18]
                                             [--speed-deliveries 1000000] [--no-speed]
                                             [--quick]

Two scenario sets, each scored against its own ground truth (``intel.detect.scoring``):

1. **Simulator.** For each seed: simulate 7 days into a temporary SQLite store
   (``intel.simulate``), run the backtest (CONTRACTS §3, 30-s steps over the whole week —
   the same code as ``python -m intel backtest --db``) with the guarded rules and with the
   literal seed rules, and score both.
2. **Small targets.** Synthetic weeks made here (no database; counts straight into the
   backtest's arrays) where the anomalies hit what the simulator rarely does:
   *low-traffic endpoints* (0.1-1 delivery per minute, night-time lows half that) going
   down or rate-limited, *small tenants* misconfigured, and *gradual bursts* whose failure
   share ramps up over 1-5 minutes instead of jumping (and slow ones, 5-10 minutes: their
   latency from the start is reported, not held to 5 min). Confounders: traffic surges, a
   chronically flaky endpoint, sparse endpoints (a few deliveries a day). The detector was
   tuned on seeds 1-4 of this set; the default seeds (11-18) are held out.

For both: the figures per seed, then per anomaly kind the median and the *worst*
latency from the anomaly's third failed delivery (and, for bursts, from its start), with
the worst anomaly named. Then a 7-day backtest over 1M deliveries is timed. Prints
PASS/FAIL against the targets (issue 5, issue 11). The simulator's figures are quoted
beside the literal seed rules' on the same weeks, the speed beside the backtests of the
smaller simulator stores.

``--quick`` (for ``scripts/bench``): one simulator seed, the first four held-out small
seeds, the speed run at 250,000 deliveries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _report
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Endpoints' signing secrets are stored encrypted (intel.secretbox): a throwaway key
# for this run when none is set (child processes inherit it).
os.environ.setdefault("INTEL_SECRET_KEY", "")
if not os.environ["INTEL_SECRET_KEY"]:
    from cryptography.fernet import Fernet

    os.environ["INTEL_SECRET_KEY"] = Fernet.generate_key().decode()

from intel.backtest import backtest_store, counts_for, run_backtest
from intel.detect.counts import BucketRows
from intel.detect.families import FAMILY_INDEX, N_FAMILIES
from intel.detect.scoring import Truth, load_truth, score
from intel.settings import Settings
from intel.simulate import SimulationConfig, simulate
from intel.store.db import make_engine, upgrade

END = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
START = END - timedelta(days=7)
STEP_S = 30
TARGET_S = 300  # issue 11: <= 5 min after the third failure, and from a burst's start


# --- 1. the simulator --------------------------------------------------------------------


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
        result = backtest_store(conn, START, END, STEP_S, settings)
        seconds = time.perf_counter() - began
        truth = load_truth(conn, START, END)
    return score(result.to_json()["incidents"], truth), seconds


# --- 2. small targets (synthetic, no database) --------------------------------------------

# A regular endpoint's failures by family (before a per-endpoint perturbation).
_BASE_MIX = {"http_502": 0.10, "http_503": 0.10, "http_504": 0.08, "timeout": 0.18,
             "reset": 0.10, "refused": 0.09, "dns": 0.03, "tls": 0.01, "http_500": 0.05,
             "http_gone": 0.02, "http_4xx": 0.07, "http_auth": 0.02, "http_429": 0.05,
             "unknown": 0.02}
_FLAKY_MIX = {"http_502": 0.45, "timeout": 0.35, "reset": 0.20}
_OUTAGE_FAMILIES = ("refused", "http_503", "http_502", "http_504")
_BURST_FAMILIES = ("dns", "timeout", "reset")
# kind -> (expected incident type, events per week, duration range in minutes, and for a
# burst the range of minutes its failure share takes to ramp up to its plateau)
SMALL_ANOMALIES = {
    "outage_low": ("endpoint_spike", 5, (20, 75), None),
    "ratelimit_low": ("endpoint_spike", 3, (15, 45), None),
    "misconfig_small": ("tenant_spike", 2, (30, 120), None),
    "burst_gradual": ("burst", 3, (15, 30), (1, 5)),
    "burst_slow": ("burst", 2, (20, 40), (5, 10)),
}
# Not held to "within 5 min of its start": a burst that takes 5-10 minutes to build holds
# too few excess failures in its first five to be told from noise on a small platform
# (e.g. 15 deliveries/min, 40 % share after 8 min: ~6 excess failures by minute 5).
FROM_START_EXEMPT = ("burst_slow",)
SMALL_CONFOUNDERS = {"surge": (3, (60, 180))}


def _mix_vector(mix: dict[str, float], rng, spread: float = 30.0) -> np.ndarray:
    keys = list(mix)
    alpha = np.array([mix[k] for k in keys]) * spread
    drawn = rng.dirichlet(alpha) if spread else alpha / alpha.sum()
    out = np.zeros(N_FAMILIES)
    for k, p in zip(keys, drawn, strict=True):
        out[FAMILY_INDEX[k]] = p
    return out / out.sum()


@dataclass
class SmallWorld:
    tenants: list[str]
    tenant_of: np.ndarray  # endpoint -> tenant index
    urls: list[str]
    rate: np.ndarray  # mean deliveries per minute
    fail: np.ndarray  # normal failure ratio
    mix: np.ndarray  # (endpoints, families): a failure's family
    phase: np.ndarray  # per tenant: where its day peaks
    profile: list[str]  # "", "flaky", "sparse"


def small_world(rng) -> SmallWorld:
    scale = float(np.exp(rng.uniform(np.log(0.3), 0.0)))  # platform ~13-45 deliveries/min
    tenants, tenant_of, urls, rate, fail, mix, profile = [], [], [], [], [], [], []
    for t in range(14):
        name = f"tenant-{t:02d}"
        tenants.append(name)
        for k in range(int(rng.integers(2, 5))):
            urls.append(f"https://hooks.{name}.example/h/{k}")
            tenant_of.append(t)
            rate.append(float(np.exp(rng.uniform(np.log(0.05), np.log(5.0)))) * scale)
            fail.append(float(np.clip(rng.lognormal(np.log(0.012), 0.6), 0.002, 0.05)))
            mix.append(_mix_vector(_BASE_MIX, rng))
            profile.append("")
    rate_a = np.array(rate)
    # one chronically flaky mid-volume endpoint; two sparse ones (a few deliveries a day)
    mid = int(np.argsort(rate_a)[len(rate_a) // 2])
    profile[mid] = "flaky"
    fail[mid] = float(rng.uniform(0.2, 0.3))
    mix[mid] = _mix_vector(_FLAKY_MIX, rng)
    for t in rng.choice(len(tenants), size=2, replace=False).tolist():
        urls.append(f"https://legacy.{tenants[t]}.example/sync")
        tenant_of.append(t)
        rate.append(float(rng.uniform(2, 8)) / 1440)
        fail.append(float(rng.uniform(0.06, 0.15)))
        mix.append(_mix_vector(_BASE_MIX, rng))
        profile.append("sparse")
    return SmallWorld(tenants, np.array(tenant_of), urls, np.array(rate), np.array(fail),
                      np.array(mix), rng.uniform(0, 1, len(tenants)), profile)


def _diurnal(world: SmallWorld, tenant: int, epoch: np.ndarray) -> np.ndarray:
    return 1.0 + 0.5 * np.sin(2 * np.pi * (epoch / 86400.0 + world.phase[tenant]))


def plan_small(world: SmallWorld, rng) -> list[dict]:
    """Anomalies and confounders in non-overlapping slots after a 12-h warm-up."""
    kinds = [k for k, (_, n, _, _) in SMALL_ANOMALIES.items() for _ in range(n)]
    kinds += [k for k, (n, _) in SMALL_CONFOUNDERS.items() for _ in range(n)]
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    t0, t1 = START.timestamp() + 12 * 3600, END.timestamp() - 3600
    slot = (t1 - t0) / len(kinds)
    regular = [i for i, p in enumerate(world.profile) if not p]
    low = [i for i in regular if 0.1 <= world.rate[i] <= 1.0]
    low = low or sorted(regular, key=lambda i: world.rate[i])[:4]
    low_rate = {t: world.rate[world.tenant_of == t].sum() for t in range(len(world.tenants))}
    small_tenants = sorted(low_rate, key=low_rate.get)[: max(3, len(low_rate) // 3)]
    used: list = []
    events, counters = [], defaultdict(int)

    def pick(pool):
        free = [x for x in pool if x not in used] or pool
        choice = free[int(rng.integers(len(free)))]
        used.append(choice)
        return choice

    for i, kind in enumerate(kinds):
        lo, hi = (SMALL_ANOMALIES[kind][2] if kind in SMALL_ANOMALIES
                  else SMALL_CONFOUNDERS[kind][1])
        duration = min(float(rng.uniform(lo, hi)) * 60, 0.6 * slot)
        s = round(t0 + i * slot + float(rng.uniform(0.1 * slot, slot - duration - 0.1 * slot)))
        e = s + round(duration)
        counters[kind] += 1
        ev = {"id": f"small-{kind}-{counters[kind]:02d}", "kind": kind,
              "is_anomaly": int(kind in SMALL_ANOMALIES),
              "expected_type": SMALL_ANOMALIES[kind][0] if kind in SMALL_ANOMALIES else None,
              "start_at": datetime.fromtimestamp(s, UTC),
              "end_at": datetime.fromtimestamp(e, UTC), "ramp_s": 0.0}
        if kind in ("outage_low", "ratelimit_low"):
            ep = pick(low)
            family = ("http_429" if kind == "ratelimit_low"
                      else str(rng.choice(np.array(_OUTAGE_FAMILIES))))
            ev.update(target=world.urls[ep], members=[ep], family=family,
                      share=0.75 if kind == "ratelimit_low" else 1.0,
                      details={"endpoint": world.urls[ep],
                               "tenant": world.tenants[world.tenant_of[ep]],
                               "endpoints": [world.urls[ep]],
                               "rate_per_min": round(float(world.rate[ep]), 3)})
        elif kind == "misconfig_small":
            t = pick(small_tenants)
            members = [i for i in regular if world.tenant_of[i] == t]
            ev.update(target=world.tenants[t], members=members, family="http_auth", share=1.0,
                      details={"tenant": world.tenants[t],
                               "endpoints": [world.urls[i] for i in members]})
        elif kind in ("burst_gradual", "burst_slow"):
            k = max(1, round(len(regular) * float(rng.uniform(0.75, 0.95))))
            members = sorted(rng.choice(regular, size=k, replace=False).tolist())
            ev.update(target="*", members=members,
                      family=str(rng.choice(np.array(_BURST_FAMILIES))),
                      share=round(float(rng.uniform(0.3, 0.7)), 2),
                      ramp_s=float(rng.uniform(*SMALL_ANOMALIES[kind][3])) * 60,
                      details={"endpoints": [world.urls[i] for i in members]})
        else:  # surge: x2.5-4 traffic from one tenant, failure ratio unchanged
            t = pick(list(range(len(world.tenants))))
            members = [i for i in regular if world.tenant_of[i] == t]
            ev.update(target=world.tenants[t], members=members, family=None, share=0.0,
                      multiplier=float(rng.uniform(2.5, 4.0)),
                      details={"tenant": world.tenants[t],
                               "endpoints": [world.urls[i] for i in members]})
        events.append(ev)
    for i, p in enumerate(world.profile):
        if p:
            events.append({"id": f"small-profile_{p}-{i:02d}", "kind": f"profile_{p}",
                           "is_anomaly": 0, "expected_type": None, "target": world.urls[i],
                           "start_at": START, "end_at": END, "members": [i], "share": 0.0,
                           "family": None, "ramp_s": 0.0,
                           "details": {"endpoint": world.urls[i],
                                       "tenant": world.tenants[world.tenant_of[i]]}})
    return events


def small_traffic(world: SmallWorld, events: list[dict], rng, lookback_s: float):
    """Every finished delivery as (endpoint, family, epoch), plus the truth: which failures
    each anomaly caused (its third one is where latency counts from)."""
    t_lo, t_hi = START.timestamp() - lookback_s, END.timestamp()
    ep_all, fam_all, at_all = [], [], []
    caused: dict[str, list[float]] = defaultdict(list)
    surges = [e for e in events if e["kind"] == "surge"]
    anomalies = [e for e in events if e["is_anomaly"]]
    for ep in range(len(world.urls)):
        tenant = int(world.tenant_of[ep])
        expected = world.rate[ep] / 60.0 * (t_hi - t_lo)
        times = rng.uniform(t_lo, t_hi, rng.poisson(expected * 1.5))
        times = times[rng.random(len(times)) * 1.5 < _diurnal(world, tenant, times)]
        for sv in surges:
            if ep not in sv["members"]:
                continue
            s, e = sv["start_at"].timestamp(), sv["end_at"].timestamp()
            extra = rng.uniform(s, e, rng.poisson(world.rate[ep] / 60.0 * (e - s)
                                                  * (sv["multiplier"] - 1) * 1.5))
            extra = extra[rng.random(len(extra)) * 1.5 < _diurnal(world, tenant, extra)]
            times = np.concatenate([times, extra])
        times = np.sort(times)
        n = len(times)
        fam = np.zeros(n, dtype=np.int64)
        failed = rng.random(n) < world.fail[ep]
        fam[failed] = rng.choice(N_FAMILIES, size=int(failed.sum()), p=world.mix[ep])
        who = np.full(n, -1)
        for j, ev in enumerate(anomalies):
            if ep not in ev["members"]:
                continue
            s, e = ev["start_at"].timestamp(), ev["end_at"].timestamp()
            inside = (times >= s) & (times < e)
            share = ev["share"] * np.clip((times - s) / ev["ramp_s"], 0, 1) if ev["ramp_s"] \
                else np.full(n, ev["share"])
            hit = inside & (rng.random(n) < share)
            fam[hit] = FAMILY_INDEX[ev["family"]]
            who[hit] = j
        for j in np.unique(who[who >= 0]).tolist():
            caused[anomalies[j]["id"]].extend(times[who == j].tolist())
        ep_all.append(np.full(n, ep))
        fam_all.append(fam)
        at_all.append(times)
    third = {}
    for eid, times in caused.items():
        if len(times) >= 3:
            third[eid] = datetime.fromtimestamp(sorted(times)[2], UTC)
    return np.concatenate(ep_all), np.concatenate(fam_all), np.concatenate(at_all), third


def bucket_rows(world: SmallWorld, ep: np.ndarray, fam: np.ndarray, at: np.ndarray,
                bucket_s: int) -> BucketRows:
    bucket = np.floor(at / bucket_s).astype(np.int64)
    b0 = int(bucket.min())
    ne = len(world.urls)
    code = ((bucket - b0) * ne + ep) * N_FAMILIES + fam
    uniq, count = np.unique(code, return_counts=True)
    rest, f = np.divmod(uniq, N_FAMILIES)
    b, e = np.divmod(rest, ne)
    return BucketRows(bucket=b + b0, tenant=world.tenant_of[e].astype(np.int64), endpoint=e,
                      family=f, count=count, tenants=list(world.tenants),
                      endpoints=list(world.urls))


def small_case(seed: int):
    """One synthetic week: its bucket counts and its ground truth."""
    from intel.detect.rules import LONGEST_LOOKBACK_S

    rng = np.random.default_rng([seed, 11])
    world = small_world(rng)
    events = plan_small(world, rng)
    ep, fam, at, third = small_traffic(world, events, rng, LONGEST_LOOKBACK_S)
    rows = bucket_rows(world, ep, fam, at, STEP_S)
    clean = [{k: v for k, v in e.items()
              if k not in ("members", "family", "share", "ramp_s", "multiplier")}
             for e in events]
    return rows, Truth(events=clean, third_failure=third), len(at)


def evaluate_small(rows: BucketRows, truth: Truth, settings):
    began = time.perf_counter()
    result = run_backtest(counts_for(rows, START, END, STEP_S), START, END, STEP_S, settings)
    return score(result.to_json()["incidents"], truth), time.perf_counter() - began


# --- reporting ----------------------------------------------------------------------------


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
        "per_anomaly_mean": statistics.mean(
            a.related for r in reports for a in r.anomalies) if any(
            r.anomalies for r in reports) else 0.0,
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


def seed_line(seed, name, rep, seconds) -> str:
    return (f"{seed:>6} {name:>8} {rep.detected:>4}/{len(rep.scored):<4} "
            f"{rep.exact:>6} {fmt(rep.latency_median, 0, 's'):>8} "
            f"{fmt(rep.latency_max, 0, 's'):>8} "
            f"{fmt(rep.burst_from_start_max, 0, 's'):>6} {rep.incidents:>7} "
            f"{rep.false_positives:>5} {rep.fp_rate:>6.1%} "
            f"{rep.confounder_incidents:>5} {rep.per_anomaly_max:>7} {seconds:>5.1f}s")


SEED_HEADER = (f"{'seed':>6} {'rules':>8} {'det/able':>9} {'exact':>6} {'lat med':>8} "
               f"{'lat max':>8} {'burst':>6} {'incid.':>7} {'FP':>5} {'FP %':>6} {'conf':>5} "
               f"{'max/an':>7} {'time':>6}")


def by_kind(reports) -> dict[str, dict]:
    """Per anomaly kind: how many, detected, median and worst latency (from the third
    failure; bursts also from the start), and which anomaly was the worst."""
    groups: dict[str, list] = defaultdict(list)
    for r in reports:
        for a in r.anomalies:
            groups[a.kind].append(a)
    out = {}
    for kind, items in sorted(groups.items()):
        scored = [a for a in items if a.detectable]
        lat = [(a.latency_s, a.id) for a in scored if a.latency_s is not None]
        start = [(a.from_start_s, a.id) for a in scored
                 if a.expected_type == "burst" and a.from_start_s is not None]
        worst = max(lat) if lat else None
        worst_start = max(start) if start else None
        out[kind] = {
            "anomalies": len(items), "detectable": len(scored),
            "detected": sum(a.detected for a in scored),
            "median": statistics.median(v for v, _ in lat) if lat else None,
            "max": worst[0] if worst else None, "worst": worst[1] if worst else "-",
            "start_max": worst_start[0] if worst_start else None,
            "start_worst": worst_start[1] if worst_start else None,
            "per_anomaly_max": max(a.related for a in items),
        }
    return out


def print_kinds(title: str, kinds: dict[str, dict]) -> None:
    print(f"\n{title}: worst case per anomaly kind (latency from the 3rd failed delivery)")
    print(f"  {'kind':<16} {'det/able':>9} {'median':>7} {'worst':>7} {'burst from start':>17} "
          f"{'max/an':>7}  worst anomaly")
    for kind, k in kinds.items():
        start = fmt(k["start_max"], 0, " s") if k["start_max"] is not None else "-"
        worst = k["worst"] if k["start_worst"] is None else (
            f"{k['worst']}; from start: {k['start_worst']}")
        print(f"  {kind:<16} {k['detected']:>4}/{k['detectable']:<4} "
              f"{fmt(k['median'], 0, ' s'):>7} {fmt(k['max'], 0, ' s'):>7} {start:>17} "
              f"{k['per_anomaly_max']:>7}  {worst}")


def seed_list(seeds: list[int]) -> str:
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def checks(g: dict, kinds: dict[str, dict], label: str,
           literal: dict | None = None) -> list[tuple]:
    """(label, passed, measured, target, unit, reference) per target; ``literal``: the
    same weeks' totals under the literal seed rules, the reference where there is one."""
    worst = max((k["max"] for k in kinds.values() if k["max"] is not None), default=0)
    worst_kind = max((k for k in kinds.values() if k["max"] is not None),
                     key=lambda k: k["max"], default=None)
    burst = max((k["start_max"] for name, k in kinds.items()
                 if k["start_max"] is not None and name not in FROM_START_EXEMPT), default=0)
    exempt = [f"{name} {fmt(k['start_max'], 0, ' s')}" for name, k in kinds.items()
              if name in FROM_START_EXEMPT and k["start_max"] is not None]

    def lit(key, pattern):
        return None if literal is None else "literal seed rules " + show(literal[key], pattern)

    return [
        (f"{label}: every detectable anomaly detected", g["detected"] == g["detectable"],
         g["detectable"] - g["detected"], "== 0", "missed",
         f"{g['detected']}/{g['detectable']} detected"
         + (f"; {lit('detected', '{}')} detected" if literal else "")),
        (f"{label}: latency median <= 60 s", (g["lat_median"] or 0) <= 60, g["lat_median"],
         "<= 60", "s", lit("lat_median", "{:.0f} s")),
        (f"{label}: every anomaly <= {TARGET_S} s after its 3rd failure", worst <= TARGET_S,
         worst, f"<= {TARGET_S}", "s",
         f"worst {worst_kind['worst']}" if worst_kind else None),
        (f"{label}: every burst <= {TARGET_S} s from its start", burst <= TARGET_S, burst,
         f"<= {TARGET_S}", "s",
         f"not held to it: {', '.join(exempt)}" if exempt else None),
        (f"{label}: false positives < 5 % of incidents", g["fp_rate"] < 0.05,
         g["fp_rate"] * 100, "< 5", "%",
         f"{g['fp']} of {g['incidents']}" + (f"; {lit('fp_rate', '{:.1%}')}" if literal
                                             else "")),
        (f"{label}: no incident from confounders", g["confounder"] == 0, g["confounder"],
         "== 0", "", lit("confounder", "{}")),
        (f"{label}: <= 3 incidents per anomaly", g["per_anomaly_max"] <= 3,
         g["per_anomaly_max"], "<= 3", "", lit("per_anomaly_max", "{}")),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[42, 7, 123],
                        help="simulator seeds (none: skip the simulator set)")
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--small-seeds", type=int, nargs="*",
                        default=[11, 12, 13, 14, 15, 16, 17, 18],
                        help="small-target seeds (none: skip the set; 1-4 were used to tune)")
    parser.add_argument("--speed-deliveries", type=int, default=1_000_000)
    parser.add_argument("--no-speed", action="store_true", help="skip the 1M speed run")
    parser.add_argument("--verbose", action="store_true",
                        help="list every anomaly's latency and every false positive")
    args = _report.parse_args(parser, {"seeds": [42], "small_seeds": [11, 12, 13, 14],
                                       "speed_deliveries": 250_000})
    guarded = Settings().detector
    literal = guarded.model_copy(update={"mode": "literal"})
    ok = True
    results = []
    seed_seconds = []
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        directory = Path(tmp)
        if args.seeds:
            reports = {"guarded": [], "literal": []}
            print(f"1. Simulator: 7 days at 30-s steps, {args.deliveries:,} simulated "
                  f"deliveries per seed, seeds {args.seeds}")
            print(SEED_HEADER)
            for seed in args.seeds:
                engine, _ = make_store(directory, seed, args.deliveries)
                for name, settings in (("guarded", guarded), ("literal", literal)):
                    rep, seconds = evaluate(engine, settings)
                    reports[name].append(rep)
                    if name == "guarded":
                        seed_seconds.append(seconds)
                    print(seed_line(seed, name, rep, seconds))
                engine.dispose()
            g, lit = totals(reports["guarded"]), totals(reports["literal"])
            print("\nAll seeds together          guarded rules     literal seed rules")
            for label, key, pattern in ROWS:
                print(f"  {label:<34} {show(g[key], pattern):>12} "
                      f"{show(lit[key], pattern):>18}")
            kinds = by_kind(reports["guarded"])
            print_kinds("Simulator, guarded rules", kinds)
            results += checks(g, kinds, f"simulator, {seed_list(args.seeds)}", lit)
            if args.verbose:
                verbose(reports["guarded"])

        if args.small_seeds:
            print(f"\n2. Small targets: synthetic weeks, 30-s steps, seeds {args.small_seeds}")
            print(SEED_HEADER.replace("  time", "  time") + "  deliveries")
            small = []
            for seed in args.small_seeds:
                rows, truth, n = small_case(seed)
                rep, seconds = evaluate_small(rows, truth, guarded)
                small.append(rep)
                print(seed_line(seed, "guarded", rep, seconds) + f"  {n:>10,}")
            g = totals(small)
            print("\nAll seeds together          guarded rules")
            for label, key, pattern in ROWS:
                print(f"  {label:<34} {show(g[key], pattern):>12}")
            kinds = by_kind(small)
            print_kinds("Small targets", kinds)
            results += checks(g, kinds, f"small targets, {seed_list(args.small_seeds)}")
            if args.verbose:
                verbose(small)

        print()
        for label, passed, measured, target, unit, reference in results:
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'}  {label}")
            _report.figure(label, measured, target, unit, passed=passed, reference=reference)

        if not args.no_speed:
            engine, sim_s = make_store(directory, (args.seeds or [42])[0],
                                       args.speed_deliveries)
            rep, seconds = evaluate(engine, guarded)
            engine.dispose()
            passed = seconds < 60
            ok &= passed
            print(f"\nSpeed: {args.speed_deliveries:,} deliveries (simulated in {sim_s:.0f} s): "
                  f"7-day backtest at 30-s steps (20,161 ticks) in {seconds:.1f} s "
                  f"(one aggregate query + count arrays)")
            print(f"       on it: {rep.detected}/{len(rep.scored)} detected, median latency "
                  f"{fmt(rep.latency_median, 0, ' s')}, worst {fmt(rep.latency_max, 0, ' s')}, "
                  f"{rep.false_positives} false positives of {rep.incidents}")
            print(f"{'PASS' if passed else 'FAIL'}  backtest of 7 days over "
                  f"{args.speed_deliveries:,} deliveries < 60 s")
            _report.figure(f"7-day backtest at 30-s steps over {args.speed_deliveries:,} "
                           "deliveries", seconds, "< 60", "s", passed=passed,
                           reference=f"over {args.deliveries:,}: "
                                     f"{statistics.median(seed_seconds):.1f} s (median, "
                                     f"{seed_list(args.seeds)})" if seed_seconds else None)
    return 0 if ok else 1


def verbose(reports) -> None:
    for r in reports:
        for a in r.anomalies:
            print(f"    {a.id:<32} {a.kind:<16} detectable={a.detectable!s:<5} "
                  f"latency={fmt(a.latency_s, 0, 's'):>6} from start="
                  f"{fmt(a.from_start_s, 0, 's'):>6} incidents={a.related}")
        for inc in r.fp_examples:
            print(f"    FP {inc['type']:<15} {inc['target']:<45} {inc['detected_at']} "
                  f"peak {inc.get('peak_failures')}")


if __name__ == "__main__":
    raise SystemExit(main())
