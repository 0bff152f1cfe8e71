"""Recommendations computed from the data: a declarative rule table.

Each :class:`RecommendationRule` is data, in the manner of a datasette canned query: the
subject it groups failed deliveries by (endpoint, tenant, event type), the window, the
SQL aggregates it measures over the failures, the SQL condition (a HAVING clause over
those measures) that makes it fire, optionally a minimum share of the subject's
finished deliveries that must have failed, the sentence and the evidence (format
templates over the measured row) and the delivery-history filters that show the
deliveries behind it.

How a rule runs (:func:`evaluate_rule`), so that a million deliveries stay cheap:

1. one ``GROUP BY subject`` over the *failed* deliveries of the window (the partial
   index of migration 0003 covers it), ``HAVING`` the rule's condition, with
   the subject's pending deliveries joined in;
2. for a rule with ``min_failure_ratio``, each candidate's deliveries are counted on
   the (subject, last_attempt_at, status) index, but never past the count at which the
   ratio is already missed (``failures / ratio + pending + 1``): the work is bounded by
   the failures, not by the traffic;
3. ``no_delivered``: the subject had no delivered delivery in the window
   (``NOT EXISTS``, which stops at the first success).

:func:`recommendations` runs every rule, ranks what fired by impact (the deliveries
concerned times the rule's weight) and keeps at most ``limit`` (10).

With a tenant ``scope`` (CONTRACTS §6) every step reads only that identity's tenants'
deliveries: another tenant is never a subject, and a shared endpoint or event type is
judged on the scope's deliveries alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Float,
    and_,
    cast,
    exists,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.sql import ColumnElement

from intel.auth.scope import ALL, TenantScope
from intel.insights._sql import (
    FAILED_INDEX,
    TIME_INDEX,
    as_int,
    count_if,
    indexed,
    status_is,
)
from intel.insights.periods import Period, Window, get_period, period_link, window
from intel.redact import redact_url
from intel.store.schema import deliveries, endpoints
from intel.timeutil import to_rfc3339
from intel.triage.result import PERMANENT, RATE_LIMITED, TRANSIENT

MAX_RECOMMENDATIONS = 10


@dataclass(frozen=True)
class Thresholds:
    min_failures: int = 10  # a rule about failures needs at least this many
    min_deliveries: int = 20  # a rule about a failure ratio needs this many finished
    rate_limited_share: float = 0.25  # of an endpoint's failures answered 429
    client_error_share: float = 0.5  # of an endpoint's failures answered 4xx (not 408/429)
    transient_share: float = 0.5  # of an endpoint's failures: 5xx or no HTTP response
    transient_failure_ratio: float = 0.2  # ... while this share of its deliveries fails
    tenant_failure_ratio: float = 0.25  # of a tenant's finished deliveries failing
    event_type_failure_ratio: float = 0.5  # of an event type's finished deliveries failing
    event_type_min_tenants: int = 2  # an event type failing for several tenants
    dead_days: int = 3  # an endpoint failing every delivery for this many days
    dead_min_failures: int = 3


Measures = dict[str, ColumnElement]


@dataclass(frozen=True)
class RecommendationRule:
    id: str
    subject: str  # deliveries column the rule groups by
    measures: Callable[[Any], Measures]  # columns -> aggregates over the failed rows
    having: Callable[[Measures, Thresholds, Window], ColumnElement]
    impact: str  # measure counting the deliveries concerned
    sentence: str  # str.format over the row (subject, measures, derived values)
    evidence: str
    link: Callable[[dict], dict]  # row -> history filters
    weight: float = 1.0
    #: the subject's failed / finished deliveries must reach this (adds ``finished``)
    min_failure_ratio: Callable[[Thresholds], float] | None = None
    #: the subject had no delivered delivery in the window
    no_delivered: bool = False
    lookback: Callable[[Thresholds], timedelta] | None = None  # fixed window, else period
    derive: Callable[[dict], dict] = field(default=lambda row: {})
    extra_where: Callable[[Any, Thresholds], list[ColumnElement]] = field(
        default=lambda c, t: []
    )


def pct(part: float, whole: float) -> str:
    """``38 %`` (whole percent, ``<1 %`` for a small non-zero part)."""
    if not whole:
        return "0 %"
    value = 100.0 * part / whole
    return "<1 %" if 0 < value < 1 else f"{round(value)} %"


def _share(part: ColumnElement, whole: ColumnElement, threshold: float) -> ColumnElement:
    return cast(part, Float) >= cast(whole, Float) * threshold


def _transient_looking(c) -> ColumnElement:
    """A 5xx answer, or no HTTP response at all (refused, reset, timed out ...)."""
    return (c.http_status >= 500) | c.http_status.is_(None)


RULES: tuple[RecommendationRule, ...] = (
    RecommendationRule(
        id="endpoint-rate-limited",
        subject="endpoint",
        measures=lambda c: {
            "failures": func.count(),
            "rate_limited": count_if(c.http_status == 429),
        },
        having=lambda m, t, w: and_(
            m["failures"] >= t.min_failures,
            _share(m["rate_limited"], m["failures"], t.rate_limited_share),
        ),
        impact="rate_limited",
        weight=1.0,
        derive=lambda r: {"share": pct(r["rate_limited"], r["failures"])},
        sentence="Consider rate-limiting deliveries to endpoint {endpoint}: {share} of its "
        "failures are 429s",
        evidence="{rate_limited} of its {failures} failures in the {period_label} answered "
        "HTTP 429 Too Many Requests.",
        link=lambda r: {"endpoint": r["endpoint"], "status": "failed",
                        "category": RATE_LIMITED},
    ),
    RecommendationRule(
        id="endpoint-dead",
        subject="endpoint",
        lookback=lambda t: timedelta(days=t.dead_days),
        measures=lambda c: {
            "failures": func.count(),
            "first_at": func.min(c.last_attempt_at),
            "last_at": func.max(c.last_attempt_at),
        },
        # Failing since the window's first day (not merely a new endpoint) ...
        having=lambda m, t, w: and_(
            m["failures"] >= t.dead_min_failures,
            m["first_at"] < w.since + timedelta(days=1),
        ),
        no_delivered=True,  # ... and not one delivery got through
        extra_where=lambda c, t: [
            c.endpoint.not_in(select(endpoints.c.url).where(endpoints.c.disabled.is_(True)))
        ],
        impact="failures",
        weight=1.5,
        sentence="Endpoint {endpoint} has failed every delivery for {days} days — disable it?",
        evidence="{failures} failed deliveries between {first_at} and {last_at}, none "
        "delivered.",
        link=lambda r: {"endpoint": r["endpoint"]},
    ),
    RecommendationRule(
        id="tenant-failing",
        subject="tenant",
        measures=lambda c: {"failures": func.count()},
        having=lambda m, t, w: m["failures"] >= t.min_deliveries * t.tenant_failure_ratio,
        min_failure_ratio=lambda t: t.tenant_failure_ratio,
        impact="failures",
        weight=1.0,
        derive=lambda r: {"share": pct(r["failures"], r["finished"])},
        sentence="Tenant {tenant}: {share} of deliveries failing — check its webhook "
        "configuration",
        evidence="{failures} of {finished} finished deliveries in the {period_label} failed.",
        link=lambda r: {"tenant": r["tenant"], "status": "failed"},
    ),
    RecommendationRule(
        id="endpoint-client-errors",
        subject="endpoint",
        measures=lambda c: {
            "failures": func.count(),
            "client_errors": count_if(
                c.http_status.between(400, 499) & c.http_status.not_in((408, 429))
            ),
        },
        having=lambda m, t, w: and_(
            m["failures"] >= t.min_failures,
            _share(m["client_errors"], m["failures"], t.client_error_share),
        ),
        impact="client_errors",
        weight=0.9,
        derive=lambda r: {"share": pct(r["client_errors"], r["failures"])},
        sentence="Endpoint {endpoint} rejects our requests: {share} of its failures are 4xx — "
        "check its URL, credentials and expected payload before replaying",
        evidence="{client_errors} of its {failures} failures in the {period_label} answered "
        "a 4xx client error (other than 408 and 429): retrying as is will not help.",
        link=lambda r: {"endpoint": r["endpoint"], "status": "failed", "category": PERMANENT},
    ),
    RecommendationRule(
        id="endpoint-transient-failures",
        subject="endpoint",
        measures=lambda c: {
            "failures": func.count(),
            "transient": count_if(_transient_looking(c)),
        },
        having=lambda m, t, w: and_(
            m["failures"] >= t.min_failures,
            _share(m["transient"], m["failures"], t.transient_share),
        ),
        min_failure_ratio=lambda t: t.transient_failure_ratio,
        impact="transient",
        weight=0.7,
        derive=lambda r: {"share": pct(r["failures"], r["finished"])},
        sentence="Endpoint {endpoint}: {transient} failures look transient (5xx, timeouts, "
        "refused connections) — replay them with the Replay Advisor once it recovers",
        evidence="{failures} of its {finished} finished deliveries ({share}) failed in the "
        "{period_label}; {transient} of them with a 5xx status or no HTTP response.",
        link=lambda r: {"endpoint": r["endpoint"], "status": "failed", "category": TRANSIENT},
    ),
    RecommendationRule(
        id="event-type-failing",
        subject="event_type",
        measures=lambda c: {
            "failures": func.count(),
            "tenants": func.count(func.distinct(c.tenant)),
        },
        having=lambda m, t, w: and_(
            m["failures"] >= t.min_deliveries * t.event_type_failure_ratio,
            m["tenants"] >= t.event_type_min_tenants,
        ),
        min_failure_ratio=lambda t: t.event_type_failure_ratio,
        extra_where=lambda c, t: [c.event_type.is_not(None)],
        impact="failures",
        weight=0.8,
        derive=lambda r: {"share": pct(r["failures"], r["finished"])},
        sentence="Event type {event_type}: {share} of deliveries failing across {tenants} "
        "tenants — check its payload against what receivers expect",
        evidence="{failures} of {finished} finished {event_type} deliveries in the "
        "{period_label} failed, for {tenants} tenants.",
        link=lambda r: {"event_type": r["event_type"], "status": "failed"},
    ),
)


def rule_statement(rule: RecommendationRule, w: Window, thresholds: Thresholds,
                   scope: TenantScope = ALL):
    """Steps 1 and 3: the rule's failure measures per subject, HAVING its condition (and,
    for a ratio rule, the subject's pending deliveries in the window: ``pending``)."""
    table = indexed(FAILED_INDEX)
    c = table.c
    subject = c[rule.subject]
    raw = rule.measures(c)
    where = [status_is("failed", table), c.last_attempt_at >= w.since,
             c.last_attempt_at < w.until, *rule.extra_where(c, thresholds),
             *scope.where(c.tenant)]
    failed = (
        select(subject.label("subject"), *(expr.label(name) for name, expr in raw.items()))
        .where(*where)
        .group_by(subject)
        .having(rule.having(raw, thresholds, w))
        .subquery("failed")
    )
    columns = [failed.c.subject.label(rule.subject), *(failed.c[name] for name in raw)]
    if rule.min_failure_ratio is None:
        stmt = select(*columns)
    else:  # the ratio is over finished deliveries: pending ones are left out
        d = deliveries.c
        pending = (
            select(d[rule.subject].label("subject"), func.count().label("pending"))
            .where(status_is("pending"), d.last_attempt_at >= w.since,
                   d.last_attempt_at < w.until, *scope.where(d.tenant))
            .group_by(d[rule.subject])
            .subquery("pending")
        )
        stmt = select(*columns, func.coalesce(pending.c.pending, 0).label("pending")).select_from(
            failed.outerjoin(pending, pending.c.subject == failed.c.subject)
        )
    if rule.no_delivered:  # once per candidate, after grouping
        other = indexed(TIME_INDEX[rule.subject], "other")
        stmt = stmt.where(~exists(
            select(literal_column("1")).select_from(other).where(
                other.c[rule.subject] == failed.c.subject,
                other.c.last_attempt_at >= w.since,
                other.c.last_attempt_at < w.until,
                other.c.status == "delivered",
                *scope.where(other.c.tenant),
            )
        ))
    return stmt


#: Capped counts per statement (SQLite allows 500 SELECTs in one UNION ALL).
_CAPPED_PER_STATEMENT = 200


def capped_counts(
    conn: Connection, column: str, caps: dict[object, int], w: Window,
    scope: TenantScope = ALL,
) -> dict[object, int]:
    """Deliveries of each ``column = value`` in the window, counting no further than its
    cap; one ``UNION ALL`` statement per 200 values (one round trip, not one each)."""
    table = indexed(TIME_INDEX[column])
    c = table.c
    counts: dict[object, int] = {}
    items = list(caps.items())
    for start in range(0, len(items), _CAPPED_PER_STATEMENT):
        branches = []
        for pos, (value, cap) in enumerate(items[start : start + _CAPPED_PER_STATEMENT]):
            inner = (
                select(literal_column("1").label("one"))  # nothing but the index is read
                .select_from(table)
                .where(c[column] == value, c.last_attempt_at >= w.since,
                       c.last_attempt_at < w.until, *scope.where(c.tenant))
                .limit(cap)
                .subquery(f"capped_{pos}")
            )
            branches.append(
                select(literal(start + pos).label("pos"), func.count().label("n"))
                .select_from(inner)
            )
        for pos, n in conn.execute(union_all(*branches)):
            counts[items[int(pos)][0]] = int(n)
    return counts


def evaluate_rule(
    conn: Connection, rule: RecommendationRule, w: Window, thresholds: Thresholds,
    scope: TenantScope = ALL,
) -> list[dict]:
    """The rows for which ``rule`` fires (over ``scope``'s deliveries), largest impact
    first."""
    rows = [dict(r) for r in
            conn.execute(rule_statement(rule, w, thresholds, scope)).mappings()]
    if rule.min_failure_ratio is not None and rows:
        ratio = rule.min_failure_ratio(thresholds)
        # finished > failures / ratio means the ratio is missed: stop counting there.
        caps = {
            row[rule.subject]: int(as_int(row["failures"]) / ratio) + as_int(row["pending"]) + 1
            for row in rows
        }
        seen = capped_counts(conn, rule.subject, caps, w, scope)
        kept = []
        for row in rows:
            key, failures = row[rule.subject], as_int(row["failures"])
            finished = seen.get(key, 0) - as_int(row["pending"])
            if seen.get(key, 0) < caps[key] and finished >= thresholds.min_deliveries and (
                failures >= ratio * finished
            ):
                row["finished"] = finished
                kept.append(row)
        rows = kept
    rows.sort(key=lambda r: (-as_int(r[rule.impact]), str(r[rule.subject])))
    return rows[:MAX_RECOMMENDATIONS]


def recommendations(
    engine: Engine,
    period: Period | str,
    now: datetime,
    *,
    thresholds: Thresholds = Thresholds(),
    rules: tuple[RecommendationRule, ...] = RULES,
    limit: int = MAX_RECOMMENDATIONS,
    scope: TenantScope = ALL,
) -> list[dict]:
    """What every rule finds in the data (within ``scope``), ranked by impact, at most
    ``limit``."""
    p = get_period(period) if isinstance(period, str) else period
    found = []
    with engine.connect() as conn:
        for rule in rules:
            if rule.lookback is not None:
                span = rule.lookback(thresholds)
                w, label = Window(now - span, now), f"last {span.days} days"
            else:
                w, label = window(p, now), p.label
            for values in evaluate_rule(conn, rule, w, thresholds, scope):
                values["days"] = thresholds.dead_days
                values["period_label"] = label
                values.update(rule.derive(values))
                # the texts never show an endpoint URL's user:password
                shown = {k: (to_rfc3339(v) if isinstance(v, datetime) else redact_url(v))
                         for k, v in values.items()}
                impact = as_int(values[rule.impact])
                filters = rule.link(values)
                link = (
                    period_link(p, now, **filters)
                    if rule.lookback is None
                    else _window_link(w, filters)
                )
                found.append(
                    {
                        "rule": rule.id,
                        "subject": rule.subject,
                        "target": values[rule.subject],
                        "text": rule.sentence.format(**shown),
                        "evidence": rule.evidence.format(**shown),
                        "impact": impact,
                        "score": round(impact * rule.weight, 2),
                        "link": link,
                    }
                )
    found.sort(key=lambda r: (-r["score"], r["rule"], str(r["target"])))
    return found[:limit]


def _window_link(w: Window, filters: dict) -> str:
    from intel.deliveries.links import history_link

    return history_link(since=w.since, until=w.until, **filters)
