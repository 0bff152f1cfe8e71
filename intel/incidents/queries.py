"""Reading incidents: active ones, the banner's, history, and the API bodies.

``active_body`` and ``history_body`` are the ``GET /anomalies/active`` and
``GET /anomalies/history?since=`` responses: ``{"incidents": [...]}`` where each incident
has the seed's fields (``id``, ``type``, ``severity``, ``target``, ``current_failures``,
``baseline``, ``detected_at``, ``status``) plus ``resolved_at``, ``peak_failures``,
``headline``, ``acknowledged_at/_by``, ``ack_note``, ``duration_s`` and the ``triage``
breakdown of the failures behind it.

Every reader takes ``scope``: a tenant-scoped identity sees only incidents whose
``tenant`` is one of its tenants; bursts and shared endpoints' spikes (``tenant`` NULL)
are platform-wide, for identities without a tenant limit only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, case, select

from intel.auth.scope import ALL, TenantScope
from intel.incidents.lifecycle import Incident
from intel.store.schema import heartbeats, incidents
from intel.timeutil import ensure_utc, to_rfc3339
from intel.timewindows import lookback

_SEVERITY_ORDER = case((incidents.c.severity == "critical", 0), else_=1)


def active_incidents(
    conn: Connection, *, unacknowledged: bool = False, scope: TenantScope = ALL
) -> list[Incident]:
    """Active incidents (within ``scope``), critical first, newest first."""
    q = select(incidents).where(incidents.c.status == "active", *scope.where(incidents.c.tenant))
    if unacknowledged:
        q = q.where(incidents.c.acknowledged_at.is_(None))
    q = q.order_by(_SEVERITY_ORDER, incidents.c.detected_at.desc())
    return [Incident.from_row(r) for r in conn.execute(q).mappings()]


def banner_incidents(conn: Connection, *, scope: TenantScope = ALL) -> list[Incident]:
    """What the banner shows: active and not acknowledged (within ``scope``)."""
    return active_incidents(conn, unacknowledged=True, scope=scope)


def incident_history(
    conn: Connection,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
    *,
    scope: TenantScope = ALL,
) -> list[Incident]:
    """Incidents detected in ``[since, until)`` (within ``scope``), newest first (any
    status)."""
    q = select(incidents).where(*scope.where(incidents.c.tenant))
    if since is not None:
        q = q.where(incidents.c.detected_at >= ensure_utc(since))
    if until is not None:
        q = q.where(incidents.c.detected_at < ensure_utc(until))
    q = q.order_by(incidents.c.detected_at.desc(), incidents.c.id).limit(limit)
    return [Incident.from_row(r) for r in conn.execute(q).mappings()]


def duration_s(incident: Incident, now: datetime) -> float:
    end = incident.resolved_at or now
    return max((end - incident.detected_at).total_seconds(), 0.0)


def incident_body(incident: Incident, now: datetime) -> dict:
    """One incident as the API and the backtest show it."""
    return {
        "id": incident.id,
        "type": incident.type,
        "severity": incident.severity,
        "target": incident.target,
        "current_failures": incident.current_failures,
        "baseline": round(float(incident.baseline), 3),
        "detected_at": to_rfc3339(incident.detected_at),
        "resolved_at": to_rfc3339(incident.resolved_at),
        "status": incident.status,
        "peak_failures": incident.peak_failures,
        "headline": incident.headline,
        "acknowledged_at": to_rfc3339(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "ack_note": incident.ack_note,
        "duration_s": round(duration_s(incident, now), 1),
        "triage": incident.details.get("triage"),
    }


def active_body(engine: Engine, now: datetime, *, scope: TenantScope = ALL) -> dict:
    """``GET /anomalies/active``."""
    with engine.connect() as conn:
        rows = active_incidents(conn, scope=scope)
    return {"incidents": [incident_body(i, now) for i in rows]}


def history_body(
    engine: Engine, now: datetime, since: datetime | None = None, limit: int = 500,
    *, scope: TenantScope = ALL,
) -> dict:
    """``GET /anomalies/history?since=`` (default: the last 7 days)."""
    since = since or now - lookback("7d").span
    with engine.connect() as conn:
        rows = incident_history(conn, since=since, limit=limit, scope=scope)
    return {"since": to_rfc3339(since), "incidents": [incident_body(i, now) for i in rows]}


def detector_heartbeat(conn: Connection, component: str = "detector") -> dict | None:
    row = conn.execute(
        select(heartbeats).where(heartbeats.c.component == component)
    ).mappings().first()
    return dict(row) if row else None
