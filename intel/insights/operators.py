"""Operator activity from the audit trail and the replay attempts.

* ``actions``: audit events an operator caused in the window (page views such as
  ``insights.view`` are adoption signals, not actions, and are left out);
* ``replays``: ``delivery_attempts`` rows of kind ``replay`` under the operator's name,
  ``replay_succeeded`` those whose status is ``delivered``;
* the weekday x hour-of-day heatmap counts the same actions (UTC).

With a tenant ``scope`` (CONTRACTS §6) only actions concerning that identity's tenants
(``audit_log.tenant``) and replays of its tenants' deliveries count.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, and_, func, not_, select

from intel.auth.scope import ALL, TenantScope
from intel.insights._sql import as_int, count_if, ratio
from intel.insights.health import attempts_in_scope
from intel.insights.periods import Period, window
from intel.store.schema import audit_log, delivery_attempts
from intel.store.sqlfuncs import hour_of_day, weekday
from intel.timeutil import to_rfc3339

VIEW_SUFFIX = ".view"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def operator_action_filter(since: datetime, until: datetime, scope: TenantScope = ALL):
    """Audit rows that are operator actions in [since, until) (within ``scope``)."""
    return and_(
        audit_log.c.actor_kind == "operator",
        audit_log.c.at >= since,
        audit_log.c.at < until,
        not_(audit_log.c.action.like("%" + VIEW_SUFFIX)),
        *scope.where(audit_log.c.tenant),
    )


def operator_activity(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> list[dict]:
    """One row per operator active in the period, busiest first."""
    w = window(period, now)
    actions = (
        select(
            audit_log.c.actor.label("operator"),
            func.count().label("actions"),
            func.max(audit_log.c.at).label("last_action_at"),
        )
        .where(operator_action_filter(w.since, w.until, scope))
        .group_by(audit_log.c.actor)
    )
    a = delivery_attempts.c
    replays = (
        select(
            a.operator.label("operator"),
            func.count().label("replays"),
            count_if(a.status == "delivered").label("succeeded"),
        )
        .where(
            a.kind == "replay",
            a.operator.is_not(None),
            a.finished_at >= w.since,
            a.finished_at < w.until,
            *attempts_in_scope(scope),
        )
        .group_by(a.operator)
    )
    rows: dict[str, dict] = {}
    with engine.connect() as conn:
        for op, n, last in conn.execute(actions):
            rows[op] = _empty(op) | {"actions": as_int(n), "last_action_at": to_rfc3339(last)}
        for op, n, ok in conn.execute(replays):
            row = rows.setdefault(op, _empty(op))
            row.update(
                replays=as_int(n),
                replay_succeeded=as_int(ok),
                replay_success_rate=ratio(ok, n),
            )
    return sorted(rows.values(), key=lambda r: (-r["actions"], -r["replays"], r["operator"]))


def _empty(operator: str) -> dict:
    return {
        "operator": operator,
        "actions": 0,
        "replays": 0,
        "replay_succeeded": 0,
        "replay_success_rate": None,
        "last_action_at": None,
    }


def activity_heatmap(
    engine: Engine, period: Period | str, now: datetime, *, scope: TenantScope = ALL
) -> list[dict]:
    """Operator actions per (weekday 0=Mon..6=Sun, hour 0..23) UTC; only non-empty cells."""
    w = window(period, now)
    day = weekday(audit_log.c.at).label("weekday")
    hour = hour_of_day(audit_log.c.at).label("hour")
    stmt = (
        select(day, hour, func.count().label("actions"))
        .where(operator_action_filter(w.since, w.until, scope))
        .group_by(day, hour)
        .order_by(day, hour)
    )
    with engine.connect() as conn:
        return [
            {"weekday": int(d), "day": WEEKDAYS[int(d)], "hour": int(h), "actions": as_int(n)}
            for d, h, n in conn.execute(stmt)
        ]
