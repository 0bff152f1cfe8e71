"""The labelling queue from the store: recent unlabelled failures, sampled.

``build_queue`` reads the ``pool_size`` most recent failed deliveries that have no label
(never an already-labelled one), triages them with the rules (``intel.triage``), and
samples an informative queue from them (``intel.labels.sampling``). The same store,
seed and options give the same queue.

With a tenant ``scope`` (CONTRACTS §6) the queue holds only that identity's tenants'
failures, and :func:`load_delivery` answers None for a delivery outside it.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, select

from intel.auth.scope import ALL, TenantScope
from intel.insights._sql import TIME_INDEX, indexed
from intel.labels.sampling import Candidate, QueueItem, stratified_sample
from intel.store.schema import deliveries
from intel.store.schema.labels import labels
from intel.triage import CATEGORIES, classify_delivery, classify_frame

TRIAGE_COLUMNS = ("id", "status", "http_status", "error", "response_body", "response_headers")
#: Characters of the body read for the queue (triage reads at most this many anyway).
BODY_CHARS = 4096


def unlabelled_candidates(
    conn: Connection, *, pool_size: int, scope: TenantScope = ALL
) -> list[Candidate]:
    """The most recent unlabelled failures (within ``scope``) with the rules' prediction."""
    # A scope reads its tenants' rows newest first on the (tenant, last_attempt_at,
    # status) index, not every tenant's failures filtered one table row at a time.
    d = deliveries if scope.unrestricted else indexed(TIME_INDEX["tenant"])
    stmt = (
        select(
            d.c.id,
            d.c.status,
            d.c.http_status,
            d.c.error,
            func.substr(d.c.response_body, 1, BODY_CHARS).label("response_body"),
            d.c.response_headers,
        )
        .select_from(d.outerjoin(labels, labels.c.delivery_id == d.c.id))
        .where(d.c.status == "failed", labels.c.delivery_id.is_(None), *scope.where(d.c.tenant))
        .order_by(d.c.last_attempt_at.desc(), d.c.id)
        .limit(pool_size)
    )
    rows = conn.execute(stmt).all()
    if not rows:
        return []
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(TRIAGE_COLUMNS))
    triage = classify_frame(frame)
    return [
        Candidate(str(i), str(c), int(s))
        for i, c, s in zip(frame["id"], triage["category"], triage["score"], strict=True)
    ]


def build_queue(
    conn: Connection,
    *,
    size: int,
    seed: int,
    pool_size: int = 5000,
    low_confidence_below: int = 60,
    low_confidence_share: float = 0.25,
    scope: TenantScope = ALL,
) -> list[QueueItem]:
    """An informative queue of unlabelled failures within ``scope`` (see
    ``stratified_sample``)."""
    return stratified_sample(
        unlabelled_candidates(conn, pool_size=pool_size, scope=scope),
        size=size,
        seed=seed,
        low_confidence_below=low_confidence_below,
        low_confidence_share=low_confidence_share,
        categories=CATEGORIES,
    )


def load_delivery(
    conn: Connection, delivery_id: str, *, scope: TenantScope = ALL
) -> dict | None:
    """One delivery as a dict (import-format field names), or None (also when it is
    outside ``scope``)."""
    row = conn.execute(
        select(deliveries).where(deliveries.c.id == delivery_id, *scope.where(deliveries.c.tenant))
    ).mappings().first()
    return dict(row) if row else None


def predict(delivery: dict):
    """The rules' answer for one stored delivery (``TriageResult``)."""
    return classify_delivery(delivery)
