"""An incident history for data that arrived without a detector watching it.

``python -m intel demo seed`` writes a simulated week in one go; the worker only ever
looks at "now", so the week's Anomalies history would be empty beside a timeline full of
the simulator's outages and bursts. ``record_history`` runs the detector over that span
(the backtest, ``intel.backtest``: the worker's own ``evaluate`` and ``advance``,
tick by tick) and writes what it found as real incidents, each audited as the system at
the instants it happened (``incident.open`` at detection, ``incident.resolve`` when it
resolved), with the triage breakdown of the failures behind it, as the worker does.

Idempotent: only a span with no incident stored yet is backfilled (the live worker, or
an earlier run, owns any history there is), and incident ids are deterministic (key and
detection instant) on the worker's tick grid (multiples of the step, UTC). An incident
still active at the end of the span is written active: the worker takes it over on its
next tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from intel.audit import SYSTEM, record
from intel.incidents.enrich import triage_breakdown
from intel.incidents.lifecycle import Incident, Transition
from intel.incidents.store import apply_transitions
from intel.store.schema import incidents
from intel.timeutil import ensure_utc, to_rfc3339

log = logging.getLogger(__name__)

STEP_S = 30  # the backtest's tick (CONTRACTS §3 default)


@dataclass(frozen=True)
class HistoryResult:
    start: datetime
    end: datetime  # where the span ended (== start: nothing to do)
    found: int  # incidents the detector raised over the span
    written: int  # of them, written now (the others were already stored or active)
    active: int  # of those written, still active at the end of the span

    def describe(self) -> str:
        if self.end <= self.start:
            return "incident history already present; nothing to add"
        return (f"detector run over {to_rfc3339(self.start)} .. {to_rfc3339(self.end)}: "
                f"{self.found} incidents, {self.written} written ({self.active} still active)")


def _opened(final: Incident) -> Incident:
    """The incident as it was when it opened (its figures then), for the open audit."""
    facts = final.details.get("opened") or {}
    failures = int(facts.get("failures", final.peak_failures))
    return replace(
        final, status="active", resolved_at=None, normal_since=None,
        current_failures=failures, peak_failures=failures,
        baseline=float(facts.get("expected", final.baseline)), updated_at=final.detected_at,
        peak_at=final.detected_at, peak_window_s=facts.get("window_s", final.peak_window_s),
        peak_baseline=facts.get("expected", final.peak_baseline),
    )


def _with_triage(conn, incident: Incident) -> Incident:
    window_s = int((incident.details.get("opened") or {}).get("window_s", 300))
    at = incident.peak_at or incident.detected_at
    try:
        breakdown = triage_breakdown(conn, incident.type, incident.target, at, window_s)
    except Exception as exc:  # triage must never stop the history
        log.warning("triage breakdown of %s failed: %s", incident.id, exc)
        return incident
    return replace(incident, details={**incident.details, "triage": breakdown})


def has_history(engine: Engine, start: datetime, end: datetime) -> bool:
    """Is any incident stored as detected in ``[start, end]``?"""
    with engine.connect() as conn:
        return conn.execute(
            select(incidents.c.id).where(
                incidents.c.detected_at >= start, incidents.c.detected_at <= end).limit(1)
        ).first() is not None


def record_history(engine: Engine, start: datetime, end: datetime, settings, *,
                   now: datetime, step_s: int = STEP_S) -> HistoryResult:
    """Run the detector (``settings``: a ``DetectorSettings``) over ``[start, end]`` and
    store the incidents it raises (see the module docstring); ``now`` stamps the summary
    audit entry."""
    from intel.backtest import backtest_store

    start, end = _on_grid(ensure_utc(start), step_s), _on_grid(ensure_utc(end), step_s)
    if end - start < timedelta(seconds=step_s) or has_history(engine, start, end):
        return HistoryResult(start, start, 0, 0, 0)
    stop = end
    with engine.connect() as conn:
        result = backtest_store(conn, start, stop, step_s, settings)
    written = active = 0
    with engine.begin() as conn:
        for final in result.incidents:
            final = _with_triage(conn, final)
            opened = _opened(final)
            applied = apply_transitions(conn, [Transition("open", opened)], final.detected_at)
            if not applied:
                continue  # already stored, or its key is active (the worker's)
            written += 1
            if final.is_active:
                active += 1
                if final != opened:  # its figures at the end of the span
                    apply_transitions(conn, [Transition("update", final, opened)], stop)
            else:
                apply_transitions(conn, [Transition("resolve", final, opened)],
                                  final.resolved_at or stop)
        outcome = HistoryResult(start, stop, len(result.incidents), written, active)
        record(conn, actor=SYSTEM, action="detector.history", at=now, target_type="incidents",
               target_id=None, summary=outcome.describe(),
               details={"start": to_rfc3339(start), "end": to_rfc3339(stop),
                        "step_s": step_s, "found": outcome.found, "written": written,
                        "active": active})
    return outcome


def _on_grid(at: datetime, step_s: int) -> datetime:
    """``at`` floored to a multiple of ``step_s`` seconds (UTC epoch): the worker's ticks."""
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step_s, at.tzinfo)
