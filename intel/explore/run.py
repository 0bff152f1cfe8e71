"""Running an Explore view: one aggregate query in SQL, a small frame back.

* counts (deliveries, failures, failure ratio): ``GROUP BY`` the dimensions; with the
  triage category as a dimension, grouped by failure shape and folded
  (``intel.insights.shapes.category_counts``);
* p95 duration: ``intel.explore.percentile`` (``percentile_cont`` on PostgreSQL, the
  window-function form on SQLite); with the triage category as a dimension, the distinct
  failure shapes are classified first and the category becomes a SQL ``CASE`` over the
  shape key, so the percentile is still computed in SQL over the rows.

``failure_ratio`` = failures / (delivered + failed); by triage category, over the
delivered + failed deliveries of the row's other dimensions (the category's share of
them). Deliveries that did not fail have the category ``not-failed``. Rows: largest
measure first, at most ``query.limit``. What a page shows (``result_frame(result,
query)``) leaves the ``not-failed`` rows out of a failures measure (failures, failure
ratio), where they are 0 by definition.

Tenant scope (CONTRACTS §6): ``run_query`` and ``explore_result`` take ``scope``; every
statement adds ``tenant IN (...)`` to its WHERE clause, so a tenant-scoped identity's
cells count only its tenants' deliveries (another tenant's rows are absent), and a
cached result is keyed by the scope as well.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, Float, String, Text, case, cast, func, literal, select
from sqlalchemy.sql import ColumnElement

from intel.auth.scope import ALL, TenantScope
from intel.csvsafe import frame_to_csv
from intel.deliveries.links import history_link
from intel.explore.percentile import percentile_select
from intel.explore.query import DIMENSIONS, ExploreQuery
from intel.insights._sql import FAILED_INDEX, TIME_INDEX, count_if, indexed, status_is
from intel.insights.shapes import (
    NOT_FAILED,
    categories,
    category_counts,
    header_flags,
    headers_sample,
    shape_columns,
)
from intel.store.schema import deliveries
from intel.store.sqlfuncs import hour_of_day
from intel.triage.signature import MAX_SCAN

P95 = 0.95
#: Dimensions the delivery history can filter on (a row links there when all are).
LINKABLE = ("tenant", "endpoint", "event_type", "status", "category")
_SEP = "\x1f"


def counts_source(query: ExploreQuery, scope: TenantScope = ALL):
    """The table a counts view reads: an index that holds every column it needs when
    there is one (SQLite would otherwise read a table row per delivery), else the table.

    * failed deliveries only, by endpoint / tenant / event type / HTTP status / hour:
      the partial index of failures (migration 0003);
    * by and filtered on at most one of tenant / endpoint / event type, plus status and
      hour: that column's (column, last_attempt_at, status) index.

    A tenant scope needs the tenant column as a filter would.
    """
    columns = set(query.by) | set(query.filters())
    if not scope.unrestricted:
        columns.add("tenant")
    if "category" in columns:
        return deliveries
    if query.status == "failed" and columns - {"status"} <= {
        "endpoint", "tenant", "event_type", "http_status", "hour",
    }:
        return indexed(FAILED_INDEX)
    for name in (*query.filters(), *query.by, "tenant"):
        if name in TIME_INDEX and columns <= {name, "status", "hour"}:
            return indexed(TIME_INDEX[name])
    return deliveries


def dimension(name: str, table=deliveries) -> ColumnElement:
    c = table.c
    if name == "hour":
        return hour_of_day(c.last_attempt_at).label("hour")
    if name == "category":
        raise ValueError("the triage category is not a column; see run_query")
    return c[name].label(name)


def where_clauses(query: ExploreQuery, now: datetime, table=deliveries,
                  scope: TenantScope = ALL) -> list[ColumnElement]:
    since, until = query.bounds(now)
    c = table.c
    clauses = [c.last_attempt_at >= since, c.last_attempt_at < until, *scope.where(c.tenant)]
    for name, value in query.filters().items():
        # the status as a literal, so the partial index of failures can serve it
        clauses.append(status_is(value, table) if name == "status" else c[name] == value)
    return clauses


def run_query(engine: Engine, query: ExploreQuery, now: datetime, *,
              scope: TenantScope = ALL) -> pd.DataFrame:
    """The view's result over the deliveries within ``scope``: one column per dimension,
    then the measure columns, and ``link`` (delivery history of the row) when every
    dimension is linkable."""
    if query.measure == "p95_duration_ms":
        frame = _p95(engine, query, now, scope)
    else:
        frame = _counts(engine, query, now, scope)
    for dim in ("http_status", "hour"):
        if dim in frame.columns:
            frame[dim] = frame[dim].astype("Int64")
    frame = frame.sort_values(
        [query.measure, *query.by], ascending=[False] + [True] * len(query.by),
        na_position="last", kind="stable",
    ).head(query.limit).reset_index(drop=True)
    if all(d in LINKABLE for d in query.by):
        since, until = query.bounds(now)
        frame["link"] = [
            history_link(since=since, until=until,
                         **(query.filters() | {d: row[d] for d in query.by}))
            for row in frame[list(query.by)].to_dict("records")
        ]
    return frame


def _finish_counts(frame: pd.DataFrame) -> pd.DataFrame:
    finished = frame["delivered"] + frame["failures"]
    frame["failure_ratio"] = (frame["failures"] / finished.where(finished > 0)).round(4)
    return frame.drop(columns=["delivered"])


def _finish_category_counts(frame: pd.DataFrame, others: list[str]) -> pd.DataFrame:
    """By triage category, the failure ratio is the category's share of the finished
    deliveries of the row's other dimensions (a tenant's permanent-4xx failures over all
    its delivered and failed deliveries), not of the category's own deliveries (which
    would be 1.0 for every failure category)."""
    finished = frame["delivered"] + frame["failures"]
    if others:
        keys = frame[others].astype(object).where(frame[others].notna(), "\x00none")
        total = finished.groupby([keys[d] for d in others]).transform("sum")
    else:
        total = pd.Series(finished.sum(), index=frame.index)
    frame["failure_ratio"] = (frame["failures"] / total.where(total > 0)).round(4)
    return frame.drop(columns=["delivered"])


def _counts(engine: Engine, query: ExploreQuery, now: datetime,
            scope: TenantScope) -> pd.DataFrame:
    table = counts_source(query, scope)
    c = table.c
    where = where_clauses(query, now, table, scope)
    failures = count_if(c.status == "failed").label("failures")
    delivered = count_if(c.status == "delivered").label("delivered")
    columns = ["deliveries", "failures", "failure_ratio"]
    if "category" in query.by:
        others = [dimension(d) for d in query.by if d != "category"]
        folded = category_counts(engine, where=where, by=others, measures=[failures, delivered],
                                 failed_only=False)
        frame = folded.rename(columns={"n": "deliveries"})
        frame = _finish_category_counts(frame, [d for d in query.by if d != "category"])
        return frame[[*query.by, *columns]]
    dims = [dimension(d, table) for d in query.by]
    stmt = (
        select(*dims, func.count().label("deliveries"), failures, delivered)
        .select_from(table)
        .where(*where)
        .group_by(*dims)
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).mappings().all(),
                             columns=[*query.by, "deliveries", "failures", "delivered"])
    return _finish_counts(frame)[[*query.by, *columns]]


def shape_key(table=deliveries) -> ColumnElement:
    """One text per failure shape (same inputs to triage, same key)."""
    c = table.c

    def part(expr):
        return func.coalesce(cast(expr, String), literal(""))

    sep = literal(_SEP)
    return (
        part(c.http_status) + sep + part(header_flags(c.response_headers)) + sep
        + part(func.substr(c.error, 1, MAX_SCAN)) + sep
        + part(func.substr(c.response_body, 1, MAX_SCAN))
    )


def category_case(engine: Engine, where: list[ColumnElement]) -> ColumnElement:
    """A SQL expression giving each matching delivery its triage category."""
    c = deliveries.c
    key = shape_key().label("s_key")
    shape = shape_columns()  # the same expressions (and bind parameters) in both clauses
    stmt = (
        select(key, *shape, headers_sample())
        .where(*where, c.status == "failed")
        .group_by(key, *shape)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    keys_of: dict[str, set[str]] = {}
    for row, category in zip(rows, categories(rows, start=1), strict=True):
        keys_of.setdefault(category, set()).add(row[0])
    whens = [(c.status != "failed", literal(NOT_FAILED))]
    for category in sorted(keys_of):
        whens.append((cast(shape_key(), Text).in_(sorted(keys_of[category])),
                      literal(category)))
    # A failure whose shape appeared after the shapes were read: not classified here.
    return case(*whens, else_=literal("unknown")).label("category")


def _p95(engine: Engine, query: ExploreQuery, now: datetime,
         scope: TenantScope) -> pd.DataFrame:
    c = deliveries.c
    where = where_clauses(query, now, scope=scope)
    dims = [
        category_case(engine, where) if d == "category" else dimension(d) for d in query.by
    ]
    stmt = percentile_select(engine.dialect.name, dims, cast(c.duration_ms, Float), where, P95,
                             label="p95_duration_ms")
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).mappings().all(),
                             columns=[*query.by, "p95_duration_ms", "n"])
    frame["p95_duration_ms"] = frame["p95_duration_ms"].astype(float).round(1)
    return frame.rename(columns={"n": "timed_deliveries"})


def column_labels(query: ExploreQuery) -> dict[str, str]:
    """Display names of the result columns."""
    labels = {d: DIMENSIONS[d] for d in query.by}
    labels.update(
        deliveries="Deliveries", failures="Failures", failure_ratio="Failure ratio",
        p95_duration_ms="p95 duration (ms)", timed_deliveries="Deliveries with a duration",
        link="History",
    )
    return labels


def explore_result(engine: Engine, query: ExploreQuery, now: datetime, *, cache=None,
                   scope: TenantScope = ALL) -> dict:
    """The view's result within ``scope`` as JSON-able data (cached under ``explore``,
    per scope, when ``cache`` is given): ``columns``, ``rows`` (lists), ``as_of``,
    ``since``, ``until``."""
    from intel.insights.api import database_key
    from intel.timeutil import to_rfc3339

    since, until = query.bounds(now)

    def compute() -> dict:
        frame = run_query(engine, query, now, scope=scope)
        clean = frame.astype(object).where(frame.notna(), None)
        return {
            "columns": list(frame.columns),
            "rows": [
                [v.item() if hasattr(v, "item") else v for v in row]
                for row in clean.itertuples(index=False, name=None)
            ],
            "as_of": to_rfc3339(now),
            "since": to_rfc3339(since),
            "until": to_rfc3339(until),
        }

    if cache is None:
        return compute()
    params = {"db": database_key(engine), "scope": scope.cache_key(), **query.cache_params()}
    return cache.get_or_compute("explore", params, compute)


#: Measures of failures: a ``not-failed`` category row is 0 there by definition.
FAILURE_MEASURES = ("failures", "failure_ratio")


def shown_rows(frame: pd.DataFrame, query: ExploreQuery) -> pd.DataFrame:
    """The rows of a result worth showing: with the triage category as a dimension and a
    failures measure, the deliveries that did not fail (``not-failed``) are left out."""
    if "category" not in query.by or query.measure not in FAILURE_MEASURES:
        return frame
    return frame[frame["category"] != NOT_FAILED].reset_index(drop=True)


def result_frame(result: dict, query: ExploreQuery | None = None) -> pd.DataFrame:
    """A result as a frame; with ``query``, only the rows worth showing
    (:func:`shown_rows`)."""
    frame = pd.DataFrame(result["rows"], columns=result["columns"])
    return frame if query is None else shown_rows(frame, query)


def to_csv(frame: pd.DataFrame) -> str:
    """CSV of a result; text cells a spreadsheet would run as a formula are neutralised
    (``intel.csvsafe``: tenant ids and URLs come from outside)."""
    return frame_to_csv(frame)
