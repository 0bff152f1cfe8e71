"""Triage categories of many deliveries without loading them: classify failure *shapes*.

Triage (``intel.triage``) is computed on demand, never stored. It reads only what
``intel.triage.signature.raw_key`` reads: whether the delivery was delivered, the HTTP
status, the first ``MAX_SCAN`` characters of the error and of the response body, and the
rate-limit headers (``Retry-After``, ``*RateLimit-Remaining``, ``RateLimit``). So an
aggregate "by triage category" groups in SQL by that *shape* with counts, classifies each
distinct shape once, and folds the counts in pandas (one row per group and shape: small).

Headers are reduced in SQL to flags (``Retry-After`` present; a rate-limit header present;
one whose remaining quota reads ``0``) and one real header set of the group is handed to
triage as its representative. Deliveries sharing a shape therefore get one category.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Engine, Integer, Text, case, cast, func, literal, or_, select
from sqlalchemy.sql import ColumnElement

from intel.insights._sql import status_is
from intel.store.schema import deliveries
from intel.triage import classify_frame
from intel.triage.signature import MAX_SCAN

SHAPE_COLUMNS = ("s_delivered", "s_http_status", "s_error", "s_body", "s_header_flags")
NOT_FAILED = "not-failed"

#: JSON text of a header whose remaining quota is zero: ``"X-RateLimit-Remaining": "0"``,
#: ``...: 0``, or the IETF ``RateLimit: remaining=0`` / ``r=0`` forms.
_REMAINING_ZERO = ('%remaining": "0"%', '%remaining": 0%', "%remaining=0%", "%r=0%")


def header_flags(headers_column) -> ColumnElement:
    """1: Retry-After present, 2: a rate-limit header present (``*RateLimit*``,
    ``X-Rate-Limit-*``), 4: one of those says the remaining quota is 0.

    Nested CASEs so that most rows (no headers, or no rate-limit header) cost at most
    two LIKEs."""
    text = func.lower(cast(headers_column, Text))
    retry = case((text.like('%"retry-after":%'), literal(1, Integer)), else_=0)
    zero = case((or_(*(text.like(p) for p in _REMAINING_ZERO)), literal(4, Integer)), else_=0)
    rate = case((text.like("%rate%limit%"), 2 + zero), else_=0)
    return case((headers_column.is_(None), literal(0, Integer)), else_=retry + rate)


def shape_columns(table=deliveries) -> list[ColumnElement]:
    """The labelled SQL expressions of a delivery's failure shape (group by all of them)."""
    c = table.c
    return [
        case((c.status == "delivered", literal(1, Integer)), else_=0).label("s_delivered"),
        c.http_status.label("s_http_status"),
        func.substr(c.error, 1, MAX_SCAN).label("s_error"),
        func.substr(c.response_body, 1, MAX_SCAN).label("s_body"),
        header_flags(c.response_headers).label("s_header_flags"),
    ]


def headers_sample(table=deliveries) -> ColumnElement:
    """One real header set of the group (the smallest JSON text), for triage to read."""
    return func.min(cast(table.c.response_headers, Text)).label("s_headers")


def _load_headers(text: object) -> object:
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return None
    try:
        return json.loads(str(text))
    except ValueError:
        return None


def categories(rows: Sequence[Sequence], start: int = 0) -> list[str]:
    """The triage category of each row whose :data:`SHAPE_COLUMNS` and ``s_headers``
    sit at ``start``..``start + 5``; each distinct shape is classified once
    (``intel.triage.classify_frame``)."""
    keys = [tuple(row[start : start + len(SHAPE_COLUMNS)]) for row in rows]
    first: dict[tuple, int] = {}
    for pos, key in enumerate(keys):
        first.setdefault(key, pos)
    if not first:
        return []
    unique = list(first.items())
    headers_at = start + len(SHAPE_COLUMNS)
    frame = pd.DataFrame(
        {
            "status": ["delivered" if key[0] else "failed" for key, _ in unique],
            "http_status": [key[1] for key, _ in unique],
            "error": [key[2] for key, _ in unique],
            "response_body": [key[3] for key, _ in unique],
            "response_headers": [_load_headers(rows[pos][headers_at]) for _, pos in unique],
        },
        dtype=object,
    )
    found = dict(zip((key for key, _ in unique), classify_frame(frame)["category"],
                     strict=True))
    return [found[key] for key in keys]


def category_counts(
    engine: Engine,
    *,
    table=deliveries,
    where: Sequence[ColumnElement],
    by: Sequence[ColumnElement] = (),
    measures: Sequence[ColumnElement] = (),
    failed_only: bool = True,
) -> pd.DataFrame:
    """Deliveries of ``table`` matching ``where`` grouped by ``by`` and triage category.

    Returns one row per (``by`` values, category) with ``n`` (deliveries) and each of
    ``measures`` (labelled additive aggregates, e.g. a ``count_if``) summed. With
    ``failed_only=False`` deliveries that did not fail get the category ``not-failed``.
    """
    c = table.c
    is_failed = status_is("failed", table)
    conditions = list(where)
    if failed_only:
        conditions.append(is_failed)
        shape = shape_columns(table)
        sample = headers_sample(table)
    else:
        # Deliveries that did not fail need no shape: NULLs keep them in one group each.
        shape = [case((is_failed, col.element)).label(col.name)
                 for col in shape_columns(table)]
        sample = func.min(case((is_failed, cast(c.response_headers, Text)))).label("s_headers")
    status_failed = case((is_failed, literal(1, Integer)), else_=0).label("s_failed")
    stmt = (
        select(*by, status_failed, *shape, sample, func.count().label("n"), *measures)
        .where(*conditions)
        .group_by(*by, status_failed, *shape)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    nby = len(by)
    by_names = [col.name for col in by]
    value_names = ["n", *(m.name for m in measures)]
    # Fold (small: one row per group and shape) into one row per group and category.
    failed = [row for row in rows if row[nby] == 1]
    failed_categories = iter(categories(failed, start=nby + 1))
    folded: dict[tuple, list[int]] = {}
    for row in rows:
        category = next(failed_categories) if row[nby] == 1 else NOT_FAILED
        key = (*row[:nby], category)
        values = row[nby + 1 + len(SHAPE_COLUMNS) + 1 :]
        sums = folded.setdefault(key, [0] * len(value_names))
        for i, v in enumerate(values):
            sums[i] += int(v or 0)
    return pd.DataFrame(
        [(*key, *sums) for key, sums in folded.items()],
        columns=[*by_names, "category", *value_names],
    )
