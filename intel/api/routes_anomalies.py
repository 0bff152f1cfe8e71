"""Incidents from the anomaly detector (seed M3).

Reads need ``read``; acknowledging needs ``acknowledge``. A tenant-limited token sees the
incidents of its tenants only: platform-wide ones (bursts, spikes on an endpoint several
tenants share) are for unrestricted tokens, and acknowledging an incident it may not see
is a 404, exactly like a missing one.
"""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy import Engine

from intel.api import deps
from intel.api.auth import require
from intel.api.errors import ApiError, not_found, responses
from intel.api.models import AckRequest, ActiveIncidents, Incident, IncidentHistory
from intel.api.serialize import to_json
from intel.auth import Identity
from intel.incidents.queries import active_body, history_body, incident_body
from intel.incidents.store import AcknowledgeError, acknowledge_incident

router = APIRouter(prefix="/anomalies", tags=["anomalies"])


@router.get("/active", response_model=ActiveIncidents, responses=responses(400, 401, 403))
def active(who: Identity = Depends(require("read")),
           engine: Engine = Depends(deps.engine)) -> dict:
    """Active incidents, critical first (acknowledged ones included, marked)."""
    return to_json(active_body(engine, deps.now(), scope=who.scope))


@router.get("/history", response_model=IncidentHistory, responses=responses(400, 401, 403))
def history(
    who: Identity = Depends(require("read")),
    since: str | None = Query(None, description="RFC 3339 or a look-back like 7d (default 7d)"),
    limit: int = Query(500, ge=1, le=5000),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """Incidents detected since `since`, newest first, with resolution and acknowledgement."""
    now = deps.now()
    return to_json(history_body(engine, now, deps.since_param(since, now), limit=limit,
                                scope=who.scope))


@router.post("/{incident_id}/acknowledge", response_model=Incident,
             responses=responses(400, 401, 403, 404, 409, 413, 422))
def acknowledge(
    incident_id: str,
    request: AckRequest | None = Body(None),
    who: Identity = Depends(require("acknowledge")),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """"Mark as known issue": hides it from the banner; it stays tracked. Audited with
    the token's name as the actor (an `operator` field is ignored); 404 for an incident
    the token may not see, 409 when it is acknowledged or resolved already."""
    now = deps.now()
    try:
        note = request.note if request is not None else ""
        incident = acknowledge_incident(engine, incident_id, who.name, note, now,
                                        via="api", scope=who.scope)
    except AcknowledgeError as exc:
        if "no incident" in str(exc):
            raise not_found(f"no incident {incident_id!r}") from None
        raise ApiError(409, str(exc)) from None
    return to_json(incident_body(incident, now))
