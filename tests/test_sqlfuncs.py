"""Dialect-aware bucket helpers (``intel.store.sqlfuncs``), on SQLite and PostgreSQL.

The detector's counts and the Anomalies timeline both group deliveries by
``epoch_bucket``: a bucket off by one at a boundary would move a failure into the
neighbouring window on one database and not on the other.
"""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from intel.deliveries.write import upsert_deliveries
from intel.store.schema import deliveries
from intel.store.sqlfuncs import epoch_bucket, sql_int, time_bucket

T0 = datetime(2026, 11, 5, 16, 0, tzinfo=UTC)


def _delivery(i: int, at: datetime) -> dict:
    return {
        "id": f"d{i}", "tenant": "acme", "endpoint": "https://hooks.acme.example/x",
        "event_type": "invoice.paid", "status": "failed", "http_status": 503, "error": None,
        "attempts": 1, "created_at": at, "last_attempt_at": at,
    }


def _write(engine, instants: list[datetime]) -> None:
    with engine.begin() as conn:
        upsert_deliveries(conn, [_delivery(i, at) for i, at in enumerate(instants)], now=T0)


@pytest.mark.parametrize(
    ("offset_s", "size", "offset"),
    [
        (0, 30, 0),
        (29.999, 30, 0),  # the fraction never rounds up into the next bucket
        (30, 30, 0),
        (299, 300, 0),
        (300, 300, 0),
        (7, 30, 7),  # a grid offset: the bucket starts at the offset, not before
        (6, 30, 7),
        (37, 30, 7),
        (3599, 3600, 1800),
    ],
)
def test_epoch_bucket_is_exact_at_boundaries(engine, offset_s, size, offset):
    at = T0 + timedelta(seconds=offset_s)
    _write(engine, [at])
    bucket = epoch_bucket(deliveries.c.last_attempt_at, sql_int(size), sql_int(offset))
    with engine.connect() as conn:
        got = conn.execute(sa.select(bucket)).scalar()
    assert got == (int(at.timestamp()) - offset) // size


@pytest.mark.parametrize("size", [30, 300, 3600])
def test_epoch_bucket_on_no_offset_is_time_bucket_s_index(engine, size):
    _write(engine, [T0 + timedelta(seconds=s) for s in (0, 29, 31, 299, 301, 3599, 3601)])
    d = deliveries.c.last_attempt_at
    index = epoch_bucket(d, sql_int(size), sql_int(0))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(index, time_bucket(d, size))).all()
    assert all(start == i * size for i, start in rows)


def test_epoch_bucket_groups_deliveries_per_bucket(engine):
    # the shape of the detector's one aggregate query and of the timeline's
    _write(engine, [T0 + timedelta(seconds=s) for s in (0, 10, 29, 30, 59, 60)])
    bucket = epoch_bucket(deliveries.c.last_attempt_at, sql_int(30), sql_int(0))
    query = sa.select(bucket.label("b"), sa.func.count()).group_by(bucket).order_by(bucket)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    first = int(T0.timestamp()) // 30
    assert rows == [(first, 3), (first + 1, 2), (first + 2, 1)]


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (30, "30"), (1800.0, "1800")])
def test_sql_int_inlines_an_integer(value, text):
    assert str(sql_int(value)) == text
