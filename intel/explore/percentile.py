"""Per-group percentiles in SQL, on PostgreSQL and SQLite.

Both compute the linear-interpolation percentile (``percentile_cont``; numpy's default
"linear" method): over the group's n values sorted ascending, position
``pos = p * (n - 1)`` (0-based), ``lo = floor(pos)``, and the result is
``v[lo] + (pos - lo) * (v[lo + 1] - v[lo])``.

* PostgreSQL: ``percentile_cont(p) WITHIN GROUP (ORDER BY value)``.
* SQLite has no percentile aggregate: a window query numbers each group's rows
  (``ROW_NUMBER() OVER (PARTITION BY group ORDER BY value)``) next to the group size
  (``COUNT(*) OVER (PARTITION BY group)``), keeps the two rows around ``pos`` and
  interpolates. The same query runs on PostgreSQL, which is how the tests check that
  the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Float, Integer, case, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.expression import FunctionElement


class floor_int(FunctionElement):
    """floor(x) as an integer, for x >= 0 (PostgreSQL's CAST to integer rounds)."""

    type = Integer()
    inherit_cache = True
    name = "floor_int"


@compiles(floor_int)
def _floor_default(element, compiler, **kw):
    # SQLite: CAST truncates toward zero, which is floor for x >= 0.
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(floor_int, "postgresql")
def _floor_pg(element, compiler, **kw):
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"


def percentile_cont_select(
    dims: Sequence[ColumnElement], value: ColumnElement, where: Sequence[ColumnElement],
    p: float, *, label: str = "pct",
) -> Select:
    """PostgreSQL: ``dims..., percentile, n`` per group (rows with a NULL value ignored)."""
    return (
        select(
            *dims,
            func.percentile_cont(p).within_group(value.asc()).label(label),
            func.count(value).label("n"),
        )
        .where(*where, value.is_not(None))
        .group_by(*dims)
    )


def percentile_window_select(
    dims: Sequence[ColumnElement], value: ColumnElement, where: Sequence[ColumnElement],
    p: float, *, label: str = "pct",
) -> Select:
    """Any dialect with window functions: ``dims..., percentile, n`` per group."""
    names = [d.name for d in dims]
    partition = [d.element if hasattr(d, "element") else d for d in dims] or None
    ranked = (
        select(
            *dims,
            value.label("v"),
            func.row_number().over(partition_by=partition, order_by=value.asc()).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(*where, value.is_not(None))
        .subquery("ranked")
    )
    r = ranked.c
    pos = cast(r.n - 1, Float) * p  # 0-based position
    lo = floor_int(pos)
    lo_value = func.max(case((r.rn == lo + 1, r.v)))
    hi_value = func.max(case((r.rn == lo + 2, r.v)))
    frac = func.max(pos - lo)
    result = lo_value + frac * (func.coalesce(hi_value, lo_value) - lo_value)
    group_cols = [r[name] for name in names]
    return (
        select(*group_cols, result.label(label), func.max(r.n).label("n"))
        .where(r.rn.between(lo + 1, lo + 2))
        .group_by(*group_cols)
    )


def percentile_select(
    dialect: str, dims: Sequence[ColumnElement], value: ColumnElement,
    where: Sequence[ColumnElement], p: float, *, label: str = "pct",
) -> Select:
    """The percentile query for ``dialect``: native on PostgreSQL, windowed elsewhere."""
    if not 0 <= p <= 1:
        raise ValueError(f"percentile must be within 0..1, got {p}")
    build = percentile_cont_select if dialect == "postgresql" else percentile_window_select
    return build(dims, value, where, p, label=label)
