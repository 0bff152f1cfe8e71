"""Deliveries and their triage."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from sqlalchemy import Engine, select

from intel.api import deps
from intel.api.serialize import to_json
from intel.deliveries.query import get_delivery, parse_filter, view_page
from intel.store.schema import deliveries
from intel.triage import classify_delivery, classify_frame

router = APIRouter()

BATCH_LIMIT = 100


def _triage_body(result) -> dict:
    return {
        "category": result.category,
        "score": result.score,
        "reason": result.reason,
        "recommended_action": result.recommended_action,
    }


@router.get("/deliveries", tags=["deliveries"])
def list_deliveries(
    request: Request,
    page: int = Query(1, ge=1),
    per_page: int = Query(100, ge=1, le=500),
    engine: Engine = Depends(deps.engine),
) -> dict:
    """The delivery history: the same filters as the app's URL (`tenant`, `endpoint`,
    `status`, `event_type`, `category`, `window` = 1h|24h|7d|custom, `since`, `until`)."""
    params = {k: v for k, v in request.query_params.items() if k not in ("page", "per_page")}
    if not params:
        params = {"window": "24h"}
    flt, problems = parse_filter(params)
    if problems:
        raise HTTPException(status_code=400, detail=problems)
    result = view_page(engine, flt, deps.now(), page=page, per_page=per_page)
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


@router.get("/deliveries/{delivery_id}", tags=["deliveries"])
def one_delivery(delivery_id: str, engine: Engine = Depends(deps.engine)) -> dict:
    delivery = get_delivery(engine, delivery_id)
    if delivery is None:
        raise HTTPException(status_code=404, detail=f"no delivery with id {delivery_id!r}")
    delivery["triage"] = _triage_body(classify_delivery(delivery))
    return to_json(delivery)


@router.get("/triage/deliveries/{delivery_id}", tags=["triage"])
def triage_one(delivery_id: str, engine: Engine = Depends(deps.engine)) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).mappings()
        row = row.first()
    if row is None:
        raise HTTPException(status_code=404, detail=f"no delivery with id {delivery_id!r}")
    return {"id": delivery_id, **_triage_body(classify_delivery(dict(row)))}


@router.post("/triage/deliveries/batch", tags=["triage"])
def triage_batch(
    ids: list[str] = Body(..., embed=True, description=f"at most {BATCH_LIMIT} delivery ids"),
    engine: Engine = Depends(deps.engine),
) -> dict:
    if len(ids) > BATCH_LIMIT:
        raise HTTPException(
            status_code=400, detail=f"ids: at most {BATCH_LIMIT} per request, got {len(ids)}"
        )
    import pandas as pd

    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(
            select(deliveries).where(deliveries.c.id.in_(ids))
        ).mappings()]
    found = {r["id"] for r in rows}
    results = []
    if rows:
        frame = pd.DataFrame(rows)
        triaged = classify_frame(frame)
        for i, row in enumerate(rows):
            t = triaged.iloc[i]
            results.append(
                {
                    "id": row["id"],
                    "category": str(t["category"]),
                    "score": int(t["score"]),
                    "reason": str(t["reason"]),
                    "recommended_action": str(t["recommended_action"]),
                }
            )
    return {"results": results, "not_found": [i for i in ids if i not in found]}
