"""``upsert_deliveries``: its bulk path (COPY on PostgreSQL) stores what the Core path does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from intel.deliveries import write
from intel.deliveries.write import upsert_deliveries
from intel.store.schema import deliveries, delivery_attempts

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
BULK = write._PG_COPY_MIN_ROWS + 10


def _rec(i: int, **over) -> dict:
    at = NOW + timedelta(seconds=i, microseconds=123)
    rec = {
        "id": f"w{i:04d}", "tenant": "acme", "endpoint": "https://a.example/h",
        "event_type": None, "status": "failed", "http_status": None, "error": "boom",
        "response_headers": None if i % 2 else {"Retry-After": "1", "X": ["a", "b"]},
        "response_body": None, "attempts": 1, "created_at": at, "last_attempt_at": None,
        "duration_ms": 1.5, "payload": {"n": i, "nested": {"ok": True}} if i % 3 else "text",
        "extra": None if i % 2 else {"k": "é"},
    }
    rec.update(over)
    return rec


def _stored(conn, ids):
    c = deliveries.c
    columns = [c.tenant, c.endpoint, c.event_type, c.status, c.http_status, c.error,
               c.response_body, c.attempts, c.created_at, c.last_attempt_at, c.duration_ms,
               c.updated_at]
    rows = conn.execute(
        sa.select(c.id, *columns, *(sa.cast(col, sa.Text) for col in
                                    (c.response_headers, c.payload, c.extra)))
        .where(c.id.in_(ids)).order_by(c.id)
    ).all()
    return [tuple(r[1:]) for r in rows]


def test_bulk_and_single_paths_store_the_same(engine):
    records = [_rec(i) for i in range(BULK)]
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=NOW)  # bulk path (COPY on PostgreSQL)
    singles = [_rec(i, id=f"s{i:04d}") for i in range(6)]
    with engine.begin() as conn:
        for record in singles:
            upsert_deliveries(conn, [record], now=NOW)  # Core path
    with engine.connect() as conn:
        assert _stored(conn, [f"w{i:04d}" for i in range(6)]) == _stored(
            conn, [f"s{i:04d}" for i in range(6)]
        )
        row = conn.execute(sa.select(deliveries).where(deliveries.c.id == "w0001")).mappings().one()
    assert row["last_attempt_at"] == row["created_at"]
    assert row["response_headers"] is None and row["extra"] is None


def test_bulk_path_updates_and_records_each_attempt_once(engine):
    records = [_rec(i) for i in range(BULK)]
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=NOW)
        upsert_deliveries(conn, records, now=NOW)  # same attempts again: nothing new
        upsert_deliveries(
            conn, [dict(r, attempts=2, status="delivered") for r in records], now=NOW
        )
        upsert_deliveries(  # duplicates within one call: the last one stands for the id
            conn, [_rec(0, attempts=3, status="pending"), _rec(0, attempts=4)] * 150, now=NOW
        )
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == BULK
        attempts = conn.execute(
            sa.select(delivery_attempts.c.delivery_id, delivery_attempts.c.attempt_no)
        ).all()
        first = conn.execute(
            sa.select(deliveries.c.attempts, deliveries.c.status).where(deliveries.c.id == "w0000")
        ).one()
    assert len(attempts) == len(set(attempts)) == 2 * BULK + 2
    assert tuple(first) == (4, "failed")
