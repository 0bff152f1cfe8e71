"""Small SQL and number helpers shared by the insight aggregates."""

from __future__ import annotations

from sqlalchemy import Integer, case, column, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, TableClause
from sqlalchemy.sql.visitors import InternalTraversal

from intel.store.schema import DELIVERY_STATUSES, deliveries


def count_if(condition: ColumnElement) -> ColumnElement:
    """Rows where ``condition`` holds (0, never NULL, on an empty group)."""
    return func.coalesce(func.sum(case((condition, literal(1, Integer)), else_=0)), 0)


def ratio(numerator: float | int | None, denominator: float | int | None) -> float | None:
    """numerator / denominator rounded to 4 places; None when there is nothing to divide."""
    if not denominator or numerator is None:
        return None
    return round(float(numerator) / float(denominator), 4)


def as_int(value: object) -> int:
    return int(value or 0)


def seconds(value: object) -> float | None:
    """A duration from SQL (float seconds or None), rounded to 0.1 s."""
    return None if value is None else round(float(value), 1)


def status_is(status: str, table=deliveries) -> ColumnElement:
    """``deliveries.status = '<status>'`` with the value written as a literal, so the
    partial index on failed deliveries (migration 0003) matches on both SQLite
    and PostgreSQL (a bound parameter would hide the value from the planner)."""
    from sqlalchemy import literal_column

    if status not in DELIVERY_STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    return table.c.status == literal_column(f"'{status}'")


#: The index that reads ``<column>, last_attempt_at, status`` for a deliveries column.
TIME_INDEX = {
    "tenant": "ix_deliveries_tenant_time",
    "endpoint": "ix_deliveries_endpoint_time",
    "event_type": "ix_deliveries_event_type_time",
}
#: The partial index over failed deliveries (migration 0003).
FAILED_INDEX = "ix_deliveries_failed_time"


class IndexedDeliveries(TableClause):
    """``deliveries`` read through a named index: ``FROM deliveries [AS name] INDEXED BY
    <index>`` on SQLite, plain ``deliveries [AS name]`` elsewhere.

    PostgreSQL plans from its statistics; SQLite keeps none unless ANALYZE ran, and then
    prefers the (status, last_attempt_at) index and reads a table row per match, which
    is ruinous at a million deliveries. Columns carry the deliveries column types.
    """

    inherit_cache = True
    _traverse_internals = [
        *TableClause._traverse_internals, ("index", InternalTraversal.dp_string)
    ]

    def __init__(self, index: str, name: str = "deliveries"):
        super().__init__(name, *(column(c.name, c.type) for c in deliveries.columns))
        self.index = index


@compiles(IndexedDeliveries)
def _indexed_default(element, compiler, asfrom=False, **kw):
    if not asfrom:
        return compiler.preparer.quote(element.name)
    alias = "" if element.name == "deliveries" else f" AS {compiler.preparer.quote(element.name)}"
    return f"deliveries{alias}"


@compiles(IndexedDeliveries, "sqlite")
def _indexed_sqlite(element, compiler, asfrom=False, **kw):
    text = _indexed_default(element, compiler, asfrom=asfrom, **kw)
    return f"{text} INDEXED BY {element.index}" if asfrom else text


def indexed(index: str, name: str = "deliveries") -> IndexedDeliveries:
    return IndexedDeliveries(index, name)
