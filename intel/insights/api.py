"""JSON bodies of the insights endpoints, cached (``intel.cache``).

``GET /insights/endpoints?period=&limit=``  -> :func:`endpoints_body`
``GET /insights/tenants?period=&limit=``    -> :func:`tenants_body`
``GET /insights/operators?period=``         -> :func:`operators_body`
``GET /insights/system-health?period=``     -> :func:`system_health_body`
plus :func:`recommendations_body` and :func:`adoption_body`, and :func:`load_insights`
(everything the Insights page shows, for one period).

Each takes the engine, the query parameters as given (``period`` one of 24h, 7d, 30d;
``limit`` 1..100; a bad value raises ``ValueError`` naming the parameter: a 400/422),
``now``, the settings section and optionally a :class:`~intel.cache.ResultCache`. A
body is cached for ``cache_ttl_s`` under its query name and parameters (and the
database it was computed from); ``as_of`` says when it was computed.

Each also takes ``scope`` (CONTRACTS §6, default every tenant): the figures of a
tenant-scoped identity are computed over its tenants only, and its cache entries are
its own (the key includes ``scope.cache_key()``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from intel.auth.scope import ALL, TenantScope
from intel.cache import ResultCache
from intel.insights import accuracy, adoption, endpoints, health, operators, tenants
from intel.insights.periods import check_limit, get_period, window
from intel.insights.recommendations import Thresholds, recommendations
from intel.settings.insights import InsightsSettings
from intel.timeutil import ensure_utc, to_rfc3339

DEFAULT_SETTINGS = InsightsSettings()


def database_key(engine: Engine) -> str:
    """Which database a result came from (URL without password, hashed)."""
    url = engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def thresholds_from(settings: InsightsSettings) -> Thresholds:
    return Thresholds(
        min_failures=settings.recommend_min_failures,
        rate_limited_share=settings.recommend_rate_limited_share,
        tenant_failure_ratio=settings.recommend_tenant_failure_ratio,
        dead_days=settings.recommend_dead_days,
    )


def _cached(
    cache: ResultCache | None, query: str, engine: Engine, params: dict[str, Any],
    compute: Callable[[], dict], scope: TenantScope,
) -> dict:
    if cache is None:
        return compute()
    key = {"db": database_key(engine), "scope": scope.cache_key(), **params}
    return cache.get_or_compute(query, key, compute)


def _header(period_name: str, now: datetime) -> dict:
    w = window(period_name, now)
    return {"period": period_name, "since": to_rfc3339(w.since), "until": to_rfc3339(w.until),
            "as_of": to_rfc3339(now)}


def endpoints_body(
    engine: Engine, *, now: datetime, period: str | None = None, limit: object = None,
    settings: InsightsSettings = DEFAULT_SETTINGS, cache: ResultCache | None = None,
    scope: TenantScope = ALL,
) -> dict:
    p = get_period(period)
    n = check_limit(settings.top_limit if limit in (None, "") else limit)
    now = ensure_utc(now)

    def compute() -> dict:
        rows = endpoints.top_failing_endpoints(engine, p, now, limit=n,
                                               trend_threshold=settings.trend_threshold,
                                               scope=scope)
        return _header(p.name, now) | {"trend_threshold": settings.trend_threshold,
                                       "endpoints": rows}

    return _cached(cache, "endpoints", engine,
                   {"period": p.name, "limit": n, "trend": settings.trend_threshold}, compute,
                   scope)


def tenants_body(
    engine: Engine, *, now: datetime, period: str | None = None, limit: object = None,
    settings: InsightsSettings = DEFAULT_SETTINGS, cache: ResultCache | None = None,
    scope: TenantScope = ALL,
) -> dict:
    p = get_period(period)
    n = check_limit(settings.top_limit if limit in (None, "") else limit)
    now = ensure_utc(now)

    def compute() -> dict:
        rows = tenants.top_tenants(engine, p, now, limit=n,
                                   trend_threshold=settings.trend_threshold, scope=scope)
        return _header(p.name, now) | {"trend_threshold": settings.trend_threshold,
                                       "tenants": rows}

    return _cached(cache, "tenants", engine,
                   {"period": p.name, "limit": n, "trend": settings.trend_threshold}, compute,
                   scope)


def operators_body(
    engine: Engine, *, now: datetime, period: str | None = None,
    settings: InsightsSettings = DEFAULT_SETTINGS, cache: ResultCache | None = None,
    scope: TenantScope = ALL,
) -> dict:
    p = get_period(period)
    now = ensure_utc(now)

    def compute() -> dict:
        return _header(p.name, now) | {
            "operators": operators.operator_activity(engine, p, now, scope=scope),
            "heatmap": operators.activity_heatmap(engine, p, now, scope=scope),
        }

    return _cached(cache, "operators", engine, {"period": p.name}, compute, scope)


def system_health_body(
    engine: Engine, *, now: datetime, period: str | None = None,
    settings: InsightsSettings = DEFAULT_SETTINGS, cache: ResultCache | None = None,
    scope: TenantScope = ALL,
) -> dict:
    p = get_period(period)
    now = ensure_utc(now)

    def compute() -> dict:
        return _header(p.name, now) | {
            "deliveries": health.delivery_totals(engine, p, now, scope=scope),
            "replays": health.replay_trend(engine, p, now, scope=scope),
            "triage_accuracy": accuracy.triage_accuracy(engine, now, scope=scope),
            "incidents": health.incident_kpis(engine, p, now, scope=scope),
        }

    return _cached(cache, "system-health", engine, {"period": p.name}, compute, scope)


def recommendations_body(
    engine: Engine, *, now: datetime, period: str | None = None,
    settings: InsightsSettings = DEFAULT_SETTINGS, cache: ResultCache | None = None,
    scope: TenantScope = ALL,
) -> dict:
    p = get_period(period)
    now = ensure_utc(now)
    thresholds = thresholds_from(settings)

    def compute() -> dict:
        return _header(p.name, now) | {
            "recommendations": recommendations(engine, p, now, thresholds=thresholds,
                                               scope=scope)
        }

    return _cached(cache, "recommendations", engine,
                   {"period": p.name, "thresholds": thresholds.__dict__}, compute, scope)


def adoption_body(
    engine: Engine, *, now: datetime, period: str | None = None,
    settings: InsightsSettings = DEFAULT_SETTINGS, cache: ResultCache | None = None,
    scope: TenantScope = ALL,
) -> dict:
    p = get_period(period)
    now = ensure_utc(now)

    def compute() -> dict:
        return _header(p.name, now) | {
            "adoption": adoption.adoption(engine, p, now, scope=scope)
        }

    return _cached(cache, "adoption", engine, {"period": p.name}, compute, scope)


def load_insights(
    engine: Engine, *, now: datetime, period: str | None = None,
    settings: InsightsSettings = DEFAULT_SETTINGS, cache: ResultCache | None = None,
    scope: TenantScope = ALL,
) -> dict:
    """Every section of the Insights page for one period.

    On PostgreSQL the sections run side by side, each on its own pooled connection: the
    server does the work, and at a million deliveries the page loads in about 60 % of
    the time (bench/bench_insights.py). SQLite works inside this process, where threads
    only compete for the same cores and the GIL, so there they run one after the other.
    """
    get_period(period)  # a bad period fails here, once
    kwargs = {"now": now, "period": period, "settings": settings, "cache": cache,
              "scope": scope}
    if engine.dialect.name == "sqlite":
        return {name: body(engine, **kwargs) for name, body in SECTIONS.items()}
    with ThreadPoolExecutor(max_workers=len(SECTIONS), thread_name_prefix="insights") as pool:
        futures = {name: pool.submit(body, engine, **kwargs) for name, body in SECTIONS.items()}
        return {name: future.result() for name, future in futures.items()}


#: The sections of ``load_insights``, in page order.
SECTIONS: dict[str, Callable[..., dict]] = {
    "system_health": system_health_body,
    "endpoints": endpoints_body,
    "tenants": tenants_body,
    "operators": operators_body,
    "recommendations": recommendations_body,
    "adoption": adoption_body,
}
