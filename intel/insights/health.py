"""System health: delivery outcomes, replay success over time, incidents.

* deliveries in the window (by ``last_attempt_at``), delivered / failed / pending;
  ``success_ratio`` and ``failure_ratio`` are over finished deliveries (delivered +
  failed), pending ones have no outcome yet;
* replay success rate per bucket of the period (``Period.bucket_s``): replay attempts
  (``delivery_attempts.kind = 'replay'``) that ended ``delivered``;
* incidents detected in the window: count, by severity, still active, acknowledged,
  mean time to acknowledge (``acknowledged_at - detected_at``) and to resolve
  (``resolved_at - detected_at``) in seconds.

Triage accuracy from labels lives in ``intel.insights.accuracy``.

With a tenant ``scope`` (CONTRACTS §6) every figure is over that identity's tenants:
their deliveries, the replays of their deliveries, their incidents (``incidents.tenant``;
bursts and shared endpoints' incidents are platform-wide and left out).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from intel.auth.scope import ALL, TenantScope
from intel.insights._sql import (
    FAILED_INDEX,
    TIME_INDEX,
    as_int,
    count_if,
    indexed,
    ratio,
    seconds,
    status_is,
)
from intel.insights.periods import Period, get_period, window
from intel.store.schema import deliveries, delivery_attempts, incidents
from intel.store.sqlfuncs import epoch_seconds, time_bucket
from intel.timeutil import to_rfc3339


def delivery_totals(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> dict:
    """Counts of deliveries in the window by status, with success and failure ratios."""
    w = window(period, now)
    if not scope.unrestricted:
        # One pass over the (tenant, last_attempt_at, status) index of the scope's tenants.
        table = indexed(TIME_INDEX["tenant"])
        c = table.c
        with engine.connect() as conn:
            total, failed, pending = conn.execute(
                select(func.count(), count_if(c.status == "failed"),
                       count_if(c.status == "pending"))
                .select_from(table)
                .where(*scope.where(c.tenant), c.last_attempt_at >= w.since,
                       c.last_attempt_at < w.until)
            ).one()
        return _totals(as_int(total), as_int(failed), as_int(pending))

    def count(table, *where):
        c = table.c
        return select(func.count()).select_from(table).where(
            *where, c.last_attempt_at >= w.since, c.last_attempt_at < w.until
        )

    # Index-only counts: all (last_attempt_at index), failed (the partial index of
    # failures), pending (status index); delivered is the rest.
    failed_rows = indexed(FAILED_INDEX)
    with engine.connect() as conn:
        total = as_int(conn.execute(count(deliveries)).scalar())
        failed = as_int(conn.execute(count(failed_rows, status_is("failed", failed_rows)))
                        .scalar())
        pending = as_int(conn.execute(count(deliveries, status_is("pending"))).scalar())
    return _totals(total, failed, pending)


def _totals(total: int, failed: int, pending: int) -> dict:
    delivered = total - failed - pending
    finished = delivered + failed
    return {
        "deliveries": total,
        "delivered": delivered,
        "failed": failed,
        "pending": pending,
        "success_ratio": ratio(delivered, finished),
        "failure_ratio": ratio(failed, finished),
    }


def replay_trend(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> dict:
    """Replay attempts (of deliveries within ``scope``) and their success rate per bucket,
    plus the whole-window figure."""
    p = get_period(period) if isinstance(period, str) else period
    w = window(p, now)
    a = delivery_attempts.c
    bucket = time_bucket(a.finished_at, p.bucket_s).label("bucket")
    stmt = (
        select(bucket, func.count().label("replays"),
               count_if(a.status == "delivered").label("succeeded"))
        .where(a.kind == "replay", a.finished_at >= w.since, a.finished_at < w.until,
               *attempts_in_scope(scope))
        .group_by(bucket)
        .order_by(bucket)
    )
    points = []
    total = ok_total = 0
    with engine.connect() as conn:
        for start, n, ok in conn.execute(stmt):
            n, ok = as_int(n), as_int(ok)
            total += n
            ok_total += ok
            points.append(
                {
                    "bucket_start": to_rfc3339(datetime.fromtimestamp(int(start), UTC)),
                    "replays": n,
                    "succeeded": ok,
                    "success_rate": ratio(ok, n),
                }
            )
    return {
        "bucket_s": p.bucket_s,
        "replays": total,
        "succeeded": ok_total,
        "success_rate": ratio(ok_total, total),
        "points": points,
    }


def attempts_in_scope(scope: TenantScope) -> list:
    """Clauses keeping ``delivery_attempts`` rows of deliveries within ``scope`` (replay
    attempts are few: each is checked by a primary-key lookup)."""
    if scope.unrestricted:
        return []
    return [
        select(deliveries.c.id)
        .where(deliveries.c.id == delivery_attempts.c.delivery_id,
               *scope.where(deliveries.c.tenant))
        .exists()
    ]


def incident_kpis(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> dict:
    """Incidents detected in the window (within ``scope``), and how fast they were
    acknowledged and resolved."""
    w = window(period, now)
    i = incidents.c
    ack_s = epoch_seconds(i.acknowledged_at) - epoch_seconds(i.detected_at)
    resolve_s = epoch_seconds(i.resolved_at) - epoch_seconds(i.detected_at)
    stmt = select(
        func.count().label("incidents"),
        count_if(i.severity == "critical").label("critical"),
        count_if(i.severity == "warning").label("warning"),
        count_if(i.status == "active").label("active"),
        count_if(i.acknowledged_at.is_not(None)).label("acknowledged"),
        count_if(i.resolved_at.is_not(None)).label("resolved"),
        func.avg(ack_s).label("mtta"),
        func.avg(resolve_s).label("mttr"),
    ).where(i.detected_at >= w.since, i.detected_at < w.until, *scope.where(i.tenant))
    with engine.connect() as conn:
        row = conn.execute(stmt).mappings().one()
    return {
        "incidents": as_int(row["incidents"]),
        "critical": as_int(row["critical"]),
        "warning": as_int(row["warning"]),
        "active": as_int(row["active"]),
        "acknowledged": as_int(row["acknowledged"]),
        "resolved": as_int(row["resolved"]),
        "mean_time_to_acknowledge_s": seconds(row["mtta"]),
        "mean_time_to_resolve_s": seconds(row["mttr"]),
    }
