"""Failure groups from the store: aggregate in SQL, fold the few distinct rows in Python.

The database groups the window's failures by their raw fields, endpoint, HTTP status,
error, the first ``body_prefix`` characters of the body and three rate-limit header
flags, with COUNT / MIN / MAX and one example id. Only those distinct rows (a few
thousand even at a million deliveries) come to Python, where their failure signature
and category are computed and folded (``intel.groups.fold``). The example's real
response headers are read back by id, so triage sees the actual Retry-After value.

Every reader takes ``scope`` (CONTRACTS §6): a tenant-scoped identity's groups are
folded from its tenants' failures only; another tenant's are absent (never counted in a
group's size, examples or tenant span).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Text, and_, case, cast, func, or_, select

from intel.auth.scope import ALL, TenantScope
from intel.groups.fold import FailureGroup, FailureRow, fold_rows
from intel.store.schema import deliveries
from intel.timeutil import ensure_utc

DEFAULT_BODY_PREFIX = 200
_CHUNK = 500


def _header_flags():
    """A small int: 1 Retry-After present, 2 a *-remaining header at 0, 4 a RateLimit
    header saying remaining=0 / r=0. Names compare case-insensitively (JSON text, lower
    case), on SQLite's JSON text and on PostgreSQL's jsonb::text alike."""
    text = func.lower(cast(deliveries.c.response_headers, Text))
    retry_after = text.like('%"retry-after":%')
    zero = or_(
        *(
            text.like(f'%remaining"{sep}{value}%')
            for sep in (": ", ":")
            for value in ('"0"', "0,", "0}")
        )
    )
    combined = and_(
        text.like('%"ratelimit":%'),
        or_(text.like("%remaining=0%"), text.like("%r=0%")),
    )
    return (
        case((retry_after, 1), else_=0)
        + case((zero, 2), else_=0)
        + case((combined, 4), else_=0)
    ).label("header_flags")


@dataclass(frozen=True, slots=True)
class GroupsResult:
    groups: list[FailureGroup]
    total_failures: int
    distinct_rows: int


def failure_rows(
    conn: Connection,
    *,
    since: datetime,
    until: datetime,
    tenant: str | None = None,
    body_prefix: int = DEFAULT_BODY_PREFIX,
    scope: TenantScope = ALL,
) -> list[FailureRow]:
    """The window's failures within ``scope`` aggregated by raw fields (``since`` <= last
    attempt < ``until``)."""
    body = func.substr(deliveries.c.response_body, 1, body_prefix).label("body")
    flags = _header_flags()
    where = [
        deliveries.c.status == "failed",
        deliveries.c.last_attempt_at >= ensure_utc(since),
        deliveries.c.last_attempt_at < ensure_utc(until),
        *scope.where(deliveries.c.tenant),
    ]
    if tenant:
        where.append(deliveries.c.tenant == tenant)
    stmt = (
        select(
            deliveries.c.endpoint,
            deliveries.c.http_status,
            deliveries.c.error,
            body,
            flags,
            func.count().label("n"),
            func.min(deliveries.c.last_attempt_at).label("first_seen"),
            func.max(deliveries.c.last_attempt_at).label("last_seen"),
            func.min(deliveries.c.id).label("example_id"),
            func.min(deliveries.c.tenant).label("tenant_min"),
            func.max(deliveries.c.tenant).label("tenant_max"),
        )
        .where(*where)
        .group_by(deliveries.c.endpoint, deliveries.c.http_status, deliveries.c.error, body, flags)
    )
    raw = conn.execute(stmt).all()
    headers = _example_headers(conn, [r.example_id for r in raw if int(r.header_flags or 0)])
    return [
        FailureRow(
            endpoint=r.endpoint,
            http_status=r.http_status,
            error=r.error,
            body=r.body,
            headers=headers.get(r.example_id),
            count=int(r.n),
            first_seen=_utc(r.first_seen),
            last_seen=_utc(r.last_seen),
            example_id=r.example_id,
            tenant_min=r.tenant_min,
            tenant_max=r.tenant_max,
        )
        for r in raw
    ]


def _utc(value) -> datetime:
    # MIN/MAX over a UTCDateTime column keep its type on both dialects; be strict anyway.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return ensure_utc(value)


def _example_headers(conn: Connection, ids: list[str]) -> dict[str, dict | None]:
    """Response headers of the examples that have rate-limit header flags set."""
    out: dict[str, dict | None] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in conn.execute(
            select(deliveries.c.id, deliveries.c.response_headers).where(
                deliveries.c.id.in_(chunk)
            )
        ):
            out[row.id] = row.response_headers
    return out


def failure_groups(
    conn: Connection,
    *,
    since: datetime,
    until: datetime,
    tenant: str | None = None,
    body_prefix: int = DEFAULT_BODY_PREFIX,
    by: str = "signature",
    scope: TenantScope = ALL,
) -> GroupsResult:
    """The window's failures within ``scope`` folded into groups, biggest first (``by``:
    see fold_rows)."""
    rows = failure_rows(conn, since=since, until=until, tenant=tenant, body_prefix=body_prefix,
                        scope=scope)
    return GroupsResult(
        groups=fold_rows(rows, by=by),
        total_failures=sum(r.count for r in rows),
        distinct_rows=len(rows),
    )


def tenants_with_failures(conn: Connection, *, since: datetime, until: datetime,
                          limit: int = 1000, scope: TenantScope = ALL) -> list[str]:
    """Tenants (within ``scope``) that have failures in the window (for the tenant
    filter)."""
    stmt = (
        select(deliveries.c.tenant)
        .where(
            deliveries.c.status == "failed",
            deliveries.c.last_attempt_at >= ensure_utc(since),
            deliveries.c.last_attempt_at < ensure_utc(until),
            *scope.where(deliveries.c.tenant),
        )
        .group_by(deliveries.c.tenant)
        .order_by(deliveries.c.tenant)
        .limit(limit)
    )
    return [t for t in conn.execute(stmt).scalars()]


__all__ = ["GroupsResult", "failure_groups", "failure_rows", "tenants_with_failures"]
