"""Data for the Anomalies page's timeline: failures per bucket, and incident spans.

Both take ``scope``: a tenant-scoped identity's timeline counts its tenants' deliveries
only and shows only its tenants' incidents (no platform-wide figure)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, case, func, or_, select

from intel.auth.scope import ALL, TenantScope
from intel.incidents.lifecycle import Incident
from intel.store.schema import deliveries, incidents
from intel.store.sqlfuncs import epoch_bucket, sql_int


def failures_per_bucket(conn: Connection, since: datetime, until: datetime,
                        bucket_s: int, *, scope: TenantScope = ALL) -> list[dict]:
    """``[{"at", "failures", "deliveries"}]`` per ``bucket_s`` bucket (one SQL aggregate,
    a range scan of ``last_attempt_at``, or of (tenant, last_attempt_at) when scoped)."""
    d = deliveries
    bucket = epoch_bucket(d.c.last_attempt_at, sql_int(bucket_s), sql_int(0))
    failed = func.sum(case((d.c.status == "failed", 1), else_=0))
    q = (
        select(bucket.label("b"), failed.label("failures"), func.count().label("n"))
        .where(d.c.last_attempt_at >= since, d.c.last_attempt_at < until,
               *scope.where(d.c.tenant))
        .group_by(bucket)
        .order_by(bucket)
    )
    return [
        {"at": datetime.fromtimestamp(int(b) * bucket_s, UTC), "failures": int(f or 0),
         "deliveries": int(n)}
        for b, f, n in conn.execute(q)
    ]


def incident_spans(conn: Connection, since: datetime, until: datetime,
                   *, scope: TenantScope = ALL) -> list[Incident]:
    """Incidents (within ``scope``) whose active span overlaps ``[since, until)``."""
    q = (
        select(incidents)
        .where(incidents.c.detected_at < until, *scope.where(incidents.c.tenant),
               or_(incidents.c.resolved_at.is_(None), incidents.c.resolved_at >= since))
        .order_by(incidents.c.detected_at)
        .limit(500)
    )
    return [Incident.from_row(r) for r in conn.execute(q).mappings()]
