"""``upsert_deliveries``: its tuple paths (prepared statements on SQLite, COPY on
PostgreSQL) store exactly what SQLAlchemy's column types store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from intel.deliveries import write
from intel.deliveries.query import get_delivery
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


# --- the tuple paths store what SQLAlchemy's column types store ---------------------------

_TIMES = [
    NOW,
    datetime(2026, 3, 29, 1, 30, 0, 0, tzinfo=timezone(timedelta(hours=2))),  # an offset
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def _varied(i: int) -> dict:
    """Values that exercise every stored format: offsets, whole seconds, non-ASCII JSON
    text, nested JSON, a string payload, nulls."""
    return _rec(
        i,
        created_at=_TIMES[i % 3],
        last_attempt_at=None if i % 2 else _TIMES[(i + 1) % 3] + timedelta(hours=1),
        response_headers=[None, {"Server": "é \u2028 \"q\""}, {"n": [1, 2.5, None, True]}][i % 3],
        payload=[{"k": "ünï", "deep": {"a": [1, {"b": None}]}}, "raw=1&x=ü", None][i % 3],
        extra=[None, {"region": "eu", "score": 1e-7}, {}][i % 3],
        http_status=[None, 503, 200][i % 3], duration_ms=[None, 0.0, 12.25][i % 3],
        attempts=i % 4 + 1, error=[None, "boom é", ""][i % 3],
    )


def _core_reference(conn, records):
    """The rows as SQLAlchemy Core writes them, through the column types' bind
    processing (how ``upsert_deliveries`` wrote them before its tuple paths)."""
    rows = []
    for rec in records:
        row = {c: rec.get(c) for c in write.DELIVERY_COLUMNS}
        row["last_attempt_at"] = row["last_attempt_at"] or row["created_at"]
        row["updated_at"] = NOW
        rows.append(row)
    conn.execute(deliveries.insert(), rows)
    conn.execute(delivery_attempts.insert(), [{
        "delivery_id": r["id"], "attempt_no": r["attempts"], "kind": "delivery",
        "status": r["status"], "http_status": r["http_status"], "error": r["error"],
        "response_headers": r["response_headers"], "response_body": r["response_body"],
        "duration_ms": r["duration_ms"], "started_at": None, "finished_at": r["last_attempt_at"],
    } for r in rows])


def _raw(conn, table, key, ids):
    """Every column as the database holds it (times and JSON as text)."""
    columns = [sa.cast(col, sa.Text) for col in table.c if col.name not in ("id", key)]
    rows = conn.execute(
        sa.select(table.c[key], *columns).where(table.c[key].in_(ids)).order_by(table.c[key])
    ).all()
    return [tuple(r[1:]) for r in rows]


@pytest.mark.parametrize("n", [6, BULK])  # a small batch, and one over the COPY threshold
def test_tuple_paths_store_what_the_column_types_store(engine, n):
    fast = [_varied(i) for i in range(n)]
    reference = [dict(r, id=f"r{i:04d}") for i, r in enumerate(fast)]
    with engine.begin() as conn:
        upsert_deliveries(conn, fast, now=NOW)
        _core_reference(conn, reference)
    fast_ids = [r["id"] for r in fast]
    ref_ids = [r["id"] for r in reference]
    with engine.connect() as conn:
        assert _raw(conn, deliveries, "id", fast_ids) == _raw(conn, deliveries, "id", ref_ids)
        assert _raw(conn, delivery_attempts, "delivery_id", fast_ids) == _raw(
            conn, delivery_attempts, "delivery_id", ref_ids)
    for mine, theirs in zip(fast_ids, ref_ids, strict=True):
        got, want = get_delivery(engine, mine), get_delivery(engine, theirs)
        for record in (got, want):
            record.pop("id")
            for attempt in record["attempts_timeline"]:
                attempt.pop("id"), attempt.pop("delivery_id")
        assert got == want


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (None, None),
        (datetime(2026, 11, 5, 16, 30, tzinfo=UTC), "2026-11-05 16:30:00.000000"),
        (datetime(2026, 11, 5, 18, 30, 0, 5, tzinfo=timezone(timedelta(hours=2))),
         "2026-11-05 16:30:00.000005"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02 03:04:05.000000"),
    ],
)
def test_sqlite_time_text(value, stored):
    assert write.sqlite_time(value) == stored


def test_sqlite_time_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="naive datetime"):
        write.sqlite_time(datetime(2026, 11, 5))
