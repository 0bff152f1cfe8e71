"""Top tenants by failures, with their most common triage category.

Per tenant with failures in the period: ``failures``, ``previous_failures`` and
``trend`` as for endpoints, the failures per triage category and ``top_category`` (the
most frequent; ties go to the category listed first in ``intel.triage.CATEGORIES``).
A tenant whose failure *ratio* stands out gets a recommendation (``recommendations``).
With a tenant ``scope`` only that identity's tenants are ranked (CONTRACTS §6).
"""

from __future__ import annotations

from datetime import datetime

from intel.auth.scope import ALL, TenantScope
from intel.insights._sql import FAILED_INDEX, indexed
from intel.insights.endpoints import DEFAULT_TREND_THRESHOLD, top_failing, trend
from intel.insights.periods import Period, get_period, period_link, window
from intel.insights.shapes import category_counts
from intel.triage import CATEGORIES


def _rank(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


def tenant_categories(
    engine, period: Period | str, now: datetime, tenants: list[str]
) -> dict[str, dict[str, int]]:
    """Failures per triage category of each tenant in ``tenants`` in the window."""
    if not tenants:
        return {}
    w = window(period, now)
    table = indexed(FAILED_INDEX)  # the failures of the window, then their rows
    d = table.c
    folded = category_counts(
        engine,
        table=table,
        where=[d.tenant.in_(tenants), d.last_attempt_at >= w.since, d.last_attempt_at < w.until],
        by=[d.tenant.label("tenant")],
    )
    out: dict[str, dict[str, int]] = {}
    for tenant, category, n in folded[["tenant", "category", "n"]].itertuples(index=False):
        out.setdefault(tenant, {})[category] = int(n)
    return out


def top_category(counts: dict[str, int]) -> str | None:
    if not counts:
        return None
    return min(counts, key=lambda cat: (-counts[cat], _rank(cat)))


def top_tenants(
    engine,
    period: Period | str,
    now: datetime,
    *,
    limit: int = 10,
    trend_threshold: float = DEFAULT_TREND_THRESHOLD,
    scope: TenantScope = ALL,
) -> list[dict]:
    p = get_period(period) if isinstance(period, str) else period
    top = top_failing(engine, p, now, group="tenant", limit=limit, scope=scope)
    keys = [r["key"] for r in top]
    categories = tenant_categories(engine, p, now, keys)
    rows = []
    for r in top:
        cats = categories.get(r["key"], {})
        best = top_category(cats)
        rows.append(
            {
                "tenant": r["key"],
                "failures": r["failures"],
                "previous_failures": r["previous_failures"],
                "trend": trend(r["failures"], r["previous_failures"], trend_threshold),
                "top_category": best,
                "top_category_failures": cats.get(best, 0) if best else 0,
                "categories": dict(sorted(cats.items(), key=lambda kv: _rank(kv[0]))),
                "link": period_link(p, now, tenant=r["key"], status="failed"),
            }
        )
    return rows
