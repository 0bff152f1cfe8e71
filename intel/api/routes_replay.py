"""Replay advice and replay jobs (CONTRACTS §4)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from intel.advisor import get_replay_recommendations
from intel.api import deps
from intel.api.serialize import to_json
from intel.replay import jobs as J
from intel.replay.background import launch
from intel.settings import database_url, get_settings

router = APIRouter(tags=["replay"])


@router.get("/replay/recommendations")
def recommendations(
    tenant: str | None = None,
    since: str | None = Query(None, description="RFC 3339 or a look-back like 24h"),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """Which failed deliveries are safe to replay now, and why."""
    try:
        body = get_replay_recommendations(
            engine, tenant, since, now=deps.now(), settings=get_settings().replay
        )
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=f"since: {exc}") from None
    return to_json(body)


class JobRequest(BaseModel):
    operator: str = Field(..., min_length=1, description="who is replaying (audited)")
    ids: list[str] | None = Field(None, description="delivery ids; or use `recommended`")
    recommended: bool = Field(False, description="replay the advisor's recommendation")
    tenant: str | None = None
    since: str | None = None


@router.post("/replay/jobs", status_code=202)
def create_replay_job(request: JobRequest, engine: Engine = Depends(deps.engine)) -> dict:
    """Create a bulk replay job and start its runner; poll `GET /replay/jobs/{id}`."""
    if bool(request.ids) == request.recommended:
        raise HTTPException(status_code=400, detail="give either ids or recommended=true")
    now = deps.now()
    filters = None
    if request.recommended:
        try:
            advice = get_replay_recommendations(
                engine, request.tenant, request.since, now=now, settings=get_settings().replay
            )
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=f"since: {exc}") from None
        ids = advice["recommended_ids"]
        if not ids:
            raise HTTPException(status_code=409, detail="the advisor recommends nothing now")
        filters = {"tenant": request.tenant, "since": request.since}
        source = "advisor"
    else:
        ids, source = request.ids, "manual"
    try:
        job_id, preview = J.create_job(
            engine, ids, operator=request.operator, source=source, now=now, filters=filters
        )
    except J.JobError as exc:  # includes unknown delivery ids
        raise HTTPException(status_code=400, detail=str(exc)) from None
    launch(job_id, database_url=database_url(), operator=request.operator)
    return to_json({"job_id": job_id, "preview": asdict(preview)})


@router.get("/replay/jobs/{job_id}")
def replay_job(job_id: str, items: bool = False, engine: Engine = Depends(deps.engine)) -> dict:
    progress = J.job_progress(
        engine, job_id, deps.now(), get_settings().replay.runner_stale_after_s
    )
    if progress is None:
        raise HTTPException(status_code=404, detail=f"no replay job {job_id!r}")
    body = {"progress": progress}
    if items:
        body["summary"] = J.job_summary(engine, job_id)
    return to_json(body)


@router.post("/replay/jobs/{job_id}/cancel")
def cancel_replay_job(
    job_id: str,
    operator: str = Body(..., embed=True, min_length=1),
    engine: Engine = Depends(deps.engine),
) -> dict:
    try:
        job = J.request_cancel(
            engine, job_id, operator=operator, now=deps.now(),
            stale_after_s=get_settings().replay.runner_stale_after_s,
        )
    except J.JobError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return to_json(job)
