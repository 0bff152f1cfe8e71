"""The triage breakdown of the failures behind an incident.

The failures of the incident's target in its window are grouped in SQL by their shape
(status, error, the start of the body, headers); only the distinct shapes (at most
``MAX_SHAPES``, the commonest) go through ``intel.triage.classify_frame``, and the counts
are summed per category.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from intel.store.schema import deliveries

MAX_SHAPES = 50
BODY_PREFIX = 300


def failure_shapes(conn: Connection, incident_type: str, target: str, since: datetime,
                   until: datetime, limit: int = MAX_SHAPES) -> list[dict]:
    d = deliveries
    body = func.substr(d.c.response_body, 1, BODY_PREFIX)
    n = func.count().label("n")
    q = (
        select(d.c.http_status, d.c.error, body.label("response_body"), d.c.response_headers, n)
        .where(d.c.status == "failed", d.c.last_attempt_at >= since, d.c.last_attempt_at < until)
        .group_by(d.c.http_status, d.c.error, body, d.c.response_headers)
        .order_by(n.desc())
        .limit(limit)
    )
    if incident_type == "endpoint_spike":
        q = q.where(d.c.endpoint == target)
    elif incident_type == "tenant_spike":
        q = q.where(d.c.tenant == target)
    return [dict(r) for r in conn.execute(q).mappings()]


def triage_breakdown(conn: Connection, incident_type: str, target: str, now: datetime,
                     window_s: int) -> dict:
    """``{"window_s", "failures", "categories": {category: n}, "top": {...}}``."""
    import pandas as pd

    from intel.triage import classify_frame

    since = now - timedelta(seconds=window_s)
    shapes = failure_shapes(conn, incident_type, target, since, now)
    out: dict = {"window_s": window_s, "failures": 0, "categories": {}, "top": None}
    if not shapes:
        return out
    frame = pd.DataFrame(shapes)
    frame["status"] = "failed"
    result = classify_frame(frame)
    frame = frame.join(result)
    total = int(frame["n"].sum())
    by_category = frame.groupby("category")["n"].sum().sort_values(ascending=False)
    first = frame.sort_values("n", ascending=False).iloc[0]
    out.update(
        failures=total,
        categories={str(k): int(v) for k, v in by_category.items()},
        top={
            "category": str(first["category"]),
            "count": int(first["n"]),
            "share": round(int(first["n"]) / total, 3),
            "http_status": None if pd.isna(first["http_status"]) else int(first["http_status"]),
            "error": None if first["error"] is None or pd.isna(first["error"])
            else str(first["error"])[:300],
            "reason": str(first["reason"]),
            "recommended_action": str(first["recommended_action"]),
        },
    )
    return out
