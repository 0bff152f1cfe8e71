"""The backtest's run (CONTRACTS §3): the worker's detector over history, tick by tick.

All counts are loaded once (``intel.detect.source``) into cumulative sums
(``CumulativeCounts``); every tick's window counts are then differences of two columns.
A vectorised pre-filter over a day of ticks at a time finds the (tick, key) cells where a
rule's cheap conditions (minimum count, effect size) can hold; only those keys, plus the
targets of active incidents, are evaluated at that tick — by the same ``evaluate`` and
``advance`` the worker calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from intel.detect.counts import CumulativeCounts, bucket_of, snapshot_at
from intel.detect.evaluate import evaluate
from intel.detect.rules import LONGEST_LOOKBACK_S, LONGEST_SHORT_S, RULES, WINDOWS
from intel.detect.stats import opening_ratio
from intel.incidents.lifecycle import Incident, advance
from intel.settings.detector import DetectorSettings
from intel.timeutil import to_rfc3339

CHUNK_TICKS = 2880
RECENT_S = LONGEST_SHORT_S


@dataclass
class BacktestResult:
    incidents: list[Incident]
    ticks: int
    evaluated_ticks: int
    seconds: float

    def to_json(self) -> dict:
        return {"incidents": [contract_incident(i) for i in self.incidents]}


def contract_incident(incident: Incident) -> dict:
    """One incident in the CONTRACTS §3 shape (figures at detection), plus a few extras."""
    opened = incident.details.get("opened") or {}
    return {
        "id": incident.id,
        "type": incident.type,
        "severity": incident.severity,
        "target": incident.target,
        "current_failures": int(opened.get("failures", incident.current_failures)),
        "baseline": round(float(opened.get("expected", incident.baseline)), 3),
        "detected_at": to_rfc3339(incident.detected_at),
        "resolved_at": to_rfc3339(incident.resolved_at),
        "status": incident.status,
        "peak_failures": incident.peak_failures,
        "headline": opened.get("headline"),
    }


def _candidates(counts: CumulativeCounts, scope: str, hi: np.ndarray,
                settings: DetectorSettings, first: int, p_ref: np.ndarray) -> np.ndarray:
    """Boolean (keys, ticks): where some rule of ``scope`` could fire."""
    size = counts.bucket_s
    mask = None
    for rule in RULES:
        if rule.scope != scope:
            continue
        limits = rule.thresholds(settings)
        multiple, minimum = limits.multiple, limits.min_failures
        b_start, b_stop = WINDOWS[rule.baseline]
        b_lo = np.maximum(hi - b_start // size, first)
        b_hi = np.maximum(hi - b_stop // size, b_lo)
        fb = counts.window_matrix(scope, b_lo, b_hi, "fail").astype(np.float64)
        if settings.mode == "literal":
            span = np.maximum((b_hi - b_lo) * size, 1)
            rate = fb / span
        else:
            nb = counts.window_matrix(scope, b_lo, b_hi, "total").astype(np.float64)
            w = settings.prior_weight
            p0 = (fb + w * p_ref) / np.maximum(nb + w, 1e-9)
            r_open = opening_ratio(p0, multiple, settings.saturation_ratio)
        windows = rule.windows[:1] if settings.mode == "literal" else rule.windows
        for name in windows:
            start, stop = WINDOWS[name]
            lo = np.maximum(hi - start // size, first)
            w_hi = np.maximum(hi - stop // size, lo)
            c = counts.window_matrix(scope, lo, w_hi, "fail")
            if settings.mode == "literal":
                hit = c > multiple * rate * rule.window_s(name)
            else:
                n = counts.window_matrix(scope, lo, w_hi, "total")
                hit = (c >= max(minimum, 1)) & (c >= r_open * n)
            mask = hit if mask is None else mask | hit
    return mask


def run_backtest(
    counts: CumulativeCounts,
    start: datetime,
    end: datetime,
    step_s: int,
    settings: DetectorSettings,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Tick every ``step_s`` from ``start`` to ``end`` (inclusive when on a step)."""
    began = time.perf_counter()
    size = counts.bucket_s
    if step_s % size:
        raise ValueError(f"step {step_s}s is not a multiple of the {size}-s buckets")
    t0, t1 = int(start.timestamp()), int(end.timestamp())
    ticks = np.arange(t0, t1 + 1, step_s, dtype=np.int64)
    first = counts.first_bucket()
    row_of = {scope: {k: i for i, k in enumerate(counts.keys(scope))}
              for scope in ("endpoint", "tenant")}
    t_index = row_of["tenant"]
    tenants_of: list[list[int]] = [
        [t_index[t] for t in counts.endpoint_tenants().get(url, ()) if t in t_index]
        for url in counts.keys("endpoint")
    ]
    endpoints_of: list[list[int]] = [[] for _ in counts.keys("tenant")]
    for e, owners in enumerate(tenants_of):
        for t in owners:
            endpoints_of[t].append(e)
    active: dict[str, Incident] = {}
    recent: dict[str, datetime] = {}
    every: dict[str, Incident] = {}
    evaluated = 0
    for c0 in range(0, len(ticks), CHUNK_TICKS):
        chunk = ticks[c0 : c0 + CHUNK_TICKS]
        hi = np.array([bucket_of(t, size, counts.offset) for t in chunk], dtype=np.int64)
        # the platform's 24-h and 1-h ratios per tick: the prior of the spike rules
        p_ref = {}
        for base in {rule.baseline for rule in RULES}:
            b_start, b_stop = WINDOWS[base]
            b_lo = np.maximum(hi - b_start // size, first)
            b_hi = np.maximum(hi - b_stop // size, b_lo)
            pf = counts.window_matrix("platform", b_lo, b_hi, "fail")[0].astype(np.float64)
            pn = counts.window_matrix("platform", b_lo, b_hi, "total")[0].astype(np.float64)
            p_ref[base] = (pf + 0.5) / (pn + 1.0)
        cand = {}
        for scope in ("platform", "endpoint", "tenant"):
            base = next(r.baseline for r in RULES if r.scope == scope)
            mask = _candidates(counts, scope, hi, settings, first, p_ref[base])
            cand[scope] = mask
        platform_hit = cand["platform"][0] if len(cand["platform"]) else np.zeros(len(chunk), bool)
        per_tick = {}
        for scope in ("endpoint", "tenant"):
            tick_idx, key_idx = np.nonzero(cand[scope].T)
            splits = np.searchsorted(tick_idx, np.arange(len(chunk) + 1))
            per_tick[scope] = (key_idx, splits)
        for j, t in enumerate(chunk.tolist()):
            rows = {}
            any_candidate = bool(platform_hit[j])
            for scope in ("endpoint", "tenant"):
                key_idx, splits = per_tick[scope]
                rows[scope] = key_idx[splits[j] : splits[j + 1]]
                any_candidate |= len(rows[scope]) > 0
            if not any_candidate and not active:
                continue
            for incident in active.values():
                scope = {"endpoint_spike": "endpoint", "tenant_spike": "tenant"}.get(
                    incident.type
                )
                if scope is not None:
                    row = row_of[scope].get(incident.target)
                    if row is not None:
                        rows[scope] = np.append(rows[scope], row)
            # relatives: a candidate tenant's endpoints, a candidate endpoint's tenants
            if len(rows["tenant"]) or len(rows["endpoint"]):
                extra_e = [e for t in rows["tenant"].tolist() for e in endpoints_of[t]]
                extra_t = [t for e in rows["endpoint"].tolist() for t in tenants_of[e]]
                rows["endpoint"] = np.append(rows["endpoint"], extra_e).astype(np.int64)
                rows["tenant"] = np.append(rows["tenant"], extra_t).astype(np.int64)
            rows = {scope: np.unique(r) for scope, r in rows.items()}
            rows["platform"] = None
            snapshot = snapshot_at(counts, float(t), rows)
            frozen = {k: i.frozen_baseline() for k, i in active.items()}
            now = datetime.fromtimestamp(t, UTC)
            recent = {k: at for k, at in recent.items()
                      if (now - at).total_seconds() < RECENT_S}
            signals = evaluate(snapshot, settings, {k: b for k, b in frozen.items() if b},
                               recent)
            step = advance(active, signals, now, settings.settle_s)
            for transition in step.transitions:
                every[transition.incident.id] = transition.incident
                if transition.kind == "resolve":
                    recent[transition.incident.dedup_key] = now
            active = step.active
            evaluated += 1
        if progress is not None:
            progress(min(c0 + CHUNK_TICKS, len(ticks)), len(ticks))
    incidents = sorted(every.values(), key=lambda i: (i.detected_at, i.type, i.target))
    return BacktestResult(
        incidents=incidents,
        ticks=len(ticks),
        evaluated_ticks=evaluated,
        seconds=time.perf_counter() - began,
    )


def counts_for(rows, start: datetime, end: datetime, bucket_s: int, offset: int = 0
               ) -> CumulativeCounts:
    """Cumulative counts covering the look-back before ``start`` up to ``end`` (history
    starts with the first delivery, not before)."""
    lo = start.timestamp() - LONGEST_LOOKBACK_S
    first = bucket_of(lo, bucket_s, offset)
    if len(rows):
        first = max(first, int(rows.bucket.min()))
    last = bucket_of(end.timestamp(), bucket_s, offset) + 1
    return CumulativeCounts(rows, first, last, bucket_s, offset)


def backtest_store(conn, start: datetime, end: datetime, step_s: int,
                   settings: DetectorSettings) -> BacktestResult:
    """The backtest over a store: one aggregate query, then ``run_backtest``."""
    from datetime import timedelta

    from intel.detect.counts import bucket_size_for
    from intel.detect.source import rows_from_db

    bucket = bucket_size_for(step_s)
    offset = int(start.timestamp()) % bucket
    rows = rows_from_db(conn, start - timedelta(seconds=LONGEST_LOOKBACK_S), end, bucket,
                        offset)
    return run_backtest(counts_for(rows, start, end, bucket, offset), start, end, step_s,
                        settings)
