"""Deliveries and their triage (permission ``read``; within the token's tenants)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Engine, select

from intel.api import deps
from intel.api.auth import require
from intel.api.errors import ApiError, bad_parameter, not_found, responses
from intel.api.models import BatchRequest, DeliveryDetail, DeliveryPage, TriageBatch, TriageResult
from intel.api.serialize import to_json
from intel.auth import Identity
from intel.deliveries.query import get_delivery, parse_filter, view_page
from intel.store.schema import deliveries
from intel.triage import classify_delivery

router = APIRouter()

BATCH_LIMIT = 100
MAX_PAGE = 10000
MAX_PER_PAGE = 500
#: Columns triage reads: a batch loads these, not whole rows (payloads can be large).
TRIAGE_COLUMNS = ("id", "tenant", "status", "http_status", "error", "response_headers",
                  "response_body")


def _triage_body(result) -> dict:
    return {
        "category": result.category,
        "score": result.score,
        "reason": result.reason,
        "recommended_action": result.recommended_action,
    }


def _filter_problem(problems: list[str]) -> ApiError:
    first = problems[0]
    name = first.split(":", 1)[0].split("/", 1)[0].strip() if ":" in first else None
    where = f"query.{name}" if name and name.isidentifier() else None
    return ApiError(400, "; ".join(problems), where=where,
                    problems=[{"where": where if i == 0 else None, "message": p}
                              for i, p in enumerate(problems)] if len(problems) > 1 else None)


@router.get("/deliveries", tags=["deliveries"], response_model=DeliveryPage,
            responses=responses(400, 401, 403))
def list_deliveries(
    who: Identity = Depends(require("read")),
    tenant: str | None = Query(None, description="one tenant"),
    endpoint: str | None = Query(None, description="one endpoint URL"),
    status: str | None = Query(None, description="delivered | failed | pending | all"),
    event_type: str | None = None,
    category: str | None = Query(None, description="a triage category"),
    window: str | None = Query(None, description="1h | 24h | 7d | custom (default 24h)"),
    since: str | None = Query(None, description="RFC 3339, with window=custom"),
    until: str | None = Query(None, description="RFC 3339, with window=custom"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    per_page: int = Query(100, ge=1, le=MAX_PER_PAGE),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """The delivery history of the token's tenants, newest first: the same filters as the
    app's URL. Deliveries of other tenants are absent from the rows and every total."""
    now = deps.now()
    for name, value in (("since", since), ("until", until)):
        deps.timestamp_param(value, now, name)  # out-of-range times: a 400, not an overflow
    params = {k: v for k, v in {
        "tenant": tenant, "endpoint": endpoint, "status": status, "event_type": event_type,
        "category": category, "window": window, "since": since, "until": until,
    }.items() if v is not None}
    flt, problems = parse_filter(params or {"window": "24h"})
    if problems:
        raise _filter_problem(problems)
    result = view_page(engine, flt, now, page=page, per_page=per_page, scope=who.scope)
    return to_json(
        {
            "filter": flt.to_params(),
            "total": result.total,
            "by_status": result.by_status,
            "page": result.page,
            "per_page": result.per_page,
            "note": result.note,
            "deliveries": result.rows,
        }
    )


@router.get("/deliveries/{delivery_id}", tags=["deliveries"], response_model=DeliveryDetail,
            responses=responses(400, 401, 403, 404))
def one_delivery(delivery_id: str, who: Identity = Depends(require("read")),
                 engine: Engine = Depends(deps.engine)) -> dict:
    """One delivery with its attempts and triage; 404 when there is none or it is of a
    tenant outside the token's tenants (the same answer)."""
    delivery = get_delivery(engine, delivery_id, scope=who.scope)
    if delivery is None:
        raise not_found(f"no delivery with id {delivery_id!r}")
    delivery["triage"] = _triage_body(classify_delivery(delivery))
    return to_json(delivery)


@router.get("/triage/deliveries/{delivery_id}", tags=["triage"], response_model=TriageResult,
            responses=responses(400, 401, 403, 404))
def triage_one(delivery_id: str, who: Identity = Depends(require("read")),
               engine: Engine = Depends(deps.engine)) -> dict:
    """The triage of one delivery; 404 as for `GET /deliveries/{delivery_id}`."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*(deliveries.c[c] for c in TRIAGE_COLUMNS))
            .where(deliveries.c.id == delivery_id, *who.scope.where(deliveries.c.tenant))
        ).mappings().first()
    if row is None:
        raise not_found(f"no delivery with id {delivery_id!r}")
    return to_json({"id": delivery_id, **_triage_body(classify_delivery(dict(row)))})


@router.post("/triage/deliveries/batch", tags=["triage"], response_model=TriageBatch,
             responses=responses(400, 401, 403, 413, 422))
def triage_batch(request: BatchRequest, who: Identity = Depends(require("read")),
                 engine: Engine = Depends(deps.engine)) -> dict:
    """Triage of up to 100 deliveries at once (a read: permission `read`). Ids with no
    delivery, or of a tenant outside the token's tenants, are listed in `not_found`."""
    ids = list(dict.fromkeys(request.ids))
    if len(ids) > BATCH_LIMIT:  # the model says so too; kept for callers of the function
        raise bad_parameter("body.ids", f"at most {BATCH_LIMIT} per request, got {len(ids)}")
    rows: list[dict] = []
    if ids:
        with engine.connect() as conn:
            found = {
                r["id"]: dict(r)
                for r in conn.execute(
                    select(*(deliveries.c[c] for c in TRIAGE_COLUMNS))
                    .where(deliveries.c.id.in_(ids), *who.scope.where(deliveries.c.tenant))
                ).mappings()
            }
        rows = [found[i] for i in ids if i in found]
    # Row by row: for a batch of at most 100 the memoised single form is several times
    # faster than classify_frame's pandas pass, and gives the same results
    # (tests/triage/test_batch.py).
    results = [{"id": row["id"], **_triage_body(classify_delivery(row))} for row in rows]
    seen = {r["id"] for r in rows}
    return to_json({"results": results, "not_found": [i for i in ids if i not in seen]})
