"""The audit trail (permission ``read``).

A tenant-limited token reads only the entries that concern one of its tenants; entries
that concern no single tenant (settings, tokens, imports, platform bursts, jobs over
several tenants) are for unrestricted tokens only (``intel.audit``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine

from intel.api import deps
from intel.api.auth import require
from intel.api.errors import responses
from intel.api.models import AuditPage
from intel.api.serialize import to_json
from intel.audit import AuditFilter, list_events
from intel.auth import Identity

router = APIRouter(tags=["audit"])

MAX_OFFSET = 1_000_000


@router.get("/audit", response_model=AuditPage, responses=responses(400, 401, 403))
def audit(
    who: Identity = Depends(require("read")),
    actor: str | None = Query(None, description="exactly this actor"),
    action: str | None = Query(None, description="action prefix, e.g. `replay`"),
    since: str | None = Query(None, description="RFC 3339 or a look-back like 24h"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """The audit trail, newest first (the token's tenants' entries only, see above)."""
    flt = AuditFilter(
        actor=actor, action_prefix=action, since=deps.since_param(since, deps.now())
    )
    events, total = list_events(engine, flt, limit=limit, offset=offset, scope=who.scope)
    return to_json({"total": total, "limit": limit, "offset": offset, "events": events})
