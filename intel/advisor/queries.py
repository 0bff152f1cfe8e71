"""The advisor's SQL: its candidates (with their replay claims), the endpoints' health
evidence and the open incidents.

Every query takes ``scope`` (CONTRACTS §6): a tenant-scoped identity's advice is computed
from its tenants' data alone — its candidates, the health of an endpoint from its
tenants' deliveries only (a shared endpoint reveals nothing of another tenant's
traffic), and the incidents whose ``tenant`` is in its scope (bursts and shared
endpoints' incidents are platform-wide: not used, nor named, for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, and_, case, func, or_, select

from intel.advisor.candidate import Candidate
from intel.advisor.health import EndpointHealth, OpenIncident
from intel.auth.scope import ALL, TenantScope
from intel.replay import states as S
from intel.replay.items import payload_missing
from intel.store.schema import (
    deliveries,
    delivery_attempts,
    endpoints,
    incidents,
    replay_claims,
)
from intel.timeutil import ensure_utc

BODY_CHARS = 4096  # what triage reads of a body (intel.triage.signature.MAX_TEXT)
CHUNK = 500  # values per IN (...): well within every driver's parameter limit


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _utc(at: datetime | None) -> datetime | None:
    return ensure_utc(at) if at else None


def candidates(conn: Connection, tenant: str | None, since: datetime, now: datetime,
               limit: int, scope: TenantScope = ALL) -> tuple[int, list[Candidate]]:
    """(failed deliveries whose failure lies in ``[since, now]``, the ``limit`` most
    recent of them): of ``tenant`` (None: every tenant of ``scope``), each with its
    replay claim, whether its payload is stored and its endpoint disabled."""
    d = deliveries
    where = [d.c.status == "failed", d.c.last_attempt_at >= since, d.c.last_attempt_at <= now,
             *scope.where(d.c.tenant)]
    if tenant:
        where.append(d.c.tenant == tenant)
    total = conn.execute(select(func.count()).select_from(d).where(*where)).scalar() or 0
    a = delivery_attempts
    last_replay_failed = (
        select(func.max(a.c.finished_at))
        .where(a.c.delivery_id == d.c.id, a.c.kind == "replay",
               a.c.status == S.ATTEMPT_FAILED)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            d.c.id,
            d.c.tenant,
            d.c.endpoint,
            d.c.status,
            d.c.http_status,
            d.c.error,
            d.c.response_headers,
            func.substr(d.c.response_body, 1, BODY_CHARS).label("response_body"),
            d.c.created_at,
            d.c.last_attempt_at,
            payload_missing(d.c.payload).label("no_payload"),
            replay_claims.c.state.label("claim_state"),
            replay_claims.c.job_id.label("claim_job"),
            endpoints.c.disabled.label("endpoint_disabled"),
            last_replay_failed.label("last_replay_failed_at"),
        )
        .select_from(
            d.outerjoin(replay_claims, replay_claims.c.delivery_id == d.c.id).outerjoin(
                endpoints, endpoints.c.url == d.c.endpoint
            )
        )
        .where(*where)
        .order_by(d.c.last_attempt_at.desc(), d.c.id)
        .limit(limit)
    ).mappings().all()
    found = [
        Candidate(
            id=r["id"], tenant=r["tenant"], endpoint=r["endpoint"],
            created_at=ensure_utc(r["created_at"]), failed_at=ensure_utc(r["last_attempt_at"]),
            status=r["status"], http_status=r["http_status"], error=r["error"],
            response_body=r["response_body"], response_headers=r["response_headers"],
            no_payload=bool(r["no_payload"]), endpoint_disabled=bool(r["endpoint_disabled"]),
            claim_state=r["claim_state"], claim_job=r["claim_job"],
            last_replay_failed_at=_utc(r["last_replay_failed_at"]),
        )
        for r in rows
    ]
    return int(total), found


def endpoint_health(conn: Connection, urls: list[str], since: datetime, now: datetime,
                    unstable_since: datetime,
                    scope: TenantScope = ALL) -> dict[str, EndpointHealth]:
    """Each endpoint's evidence (``intel.advisor.health``): its latest success in
    ``[since, now]``, the transport/5xx failures after it, its latest such failure, and
    its failure episodes and deliveries in ``[unstable_since, now]``."""
    d = deliveries
    mine = scope.where(d.c.tenant)
    down_type = or_(d.c.http_status.is_(None), d.c.http_status >= 500)
    found: dict[str, dict] = {
        u: {"last_success_at": None, "down_failures_since": 0, "last_down_failure_at": None,
            "episodes": 0, "recent_deliveries": 0}
        for u in urls
    }
    for chunk in _chunks(urls):
        last_ok = (
            select(d.c.endpoint.label("endpoint"), func.max(d.c.last_attempt_at).label("at"))
            .where(d.c.endpoint.in_(chunk), d.c.status == "delivered",
                   d.c.last_attempt_at >= since, d.c.last_attempt_at <= now, *mine)
            .group_by(d.c.endpoint)
            .subquery()
        )
        for endpoint, at in conn.execute(select(last_ok.c.endpoint, last_ok.c.at)):
            found[endpoint]["last_success_at"] = _utc(at)
        again = conn.execute(
            select(d.c.endpoint, func.count())
            .select_from(d.join(last_ok, last_ok.c.endpoint == d.c.endpoint))
            .where(
                d.c.status == "failed",
                d.c.last_attempt_at > last_ok.c.at,
                d.c.last_attempt_at <= now,
                down_type,
                *mine,
            )
            .group_by(d.c.endpoint)
        )
        for endpoint, n in again:
            found[endpoint]["down_failures_since"] = int(n)
        last_down = conn.execute(
            select(d.c.endpoint, func.max(d.c.last_attempt_at))
            .where(d.c.endpoint.in_(chunk), d.c.status == "failed", down_type,
                   d.c.last_attempt_at >= since, d.c.last_attempt_at <= now, *mine)
            .group_by(d.c.endpoint)
        )
        for endpoint, at in last_down:
            found[endpoint]["last_down_failure_at"] = _utc(at)
        ordered = (
            select(
                d.c.endpoint.label("endpoint"),
                d.c.status.label("status"),
                d.c.http_status.label("http_status"),
                func.lag(d.c.status)
                .over(partition_by=d.c.endpoint, order_by=(d.c.last_attempt_at, d.c.id))
                .label("previous"),
            )
            .where(d.c.endpoint.in_(chunk), d.c.last_attempt_at >= unstable_since,
                   d.c.last_attempt_at <= now, *mine)
            .subquery()
        )
        # an outage that recovered is one episode; a flaky endpoint has many
        episode = and_(ordered.c.status == "failed", ordered.c.previous == "delivered",
                       or_(ordered.c.http_status.is_(None), ordered.c.http_status >= 500))
        episodes = conn.execute(
            select(ordered.c.endpoint, func.count(),
                   func.sum(case((episode, 1), else_=0)))
            .group_by(ordered.c.endpoint)
        )
        for endpoint, n, n_episodes in episodes:
            found[endpoint]["recent_deliveries"] = int(n)
            found[endpoint]["episodes"] = int(n_episodes or 0)
    return {u: EndpointHealth(**fields) for u, fields in found.items()}


def open_incidents(conn: Connection, targets: list[str],
                   scope: TenantScope = ALL) -> dict[str, OpenIncident]:
    """The earliest active incident on each of ``targets`` (endpoint URLs, tenants, ``*``)
    that has one."""
    found: dict[str, OpenIncident] = {}
    for chunk in _chunks(targets):
        rows = conn.execute(
            select(incidents.c.id, incidents.c.type, incidents.c.target, incidents.c.severity,
                   incidents.c.detected_at)
            .where(incidents.c.status == "active", incidents.c.target.in_(chunk),
                   *scope.where(incidents.c.tenant))
            .order_by(incidents.c.detected_at)
        ).mappings()
        for r in rows:
            found.setdefault(r["target"], OpenIncident(**r))
    return found
