"""Top failing endpoints of a period, with success rate and trend.

For each endpoint with failures in ``[now - span, now)``:

* ``failures``: deliveries whose latest attempt failed in the window;
* ``deliveries``, ``delivered``, ``pending`` in the same window, and ``success_rate`` =
  delivered / (delivered + failed) (pending deliveries have no outcome yet);
* ``previous_failures``: failures in the window before, ``[now - 2 span, now - span)``;
* ``trend``: see :func:`trend`.

Ranked by failures (then endpoint), at most ``limit`` rows.

With a tenant ``scope`` every count is over that identity's tenants' deliveries only
(CONTRACTS §6): another tenant's endpoint is absent, a shared endpoint counts only the
scope's deliveries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select

from intel.auth.scope import ALL, TenantScope
from intel.insights._sql import (
    FAILED_INDEX,
    TIME_INDEX,
    as_int,
    count_if,
    indexed,
    ratio,
    status_is,
)
from intel.insights.periods import Period, get_period, period_link, window

UP, DOWN, FLAT = "↑", "↓", "→"
#: A change of failures larger than this share of the previous period's is a trend.
DEFAULT_TREND_THRESHOLD = 0.10


def trend(current: int, previous: int, threshold: float = DEFAULT_TREND_THRESHOLD) -> str:
    """↑ when failures grew by more than ``threshold`` of the previous period's count,
    ↓ when they fell by more than that, → otherwise. From 0 to any failures is ↑."""
    if previous == 0:
        return UP if current > 0 else FLAT
    change = (current - previous) / previous
    if change > threshold:
        return UP
    if change < -threshold:
        return DOWN
    return FLAT


def top_failing(
    engine: Engine,
    period: Period | str,
    now: datetime,
    *,
    group: str = "endpoint",
    limit: int = 10,
    scope: TenantScope = ALL,
) -> list[dict]:
    """Failures per ``group`` column (endpoint or tenant) in both windows, top ``limit``.

    Reads only failed rows (the partial index of migration 0003 covers it).
    """
    w = window(period, now)
    table = indexed(FAILED_INDEX)
    d = table.c
    key = d[group]
    failures = count_if(d.last_attempt_at >= w.since).label("failures")
    stmt = (
        select(key.label("key"), failures,
               count_if(d.last_attempt_at < w.since).label("previous_failures"))
        .where(status_is("failed", table), d.last_attempt_at >= w.previous.since,
               d.last_attempt_at < w.until, *scope.where(d.tenant))
        .group_by(key)
        .having(failures > 0)
        .order_by(failures.desc(), key)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [
            {"key": k, "failures": as_int(f), "previous_failures": as_int(p)}
            for k, f, p in conn.execute(stmt)
        ]


def outcome_counts(
    engine: Engine, period: Period | str, now: datetime, *, group: str, keys: list[str],
    scope: TenantScope = ALL,
) -> dict[str, dict]:
    """Deliveries, delivered and pending per ``group`` value in ``keys``, in the window
    (of the tenants in ``scope``).

    Reads the (group, last_attempt_at, status) index alone (with a scope, plus the
    table rows of those keys for their tenant).
    """
    if not keys:
        return {}
    w = window(period, now)
    d = indexed(TIME_INDEX[group]).c
    key = d[group]
    stmt = (
        select(key, func.count(), count_if(d.status == "delivered"),
               count_if(d.status == "pending"))
        .where(key.in_(keys), d.last_attempt_at >= w.since, d.last_attempt_at < w.until,
               *scope.where(d.tenant))
        .group_by(key)
    )
    with engine.connect() as conn:
        return {
            k: {"deliveries": as_int(n), "delivered": as_int(ok), "pending": as_int(pend)}
            for k, n, ok, pend in conn.execute(stmt)
        }


def top_failing_endpoints(
    engine: Engine,
    period: Period | str,
    now: datetime,
    *,
    limit: int = 10,
    trend_threshold: float = DEFAULT_TREND_THRESHOLD,
    scope: TenantScope = ALL,
) -> list[dict]:
    p = get_period(period) if isinstance(period, str) else period
    top = top_failing(engine, p, now, group="endpoint", limit=limit, scope=scope)
    counts = outcome_counts(engine, p, now, group="endpoint", keys=[r["key"] for r in top],
                            scope=scope)
    rows = []
    for r in top:
        c = counts.get(r["key"], {"deliveries": 0, "delivered": 0, "pending": 0})
        rows.append(
            {
                "endpoint": r["key"],
                "failures": r["failures"],
                "deliveries": c["deliveries"],
                "delivered": c["delivered"],
                "pending": c["pending"],
                "success_rate": ratio(c["delivered"], c["delivered"] + r["failures"]),
                "previous_failures": r["previous_failures"],
                "trend": trend(r["failures"], r["previous_failures"], trend_threshold),
                "link": period_link(p, now, endpoint=r["key"], status="failed"),
            }
        )
    return rows
