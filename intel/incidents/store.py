"""Incidents in the database: applying lifecycle transitions, acknowledging, reading back.

Every audited transition is written through ``intel.audit.record`` in the same
transaction as the change (actor ``system`` for the worker, the operator for an
acknowledgement), as ``incident.<kind>``. The worker owns the detection columns and the
operator the acknowledgement columns, so neither overwrites the other's change.

Tenant (CONTRACTS §6): an incident's ``tenant`` is set when it is opened — a tenant
spike's target; for an endpoint spike the one tenant that has ever delivered to that
endpoint (NULL when several share it); NULL for a burst. A tenant-scoped identity sees
and acknowledges only incidents of its tenants; any other is "no incident", as if it did
not exist. The audit entries of an incident carry its tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, Engine, and_, select, update

from intel.audit import SYSTEM, record
from intel.auth.scope import ALL, TenantScope
from intel.incidents.lifecycle import (
    AcknowledgeError,
    Incident,
    Transition,
    acknowledge,
)
from intel.redact import redact_text, redact_url
from intel.store.schema import deliveries, incidents

log = logging.getLogger(__name__)

WORKER_COLUMNS = (
    "severity", "status", "current_failures", "peak_failures", "baseline", "updated_at",
    "normal_since", "resolved_at", "details", "peak_at", "peak_window_s", "peak_baseline",
)
ACK_COLUMNS = ("acknowledged_at", "acknowledged_by", "ack_note", "updated_at")


def load_active(conn: Connection) -> dict[str, Incident]:
    """Active incidents by dedup key."""
    rows = conn.execute(select(incidents).where(incidents.c.status == "active")).mappings()
    out = {}
    for row in rows:
        incident = Incident.from_row(row)
        out[incident.dedup_key] = incident
    return out


def recently_resolved(conn: Connection, since: datetime, until: datetime) -> dict[str, datetime]:
    """dedup key -> resolved at, for incidents resolved in ``[since, until]``."""
    rows = conn.execute(
        select(incidents.c.dedup_key, incidents.c.resolved_at).where(
            incidents.c.status == "resolved", incidents.c.resolved_at >= since,
            incidents.c.resolved_at <= until)
    )
    out: dict[str, datetime] = {}
    for key, at in rows:
        out[key] = max(at, out.get(key, at))
    return out


def get_incident(
    conn: Connection, incident_id: str, *, scope: TenantScope = ALL
) -> Incident | None:
    """One incident; None when there is none or it is outside ``scope``."""
    row = conn.execute(
        select(incidents).where(incidents.c.id == incident_id, *scope.where(incidents.c.tenant))
    ).mappings().first()
    return Incident.from_row(row) if row else None


def sole_tenant(conn: Connection, endpoint: str) -> str | None:
    """The tenant of every delivery to ``endpoint``; None when there are several or none.

    The first and the last tenant in (endpoint, tenant) order, one index probe each
    (``ix_deliveries_endpoint_tenant``): run on the detector's tick that opens an endpoint
    spike, it must not read the endpoint's every delivery. (One ``min``/``max`` query
    would: SQLite only takes the index for a lone ``min`` or ``max``.)"""
    def end(order) -> str | None:
        return conn.execute(
            select(deliveries.c.tenant).where(deliveries.c.endpoint == endpoint)
            .order_by(order).limit(1)
        ).scalar()

    low = end(deliveries.c.tenant.asc())
    if low is None:
        return None
    return low if end(deliveries.c.tenant.desc()) == low else None


def incident_tenant(conn: Connection, incident: Incident) -> str | None:
    """The tenant an incident concerns (see the module docstring)."""
    if incident.type == "tenant_spike":
        return incident.target
    if incident.type == "endpoint_spike":
        return sole_tenant(conn, incident.target)
    return None


def _summary(kind: str, incident: Incident) -> str:
    verbs = {
        "open": "opened", "escalate": "escalated to critical", "settle": "back to normal, settling",
        "relapse": "abnormal again", "resolve": "resolved", "acknowledge": "acknowledged",
    }
    return redact_text(  # an endpoint target's user:password is never shown
        f"{incident.type} on {incident.target} {verbs.get(kind, kind)}: {incident.headline}"
    )


def _audit(conn: Connection, transition: Transition, at: datetime, via: str | None = None
           ) -> None:
    incident = transition.incident
    details = {
        "type": incident.type,
        "target": redact_url(incident.target),  # shown on the audit page: no user:password
        "severity": incident.severity,
        "status": incident.status,
        "current_failures": incident.current_failures,
        "baseline": round(incident.baseline, 4),
    }
    if transition.kind == "acknowledge":
        details["note"] = incident.ack_note
        if via:
            details["via"] = via  # banner | anomalies_page | api: the adoption figures
    record(
        conn,
        actor=transition.actor,
        action=f"incident.{'ack' if transition.kind == 'acknowledge' else transition.kind}",
        at=at,
        target_type="incident",
        target_id=incident.id,
        summary=_summary(transition.kind, incident),
        details=details,
        tenant=incident.tenant,
    )


def apply_transitions(conn: Connection, transitions: Iterable[Transition], at: datetime) -> list:
    """Persist one tick's transitions (in the caller's transaction) and audit them.

    Returns the transitions actually applied (an "open" whose key is already active in
    the database — another writer, or a replayed tick — is skipped and logged).
    """
    transitions = list(transitions)
    # An opened incident learns its tenant here (an endpoint spike's needs the deliveries).
    tenants = {
        t.incident.id: incident_tenant(conn, t.incident) for t in transitions if t.kind == "open"
    }
    transitions = [
        replace(t, incident=replace(t.incident, tenant=tenants[t.incident.id]))
        if t.incident.id in tenants else t
        for t in transitions
    ]
    final: dict[str, Incident] = {}
    for t in transitions:
        final[t.incident.id] = t.incident
    skipped: set[str] = set()
    for t in transitions:
        if t.kind != "open":
            continue
        inc = t.incident
        exists = conn.execute(
            select(incidents.c.id).where(
                (incidents.c.id == inc.id)
                | and_(incidents.c.dedup_key == inc.dedup_key, incidents.c.status == "active")
            )
        ).first()
        if exists is not None:
            log.info("incident %s already open (%s): not opening it again",
                     redact_text(inc.dedup_key), exists[0])
            skipped.add(inc.id)
            continue
        conn.execute(incidents.insert().values(**final[inc.id].as_row()))
    written = {t.incident.id for t in transitions if t.kind == "open"}
    for incident_id, inc in final.items():
        if incident_id in written or incident_id in skipped:
            continue
        row = inc.as_row()
        conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(**{c: row[c] for c in WORKER_COLUMNS})
        )
    applied = [t for t in transitions if t.incident.id not in skipped]
    for t in applied:
        if t.audited:
            _audit(conn, t, at)
    return applied


def acknowledge_incident(
    engine: Engine, incident_id: str, operator: str, note: str, now: datetime,
    *, via: str | None = None, scope: TenantScope = ALL,
) -> Incident:
    """"Mark as known issue": the incident stays active and tracked; audited as
    ``incident.ack`` with the operator and where it was done (``via``: banner,
    anomalies_page, api). Raises ``AcknowledgeError`` when it cannot; an incident outside
    ``scope`` is "no incident", exactly like a missing one."""
    with engine.begin() as conn:
        current = get_incident(conn, incident_id, scope=scope)
        if current is None:
            raise AcknowledgeError(f"no incident {incident_id!r}")
        transition = acknowledge(current, operator, note, now)
        row = transition.incident.as_row()
        result = conn.execute(
            update(incidents)
            .where(incidents.c.id == incident_id, incidents.c.acknowledged_at.is_(None),
                   incidents.c.status == "active")
            .values(**{c: row[c] for c in ACK_COLUMNS})
        )
        if result.rowcount != 1:
            raise AcknowledgeError(f"incident {incident_id} changed meanwhile; reload it")
        _audit(conn, transition, now, via=via)
        return transition.incident


__all__ = [
    "SYSTEM",
    "AcknowledgeError",
    "acknowledge_incident",
    "apply_transitions",
    "get_incident",
    "incident_tenant",
    "load_active",
    "recently_resolved",
    "sole_tenant",
]
