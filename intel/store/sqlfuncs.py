"""Dialect-aware SQL expressions for time bucketing, so aggregation stays in SQL.

``epoch_seconds``, ``hour_of_day``, ``weekday``; ``time_bucket`` (a bucket's start) and
``epoch_bucket`` (a bucket's index on an offset grid, as the detector counts).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class epoch_seconds(FunctionElement):
    """Seconds since 1970-01-01 UTC of a UTCDateTime column (float)."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # Whole seconds from strftime('%s') (exact, unlike julianday arithmetic, so bucket
    # boundaries fall where they should) plus the millisecond fraction from '%f'.
    arg = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(strftime('%s', {arg}) AS INTEGER)"
        f" + (CAST(strftime('%f', {arg}) AS REAL) - CAST(strftime('%S', {arg}) AS INTEGER)))"
    )


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"EXTRACT(EPOCH FROM {arg})"


class hour_of_day(FunctionElement):
    """0..23, UTC."""

    type = Integer()
    inherit_cache = True
    name = "hour_of_day"


@compiles(hour_of_day, "sqlite")
def _hour_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%H', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(hour_of_day, "postgresql")
def _hour_pg(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(HOUR FROM {arg} AT TIME ZONE 'UTC') AS INTEGER)"


class weekday(FunctionElement):
    """0 = Monday .. 6 = Sunday, UTC (ISO weekday minus one, as Python's ``weekday()``)."""

    type = Integer()
    inherit_cache = True
    name = "weekday"


@compiles(weekday, "sqlite")
def _weekday_sqlite(element, compiler, **kw):
    # strftime('%w'): 0 = Sunday .. 6 = Saturday
    return f"((CAST(strftime('%w', {compiler.process(element.clauses, **kw)}) AS INTEGER) + 6) % 7)"


@compiles(weekday, "postgresql")
def _weekday_pg(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"(CAST(EXTRACT(ISODOW FROM {arg} AT TIME ZONE 'UTC') AS INTEGER) - 1)"


def time_bucket(column, seconds: int):
    """Start of the ``seconds``-wide bucket holding ``column``, as epoch seconds (int)."""
    from sqlalchemy import cast, func

    return cast(func.floor(epoch_seconds(column) / seconds), Integer) * seconds


class epoch_bucket(FunctionElement):
    """``floor((epoch seconds of col - offset) / size)`` as an integer, exact at boundaries.

    Unlike ``time_bucket`` it takes an offset, so buckets can be aligned to the detector's
    tick grid; and it gives the bucket's index, not its start. Pass ``size`` and ``offset``
    through ``sql_int`` so a GROUP BY on the expression repeats the same SQL text.
    """

    type = BigInteger()
    inherit_cache = True
    name = "epoch_bucket"


@compiles(epoch_bucket, "sqlite")
def _bucket_sqlite(element, compiler, **kw):
    col, size, offset = (compiler.process(c, **kw) for c in element.clauses)
    return f"((CAST(strftime('%s', {col}) AS INTEGER) - {offset}) / {size})"


@compiles(epoch_bucket, "postgresql")
def _bucket_pg(element, compiler, **kw):
    col, size, offset = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(floor((EXTRACT(EPOCH FROM {col}) - {offset}) / {size}) AS BIGINT)"


def sql_int(value: int):
    """An integer inlined in the SQL text (so GROUP BY repeats the same expression)."""
    return literal_column(str(int(value)))
