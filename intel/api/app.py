"""FastAPI application: `python -m intel api` serves it with uvicorn."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Query
from sqlalchemy import Engine, text

from intel import __version__
from intel.api import deps
from intel.api.routes_anomalies import router as anomalies_router
from intel.api.routes_deliveries import router as deliveries_router
from intel.api.routes_insights import router as insights_router
from intel.api.routes_replay import router as replay_router
from intel.api.serialize import to_json
from intel.audit import AuditFilter, list_events


def create_app() -> FastAPI:
    app = FastAPI(
        title="AetherLink Ops Intelligence API",
        version=__version__,
        description="Triage, replay advice and replay, anomalies, insights and the audit trail. "
        "Times are RFC 3339 UTC; `since` also takes a look-back such as `24h`.",
    )

    @app.get("/health", tags=["meta"])
    def health(engine: Engine = Depends(deps.engine)) -> dict:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    @app.get("/audit", tags=["audit"])
    def audit(
        actor: str | None = None,
        action: str | None = Query(None, description="action prefix, e.g. `replay`"),
        since: str | None = Query(None, description="RFC 3339 or a look-back like 24h"),
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
        engine: Engine = Depends(deps.engine),
    ) -> dict:
        """The audit trail, newest first."""
        flt = AuditFilter(
            actor=actor, action_prefix=action, since=deps.since_param(since, deps.now())
        )
        events, total = list_events(engine, flt, limit=limit, offset=offset)
        return to_json({"total": total, "events": events})

    app.include_router(deliveries_router)
    app.include_router(replay_router)
    app.include_router(insights_router)
    app.include_router(anomalies_router)
    return app
