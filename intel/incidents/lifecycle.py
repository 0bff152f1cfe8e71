"""Incident lifecycle as pure state transitions (no clock, no database).

One incident per (type, target) while the anomaly lasts: its ``dedup_key``. States::

    (none) --open--> active/firing --settle--> active/settling --resolve--> resolved
                        ^   |                        |
                        |   +--escalate (warning -> critical, never back)
                        +------------relapse---------+

* open: a signal opens (fires, not inhibited) and no incident with its key is active.
* update: every tick an active incident takes the current numbers (failures, expected
  baseline, severity) and, when they are its highest yet, they become its peak (when,
  window, failures, expected: what its headline says — ``intel.incidents.headline``);
  not a transition in the audit sense. Settling is "recovering" to a reader.
* escalate: its severity rises from warning to critical.
* settle: its rule is no longer abnormal: ``normal_since`` is set.
* relapse: abnormal again while settling: ``normal_since`` is cleared.
* resolve: normal for ``settle_s`` seconds: status resolved, ``resolved_at`` set.
* acknowledge: an operator marks it a known issue (with a note). It stays active and
  tracked; the banner no longer shows it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from intel.detect.signals import Baseline, Signal
from intel.incidents.headline import RECOVERING, headline_of, incident_state

AUDITED = ("open", "escalate", "settle", "relapse", "resolve", "acknowledge")
SEVERITY_RANK = {"warning": 0, "critical": 1}


@dataclass(frozen=True)
class Incident:
    id: str
    dedup_key: str
    type: str
    target: str
    severity: str
    status: str  # active | resolved
    current_failures: int
    peak_failures: int
    baseline: float
    detected_at: datetime
    updated_at: datetime
    normal_since: datetime | None = None
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    ack_note: str | None = None
    details: dict = field(default_factory=dict)
    # The one tenant it concerns (a tenant spike's target; an endpoint spike's tenant is
    # found from the deliveries when it is stored); None: platform-wide or shared, seen
    # only by identities without a tenant limit.
    tenant: str | None = None
    # Its peak: when the most failures were seen in its window, that window's length and
    # the failures expected then (its ratio to normal is peak_failures / peak_baseline).
    peak_at: datetime | None = None
    peak_window_s: int | None = None
    peak_baseline: float | None = None

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def frozen_baseline(self) -> Baseline | None:
        return Baseline.from_dict(self.details.get("baseline") or {})

    @property
    def state(self) -> str:
        """``active`` (abnormal), ``recovering`` (settling) or ``resolved``."""
        return incident_state(self.status, self.normal_since)

    @property
    def recovering(self) -> bool:
        return self.state == RECOVERING

    @property
    def headline(self) -> str:
        """Its figures at its peak and now (``intel.incidents.headline``)."""
        return headline_of(self)

    def as_row(self) -> dict:
        return {
            "id": self.id,
            "dedup_key": self.dedup_key,
            "type": self.type,
            "target": self.target,
            "severity": self.severity,
            "status": self.status,
            "current_failures": self.current_failures,
            "peak_failures": self.peak_failures,
            "baseline": self.baseline,
            "detected_at": self.detected_at,
            "updated_at": self.updated_at,
            "normal_since": self.normal_since,
            "resolved_at": self.resolved_at,
            "acknowledged_at": self.acknowledged_at,
            "acknowledged_by": self.acknowledged_by,
            "ack_note": self.ack_note,
            "details": self.details,
            "tenant": self.tenant,
            "peak_at": self.peak_at,
            "peak_window_s": self.peak_window_s,
            "peak_baseline": self.peak_baseline,
        }

    @classmethod
    def from_row(cls, row: Mapping) -> Incident:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__ if k in row}
                   | {"details": dict(row.get("details") or {})})


@dataclass(frozen=True)
class Transition:
    kind: str  # open | update | escalate | settle | relapse | resolve | acknowledge
    incident: Incident  # after the transition
    before: Incident | None = None
    actor: str = "system"

    @property
    def audited(self) -> bool:
        return self.kind in AUDITED


@dataclass
class Step:
    active: dict[str, Incident]
    transitions: list[Transition]

    def kinds(self) -> list[tuple[str, str]]:
        return [(t.kind, t.incident.dedup_key) for t in self.transitions]


def incident_id(dedup_key: str, detected_at: datetime) -> str:
    """Deterministic: the same episode detected at the same instant has the same id, so a
    replayed tick cannot create a second row."""
    digest = hashlib.sha1(f"{dedup_key}|{detected_at.isoformat()}".encode()).hexdigest()
    return f"inc-{digest[:16]}"


def _numbers(incident: Incident, signal: Signal, now: datetime, escalate: bool) -> Incident:
    details = dict(incident.details)
    details["last"] = signal.facts()
    severity = incident.severity
    if escalate and SEVERITY_RANK[signal.severity] > SEVERITY_RANK[severity]:
        severity = signal.severity
    # a new peak (the first of equal counts stays; one stored without its figures takes
    # the first tick that matches it)
    new_peak = signal.failures > incident.peak_failures or (
        incident.peak_at is None and signal.failures == incident.peak_failures)
    peak = _peak(signal, now) if new_peak else {}
    return replace(
        incident,
        current_failures=signal.failures,
        peak_failures=max(incident.peak_failures, signal.failures),
        baseline=signal.expected,
        severity=severity,
        updated_at=now,
        details=details,
        **peak,
    )


def _peak(signal: Signal, now: datetime) -> dict:
    return {"peak_at": now, "peak_window_s": signal.window_s, "peak_baseline": signal.expected}


def open_incident(signal: Signal, now: datetime) -> Incident:
    facts = signal.facts()
    return Incident(
        id=incident_id(signal.dedup_key, now),
        dedup_key=signal.dedup_key,
        type=signal.type,
        target=signal.target,
        severity=signal.severity,
        status="active",
        current_failures=signal.failures,
        peak_failures=signal.failures,
        baseline=signal.expected,
        detected_at=now,
        updated_at=now,
        details={"baseline": signal.baseline().to_dict(), "opened": facts, "last": facts},
        tenant=signal.target if signal.type == "tenant_spike" else None,
        **_peak(signal, now),
    )


def advance(
    active: Mapping[str, Incident],
    signals: Iterable[Signal],
    now: datetime,
    settle_s: float,
) -> Step:
    """One tick: ``active`` incidents (by dedup key) and this tick's signals -> next state."""
    by_key = {s.dedup_key: s for s in signals}
    nxt: dict[str, Incident] = {}
    transitions: list[Transition] = []
    for key, before in active.items():
        signal = by_key.get(key)
        abnormal = signal is not None and signal.abnormal
        if signal is not None:
            incident = _numbers(before, signal, now, escalate=abnormal)
        else:
            incident = replace(before, current_failures=0, updated_at=now)
        kinds: list[str] = []
        if incident.severity != before.severity:
            kinds.append("escalate")
        if abnormal:
            if incident.normal_since is not None:
                incident = replace(incident, normal_since=None)
                kinds.append("relapse")
        else:
            if incident.normal_since is None:
                incident = replace(incident, normal_since=now)
                kinds.append("settle")
            if (now - incident.normal_since).total_seconds() >= settle_s:
                incident = replace(incident, status="resolved", resolved_at=now)
                kinds.append("resolve")
        for kind in kinds or ["update"]:
            transitions.append(Transition(kind, incident, before))
        if incident.is_active:
            nxt[key] = incident
    for key, signal in by_key.items():
        if key in active or not signal.opens:
            continue
        incident = open_incident(signal, now)
        nxt[key] = incident
        transitions.append(Transition("open", incident, None))
    return Step(active=nxt, transitions=transitions)


class AcknowledgeError(ValueError):
    """The incident cannot be acknowledged (unknown, resolved, or a bad request)."""


def acknowledge(incident: Incident, operator: str, note: str, now: datetime) -> Transition:
    """Mark an active incident as a known issue. It stays active and tracked."""
    operator = (operator or "").strip()
    if not operator:
        raise AcknowledgeError("acknowledging needs an operator name")
    if not incident.is_active:
        raise AcknowledgeError(f"incident {incident.id} is already resolved")
    if incident.acknowledged:
        raise AcknowledgeError(
            f"incident {incident.id} was already acknowledged by {incident.acknowledged_by}"
        )
    after = replace(
        incident,
        acknowledged_at=now,
        acknowledged_by=operator,
        ack_note=(note or "").strip() or None,
        updated_at=max(incident.updated_at, now),
    )
    return Transition("acknowledge", after, incident, actor=operator)
