"""Insights (seed M4): `period` is 24h | 7d | 30d; results cached (Redis or memory)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy import Engine

from intel.api import deps
from intel.api.serialize import to_json
from intel.cache import get_cache
from intel.insights import api as bodies
from intel.settings import get_settings

router = APIRouter(prefix="/insights", tags=["insights"])

PERIOD = Query(None, description="24h | 7d | 30d")


def _body(fn: Callable, engine: Engine, **params) -> dict:
    try:
        body = fn(engine, now=deps.now(), settings=get_settings().insights, cache=get_cache(),
                  **params)
    except ValueError as exc:  # names the bad parameter
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return to_json(body)


@router.get("/endpoints")
def endpoints(period: str | None = PERIOD, limit: int | None = Query(None, ge=1, le=100),
              engine: Engine = Depends(deps.engine)) -> dict:
    """Top failing endpoints with success rate and trend against the previous period."""
    return _body(bodies.endpoints_body, engine, period=period, limit=limit)


@router.get("/tenants")
def tenants(period: str | None = PERIOD, limit: int | None = Query(None, ge=1, le=100),
            engine: Engine = Depends(deps.engine)) -> dict:
    """Top tenants by failures with their most common triage category."""
    return _body(bodies.tenants_body, engine, period=period, limit=limit)


@router.get("/operators")
def operators(period: str | None = PERIOD, engine: Engine = Depends(deps.engine)) -> dict:
    """Operator activity from the audit trail and their replays' success."""
    return _body(bodies.operators_body, engine, period=period)


@router.get("/system-health")
def system_health(period: str | None = PERIOD, engine: Engine = Depends(deps.engine)) -> dict:
    """Deliveries, failure ratio, replay success, triage accuracy, incidents, MTTA/MTTR."""
    return _body(bodies.system_health_body, engine, period=period)


@router.get("/recommendations")
def recommendations(period: str | None = PERIOD, engine: Engine = Depends(deps.engine)) -> dict:
    """At most 10 ranked recommendations, each with its evidence and a history link."""
    return _body(bodies.recommendations_body, engine, period=period)


@router.get("/adoption")
def adoption(period: str | None = PERIOD, engine: Engine = Depends(deps.engine)) -> dict:
    """The seed's adoption figures (advisor-launched replays, banner acks, ...)."""
    return _body(bodies.adoption_body, engine, period=period)
