"""Adoption figures the seed sets targets for, from the audit trail and the job table.

* ``advisor_share``: bulk replay jobs (``replay_jobs.source`` other than ``single``)
  created in the window that were launched from the advisor (``source = 'advisor'``);
  seed target: more than 60 %.
* ``banner_ack_share``: ``incident.ack`` audit events in the window whose details say
  ``{"via": "banner"}``; seed target: more than 50 % of anomaly responses.
* ``insights_daily``: per UTC day, operators who opened Insights (``insights.view``,
  recorded once per session per day by the page) over operators active that day (any
  audit event under their name); seed target: more than 40 % of operators daily.
* ``time_to_ack``: incidents detected in the window and acknowledged: mean seconds from
  detection to acknowledgement and the share acknowledged within 30 s (seed: MTTA under
  30 seconds).

With a tenant ``scope`` (CONTRACTS §6) the figures are over what that identity may see:
the jobs it sees (``intel.replay.jobs.visible``), the acknowledgements of its tenants'
incidents and its tenants' incidents. ``insights_daily`` is about every operator of the
platform (page views concern no tenant), so a scoped identity gets no days.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select

from intel import audit
from intel.auth.scope import ALL, TenantScope
from intel.insights._sql import as_int, count_if, ratio, seconds
from intel.insights.periods import Period, window
from intel.store.schema import audit_log, incidents, replay_jobs
from intel.store.sqlfuncs import epoch_seconds, time_bucket
from intel.timeutil import ensure_utc, to_rfc3339

TARGETS = {
    "advisor_share": 0.60,
    "banner_ack_share": 0.50,
    "insights_daily_share": 0.40,
    "time_to_ack_s": 30.0,
}
VIEW_ACTION = "insights.view"
DAY_S = 86400


def record_insights_view(conn: Connection, *, operator: str, now: datetime,
                         period: str | None = None) -> int:
    """Write the ``insights.view`` audit event (the page calls it once per session per day)."""
    return audit.record(
        conn, actor=operator, action=VIEW_ACTION, at=now, target_type="page",
        target_id="insights", summary="Opened Insights",
        details={"period": period} if period else None,
    )


def advisor_share(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> dict:
    from intel.replay.jobs import visible

    w = window(period, now)
    j = replay_jobs.c
    stmt = select(func.count(), count_if(j.source == "advisor")).where(
        j.source != "single", j.created_at >= w.since, j.created_at < w.until, *visible(scope)
    )
    with engine.connect() as conn:
        total, advisor = conn.execute(stmt).one()
    total, advisor = as_int(total), as_int(advisor)
    return {"bulk_jobs": total, "from_advisor": advisor, "share": ratio(advisor, total),
            "target": TARGETS["advisor_share"]}


def banner_ack_share(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> dict:
    w = window(period, now)
    a = audit_log.c
    via = a.details["via"].as_string()
    stmt = select(func.count(), count_if(via == "banner")).where(
        a.action == "incident.ack", a.at >= w.since, a.at < w.until, *scope.where(a.tenant)
    )
    with engine.connect() as conn:
        total, banner = conn.execute(stmt).one()
    total, banner = as_int(total), as_int(banner)
    return {"acks": total, "from_banner": banner, "share": ratio(banner, total),
            "target": TARGETS["banner_ack_share"]}


def insights_daily(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> dict:
    if not scope.unrestricted:  # platform-wide: see the module docstring
        return {"days": [], "mean_share": None, "target": TARGETS["insights_daily_share"]}
    w = window(period, now)
    a = audit_log.c
    day = time_bucket(a.at, DAY_S).label("day")
    base = [a.actor_kind == "operator", a.at >= w.since, a.at < w.until]
    active_stmt = select(day, func.count(func.distinct(a.actor))).where(*base).group_by(day)
    viewers_stmt = (
        select(day, func.count(func.distinct(a.actor)))
        .where(*base, a.action == VIEW_ACTION)
        .group_by(day)
    )
    with engine.connect() as conn:
        active = {int(d): as_int(n) for d, n in conn.execute(active_stmt)}
        viewers = {int(d): as_int(n) for d, n in conn.execute(viewers_stmt)}
    days = []
    for d in sorted(active):
        days.append(
            {
                "day": datetime.fromtimestamp(d, UTC).date().isoformat(),
                "viewers": viewers.get(d, 0),
                "active_operators": active[d],
                "share": ratio(viewers.get(d, 0), active[d]),
            }
        )
    shares = [d["share"] for d in days if d["share"] is not None]
    return {
        "days": days,
        "mean_share": round(sum(shares) / len(shares), 4) if shares else None,
        "target": TARGETS["insights_daily_share"],
    }


def time_to_ack(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> dict:
    w = window(period, now)
    i = incidents.c
    delay = epoch_seconds(i.acknowledged_at) - epoch_seconds(i.detected_at)
    target = TARGETS["time_to_ack_s"]
    stmt = select(func.count(), func.avg(delay), count_if(delay <= target)).where(
        i.acknowledged_at.is_not(None), i.detected_at >= w.since, i.detected_at < w.until,
        *scope.where(i.tenant),
    )
    with engine.connect() as conn:
        n, mean, within = conn.execute(stmt).one()
    n = as_int(n)
    return {"acknowledged": n, "mean_s": seconds(mean), "within_target": as_int(within),
            "within_target_share": ratio(within, n), "target_s": target}


def adoption(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> dict:
    now = ensure_utc(now)
    return {
        "advisor_share": advisor_share(engine, period, now, scope=scope),
        "banner_ack_share": banner_ack_share(engine, period, now, scope=scope),
        "insights_daily": insights_daily(engine, period, now, scope=scope),
        "time_to_ack": time_to_ack(engine, period, now, scope=scope),
        "as_of": to_rfc3339(now),
    }
