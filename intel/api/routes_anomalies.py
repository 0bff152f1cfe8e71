"""Incidents from the anomaly detector (seed M3)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from sqlalchemy import Engine

from intel.api import deps
from intel.api.serialize import to_json
from intel.incidents.queries import active_body, history_body, incident_body
from intel.incidents.store import AcknowledgeError, acknowledge_incident

router = APIRouter(prefix="/anomalies", tags=["anomalies"])


@router.get("/active")
def active(engine: Engine = Depends(deps.engine)) -> dict:
    """Active incidents, critical first (acknowledged ones included, marked)."""
    return to_json(active_body(engine, deps.now()))


@router.get("/history")
def history(
    since: str | None = Query(None, description="RFC 3339 or a look-back like 7d (default 7d)"),
    limit: int = Query(500, ge=1, le=5000),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """Incidents detected since `since`, newest first, with resolution and acknowledgement."""
    now = deps.now()
    return to_json(history_body(engine, now, deps.since_param(since, now), limit=limit))


@router.post("/{incident_id}/acknowledge")
def acknowledge(
    incident_id: str,
    operator: str = Body(..., embed=True, min_length=1),
    note: str = Body("", embed=True),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """"Mark as known issue": hides it from the banner; it stays tracked. Audited."""
    now = deps.now()
    try:
        incident = acknowledge_incident(engine, incident_id, operator, note, now, via="api")
    except AcknowledgeError as exc:
        status = 404 if "no incident" in str(exc) else 409
        raise HTTPException(status_code=status, detail=str(exc)) from None
    return to_json(incident_body(incident, now))
