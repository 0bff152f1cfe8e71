"""Insights (seed M4): `period` is 24h | 7d | 30d; results cached (Redis or memory).

Permission ``read``. Every figure is computed over the token's tenants (the cache keeps
one entry per tenant scope). Platform-wide figures are for unrestricted tokens only: for
a tenant-limited token, system health counts the incidents of its tenants (bursts and
spikes on endpoints several tenants share are left out, not counted elsewhere), the
operators table counts only actions concerning its tenants, and the adoption figures'
daily Insights-use series (page views concern no tenant) is empty.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from intel.api import deps
from intel.api.auth import require
from intel.api.errors import bad_parameter, responses
from intel.api.models import (
    AdoptionInsights,
    EndpointsInsights,
    OperatorsInsights,
    RecommendationsInsights,
    SystemHealth,
    TenantsInsights,
)
from intel.api.serialize import to_json
from intel.auth import Identity
from intel.cache import get_cache
from intel.insights import api as bodies
from intel.settings import get_settings

router = APIRouter(prefix="/insights", tags=["insights"])

PERIOD = Query(None, description="24h | 7d | 30d (default 24h)")
LIMIT = Query(None, ge=1, le=100, description="rows, 1..100 (default insights.top_limit)")
ERRORS = responses(400, 401, 403)


def _body(fn: Callable, engine: Engine, who: Identity, **params) -> dict:
    try:
        body = fn(engine, now=deps.now(), settings=get_settings().insights, cache=get_cache(),
                  scope=who.scope, **params)
    except ValueError as exc:  # names the bad parameter ("period: ..." or "limit: ...")
        name = str(exc).split(":", 1)[0] if ":" in str(exc) else "period"
        raise bad_parameter(f"query.{name}", str(exc)) from None
    return to_json(body)


@router.get("/endpoints", response_model=EndpointsInsights, responses=ERRORS)
def endpoints(who: Identity = Depends(require("read")), period: str | None = PERIOD,
              limit: int | None = LIMIT, engine: Engine = Depends(deps.engine)) -> dict:
    """Top failing endpoints (of the token's tenants) with success rate and trend."""
    return _body(bodies.endpoints_body, engine, who, period=period, limit=limit)


@router.get("/tenants", response_model=TenantsInsights, responses=ERRORS)
def tenants(who: Identity = Depends(require("read")), period: str | None = PERIOD,
            limit: int | None = LIMIT, engine: Engine = Depends(deps.engine)) -> dict:
    """Top tenants (of the token's) by failures with their most common triage category."""
    return _body(bodies.tenants_body, engine, who, period=period, limit=limit)


@router.get("/operators", response_model=OperatorsInsights, responses=ERRORS)
def operators(who: Identity = Depends(require("read")), period: str | None = PERIOD,
              engine: Engine = Depends(deps.engine)) -> dict:
    """Operator activity from the audit trail (actions concerning the token's tenants) and
    their replays' success."""
    return _body(bodies.operators_body, engine, who, period=period)


@router.get("/system-health", response_model=SystemHealth, responses=ERRORS)
def system_health(who: Identity = Depends(require("read")), period: str | None = PERIOD,
                  engine: Engine = Depends(deps.engine)) -> dict:
    """Deliveries, failure ratio, replay success, triage accuracy, incidents, MTTA/MTTR.

    For a tenant-limited token every figure is over its tenants: platform totals and
    platform-wide incidents (bursts, shared endpoints) are not in it."""
    return _body(bodies.system_health_body, engine, who, period=period)


@router.get("/recommendations", response_model=RecommendationsInsights, responses=ERRORS)
def recommendations(who: Identity = Depends(require("read")), period: str | None = PERIOD,
                    engine: Engine = Depends(deps.engine)) -> dict:
    """At most 10 ranked recommendations, each with its evidence and a history link."""
    return _body(bodies.recommendations_body, engine, who, period=period)


@router.get("/adoption", response_model=AdoptionInsights, responses=ERRORS)
def adoption(who: Identity = Depends(require("read")), period: str | None = PERIOD,
             engine: Engine = Depends(deps.engine)) -> dict:
    """The seed's adoption figures (advisor-launched replays, banner acks, ...); the daily
    Insights-use series is platform-wide: empty for a tenant-limited token."""
    return _body(bodies.adoption_body, engine, who, period=period)
