"""Replay advice and replay jobs (CONTRACTS §4, §6).

Reads need ``read``; creating and cancelling a job need ``replay``. The actor of a job
and of its cancellation is the token's name (an ``operator`` field in the body is
ignored). A job a token may not see (one with a delivery of a tenant outside its
tenants) is a 404, exactly like a missing one; ids outside its tenants are unknown ids.
"""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy import Engine

from intel.advisor import get_replay_recommendations
from intel.api import deps
from intel.api.auth import require
from intel.api.errors import ApiError, bad_parameter, not_found, responses
from intel.api.models import (
    Advice,
    CancelRequest,
    Job,
    JobBody,
    JobCreated,
    JobRequest,
)
from intel.api.serialize import to_json
from intel.auth import Identity
from intel.replay import jobs as J
from intel.settings import database_url, get_settings

router = APIRouter(tags=["replay"])


@router.get("/replay/recommendations", response_model=Advice,
            responses=responses(400, 401, 403))
def recommendations(
    who: Identity = Depends(require("read")),
    tenant: str | None = Query(None, description="one tenant (default: all the token's)"),
    since: str | None = Query(None, description="RFC 3339 or a look-back like 24h "
                                                "(default: replay.advisor_window)"),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """Which failed deliveries are safe to replay now, and why: over the token's tenants
    only (other tenants' failures are in no count, breakdown or list)."""
    now = deps.now()
    since_at = deps.since_param(since, now)
    try:
        body = get_replay_recommendations(
            engine, tenant, since_at, now=now, settings=get_settings().replay, scope=who.scope
        )
    except (ValueError, OverflowError) as exc:
        raise bad_parameter("query.since", str(exc)) from None
    return to_json(body)


@router.post("/replay/jobs", status_code=202, response_model=JobCreated,
             responses=responses(400, 401, 403, 409, 413, 422))
def create_replay_job(
    request: JobRequest,
    who: Identity = Depends(require("replay")),
    engine: Engine = Depends(deps.engine),
    launch=Depends(deps.launcher),
) -> dict:
    """Create a bulk replay job and start its runner; poll `GET /replay/jobs/{job_id}`.

    Give either `ids` or `recommended: true` (the advisor's recommendation now, within the
    token's tenants; 409 when it recommends nothing). `resend_unknown: true` with `ids`
    resends deliveries whose earlier replay had an unknown outcome (same webhook-id).
    Audited as the token's name; an `operator` field is ignored."""
    if bool(request.ids) == request.recommended:
        raise ApiError(400, "give either ids or recommended=true", where="body.ids")
    if request.resend_unknown and request.recommended:
        # the advisor never recommends an unknown outcome: a resend names its ids
        raise ApiError(400, "resend_unknown goes with ids, not with recommended",
                       where="body.resend_unknown")
    now = deps.now()
    if request.recommended:
        since_at = deps.since_param(request.since, now, where="body.since")
        try:
            made = J.create_recommended_job(
                engine, operator=who.name, now=now, launched_from="api", scope=who.scope,
                tenant=request.tenant, since=since_at, settings=get_settings().replay,
            )
        except (ValueError, OverflowError) as exc:  # JobError is a ValueError
            raise bad_parameter("body.since", str(exc)) from None
        if not made.created:
            raise ApiError(409, "the advisor recommends nothing now: "
                           + str(made.advice.get("reasoning", "")))
        job_id, preview = made.job_id, made.preview
    else:
        try:
            job_id, preview = J.create_job(
                engine, request.ids, operator=who.name, source="manual", now=now,
                scope=who.scope, resend_unknown=request.resend_unknown,
            )
        except J.UnknownDeliveries as exc:  # missing or outside the token's tenants
            raise bad_parameter("body.ids", str(exc)) from None
        except J.JobError as exc:
            raise ApiError(400, str(exc), where="body") from None
    launch(job_id, database_url=database_url(), operator=who.name)
    return to_json({"job_id": job_id, "preview": preview.to_dict(),
                    "poll": f"/replay/jobs/{job_id}"})


@router.get("/replay/jobs/{job_id}", response_model=JobBody,
            responses=responses(400, 401, 403, 404))
def replay_job(
    job_id: str,
    who: Identity = Depends(require("read")),
    items: bool = Query(False, description="also every item's outcome"),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """A job's progress (and with `items=true` every item's outcome); 404 for a job
    with a delivery of a tenant outside the token's tenants, as for a missing one."""
    progress = J.job_progress(
        engine, job_id, deps.now(), get_settings().replay.runner_stale_after_s,
        scope=who.scope,
    )
    if progress is None:
        raise not_found(f"no replay job {job_id!r}")
    body = {"progress": progress}
    if items:
        body["summary"] = J.job_summary(engine, job_id, scope=who.scope)
    return to_json(body)


@router.post("/replay/jobs/{job_id}/cancel", response_model=Job,
             responses=responses(400, 401, 403, 404, 409, 413, 422))
def cancel_replay_job(
    job_id: str,
    request: CancelRequest | None = Body(None),
    who: Identity = Depends(require("replay")),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """Cancel a job: pending items are not sent, items in flight finish. Audited as the
    token's name (an `operator` field is ignored); 404 as for `GET`, 409 when it has
    finished already."""
    try:
        job = J.request_cancel(
            engine, job_id, operator=who.name, now=deps.now(),
            stale_after_s=get_settings().replay.runner_stale_after_s, scope=who.scope,
        )
    except J.UnknownJob:
        raise not_found(f"no replay job {job_id!r}") from None
    except J.JobError as exc:
        raise ApiError(409, str(exc)) from None
    return to_json(job)
