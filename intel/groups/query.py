"""Failure groups from the store: aggregate in SQL, fold the few distinct rows in Python.

The database groups the window's failures by their raw fields, endpoint, tenant, HTTP
status, error, the first ``body_prefix`` characters of the body and three rate-limit
header flags, with COUNT / MIN / MAX and one example id. Only those distinct rows (a few
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
from intel.groups.fold import (
    FailureGroup,
    FailureRow,
    fold_variants,
    own_group_floor,
    variants_of,
)
from intel.store.schema import deliveries
from intel.timeutil import ensure_utc
from intel.triage.result import CATEGORIES

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
class CategoryCount:
    category: str
    failures: int
    groups: int


@dataclass(frozen=True, slots=True)
class GroupsResult:
    """The window's groups, biggest first; ``floor``: the failures a cell needed to be a
    group of its own (below it, sporadic); ``distinct_rows``: raw rows the database
    returned; ``distinct_forms``: normalised (endpoint, tenant, signature) variants."""

    groups: list[FailureGroup]
    total_failures: int
    distinct_rows: int
    distinct_forms: int = 0
    floor: int = 1

    def by_category(self) -> list[CategoryCount]:
        """Failures and groups per triage category, in display order (categories without
        failures left out)."""
        failures: dict[str, int] = {}
        groups: dict[str, int] = {}
        for g in self.groups:
            failures[g.category] = failures.get(g.category, 0) + g.count
            groups[g.category] = groups.get(g.category, 0) + 1
        order = [c for c in CATEGORIES if c in failures] + sorted(
            c for c in failures if c not in CATEGORIES)
        return [CategoryCount(c, failures[c], groups[c]) for c in order]


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
            deliveries.c.tenant,
            deliveries.c.http_status,
            deliveries.c.error,
            body,
            flags,
            func.count().label("n"),
            func.min(deliveries.c.last_attempt_at).label("first_seen"),
            func.max(deliveries.c.last_attempt_at).label("last_seen"),
            func.min(deliveries.c.id).label("example_id"),
        )
        .where(*where)
        .group_by(deliveries.c.endpoint, deliveries.c.tenant, deliveries.c.http_status,
                  deliveries.c.error, body, flags)
    )
    raw = conn.execute(stmt).all()
    headers = _example_headers(conn, [r.example_id for r in raw if int(r.header_flags or 0)])
    return [
        FailureRow(
            endpoint=r.endpoint,
            tenant=r.tenant,
            http_status=r.http_status,
            error=r.error,
            body=r.body,
            headers=headers.get(r.example_id),
            count=int(r.n),
            first_seen=_utc(r.first_seen),
            last_seen=_utc(r.last_seen),
            example_id=r.example_id,
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
    per: str = "endpoint",
    floor: int | None = None,
    scope: TenantScope = ALL,
) -> GroupsResult:
    """The window's failures within ``scope`` folded into groups, biggest first (``per``
    and ``floor``: see ``intel.groups.fold``; ``floor`` None: 1.5 % of the window's
    failures, at least 5)."""
    rows = failure_rows(conn, since=since, until=until, tenant=tenant, body_prefix=body_prefix,
                        scope=scope)
    total = sum(r.count for r in rows)
    if floor is None:
        floor = own_group_floor(total)
    variants = variants_of(rows)
    return GroupsResult(
        groups=fold_variants(variants, per=per, floor=floor),
        total_failures=total,
        distinct_rows=len(rows),
        distinct_forms=len(variants),
        floor=max(1, floor),
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


__all__ = ["CategoryCount", "GroupsResult", "failure_groups", "failure_rows",
           "tenants_with_failures"]
