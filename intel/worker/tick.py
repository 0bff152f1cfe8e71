"""One detector tick against the database: refresh counts, decide, persist.

``Detector`` is the leader's state between ticks (the rolling bucket counts). A tick at
instant ``at`` (a bucket boundary):

1. refreshes the counts (the whole look-back the first time; afterwards the recent span
   and one older verification slice — ``intel.worker.counts``);
2. loads the active incidents (the database is the source of truth, so a takeover or a
   replayed tick continues where the last one stopped);
3. evaluates the rules at ``at`` (``intel.detect.evaluate``, the backtest's code) and
   advances the lifecycle (``intel.incidents.lifecycle``);
4. adds the triage breakdown to each active incident and writes the transitions, audited,
   in the caller's transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from intel.detect.counts import bucket_of, bucket_size_for, snapshot_at
from intel.detect.evaluate import evaluate
from intel.detect.rules import LONGEST_LOOKBACK_S, LONGEST_SHORT_S
from intel.detect.source import rows_from_db
from intel.incidents.enrich import triage_breakdown
from intel.incidents.lifecycle import Transition, advance
from intel.incidents.store import apply_transitions, load_active, recently_resolved
from intel.store.schema import deliveries

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    at: datetime
    transitions: list[Transition]
    active: int
    timings_ms: dict = field(default_factory=dict)

    @property
    def notable(self) -> list[Transition]:
        return [t for t in self.transitions if t.audited]


def warm_up_triage() -> None:
    """Classify one failure so the triage engine's one-time set-up (rules, patterns) is
    paid by the cold first tick, not by the first tick that opens an incident."""
    import pandas as pd

    from intel.triage import classify_frame

    try:
        classify_frame(pd.DataFrame([{"status": "failed", "http_status": 503, "error": None,
                                      "response_body": "", "response_headers": None}]))
    except Exception as exc:  # triage must never stop detection
        log.warning("triage warm-up failed: %s", exc)


def _dt(bucket: int, size: int, offset: int = 0) -> datetime:
    return datetime.fromtimestamp(offset + bucket * size, UTC)


class Detector:
    def __init__(self, settings, interval_s: int):
        from intel.worker.counts import RollingCounts

        self.settings = settings
        self.bucket_s = bucket_size_for(interval_s)
        self._rolling_cls = RollingCounts
        self.counts = RollingCounts(self.bucket_s)
        self.loaded_until: int | None = None
        self._verify_next: int | None = None
        self.lookback_buckets = LONGEST_LOOKBACK_S // self.bucket_s + 2

    def reset(self) -> None:
        """Forget the counts (lost the lease: another worker's view is the truth now)."""
        self.counts = self._rolling_cls(self.bucket_s)
        self.loaded_until = None
        self._verify_next = None

    def refresh(self, conn: Connection, at: datetime) -> dict:
        size = self.bucket_s
        end = bucket_of(at.timestamp(), size)
        horizon = end - self.lookback_buckets
        info: dict = {}
        if self.loaded_until is None:
            rows = rows_from_db(conn, _dt(horizon, size), _dt(end, size), size)
            self.counts.replace(rows, horizon, end)
            earliest = conn.execute(select(func.min(deliveries.c.last_attempt_at))).scalar()
            start = bucket_of(earliest.timestamp(), size) if earliest else end
            self.counts.coverage_start = max(horizon, start)
            info["loaded_rows"] = len(rows)
            warm_up_triage()
        else:
            refresh_b = int(self.settings.worker.refresh_s // size) + 1
            lo = max(min(self.loaded_until, end) - refresh_b, horizon)
            rows = rows_from_db(conn, _dt(lo, size), _dt(end, size), size)
            self.counts.replace(rows, lo, end)
            info["refreshed_rows"] = len(rows)
            slice_b = int(self.settings.worker.verify_slice_s // size)
            if slice_b > 0 and lo > horizon:
                start = self._verify_next if self._verify_next is not None else horizon
                if start < horizon or start >= lo:
                    start = horizon
                stop = min(start + slice_b, lo)
                rows = rows_from_db(conn, _dt(start, size), _dt(stop, size), size)
                self.counts.replace(rows, start, stop)
                self._verify_next = stop
                info["verified_rows"] = len(rows)
        self.loaded_until = end
        self.counts.prune(horizon)
        return info

    def tick(self, conn: Connection, at: datetime) -> TickResult:
        timings = {}
        t0 = time.perf_counter()
        info = self.refresh(conn, at)
        t1 = time.perf_counter()
        active = load_active(conn)
        frozen = {k: b for k, i in active.items() if (b := i.frozen_baseline()) is not None}
        recent = recently_resolved(conn, at - timedelta(seconds=LONGEST_SHORT_S), at)
        snapshot = snapshot_at(self.counts, at.timestamp())
        signals = evaluate(snapshot, self.settings.detector, frozen, recent)
        step = advance(active, signals, at, self.settings.detector.settle_s)
        t2 = time.perf_counter()
        transitions = self._enrich(conn, step.transitions, at)
        t3 = time.perf_counter()
        applied = apply_transitions(conn, transitions, at)
        t4 = time.perf_counter()
        timings.update(refresh=(t1 - t0) * 1000, evaluate=(t2 - t1) * 1000,
                       triage=(t3 - t2) * 1000, persist=(t4 - t3) * 1000)
        timings.update({k: v for k, v in info.items()})
        return TickResult(at=at, transitions=applied, active=len(step.active),
                          timings_ms=timings)

    def _enrich(self, conn: Connection, transitions: list[Transition], at: datetime):
        breakdowns: dict[str, dict] = {}
        out = []
        for t in transitions:
            inc = t.incident
            if inc.id not in breakdowns:
                window_s = int((inc.details.get("last") or {}).get("window_s", 300))
                try:
                    breakdowns[inc.id] = triage_breakdown(conn, inc.type, inc.target, at,
                                                          window_s)
                except Exception as exc:  # triage must never stop detection
                    log.warning("triage breakdown of %s failed: %s", inc.id, exc)
                    breakdowns[inc.id] = inc.details.get("triage") or {}
            breakdown = breakdowns[inc.id]
            if breakdown.get("failures") or "triage" not in inc.details:
                inc = replace(inc, details={**inc.details, "triage": breakdown})
            out.append(replace(t, incident=inc))
        return out
