"""Writing deliveries: one upsert path for import, the simulator and tests.

Records arrive as validated dicts (see ``intel.deliveries.record``): datetimes are
aware UTC. Writing the same id again updates that delivery, never duplicates it, and
records its latest attempt once per (delivery, attempt number).

Whoever writes, the stored response body, error and headers keep to the size limits
(``limits.*``; ``intel.deliveries.caps``): validation cuts them already for imports,
and this write path cuts what any other writer hands it. Payloads are not cut here (a
payload is replayed byte-exact: the import refuses an over-limit one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from intel.deliveries.caps import cap_row
from intel.settings.limits import LimitSettings
from intel.store.schema import deliveries, delivery_attempts

DELIVERY_COLUMNS = (
    "id", "tenant", "endpoint", "event_type", "status", "http_status", "error",
    "response_headers", "response_body", "attempts", "created_at", "last_attempt_at",
    "duration_ms", "payload", "extra",
)
_UPDATABLE = [c for c in DELIVERY_COLUMNS if c != "id"] + ["updated_at"]


def _insert_for(conn: Connection):
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def upsert_deliveries(
    conn: Connection,
    records: Sequence[dict],
    *,
    now: datetime,
    record_attempts: bool = True,
    limits: LimitSettings | None = None,
) -> int:
    """Insert or update ``records`` (one batch, in the caller's transaction); body, error
    and headers are cut to ``limits`` (default: the settings' ``limits``)."""
    if not records:
        return 0
    if limits is None:
        from intel.settings import get_settings

        limits = get_settings().limits
    rows = []
    for rec in records:
        row = {c: rec.get(c) for c in DELIVERY_COLUMNS}
        cap_row(row, limits)
        if row["attempts"] is None:
            row["attempts"] = 1
        if row["last_attempt_at"] is None:
            row["last_attempt_at"] = row["created_at"]
        row["updated_at"] = now
        rows.append(row)
    inserted: set[str] = set()
    if conn.dialect.name == "postgresql" and len(rows) >= _PG_COPY_MIN_ROWS:
        inserted = _pg_copy_upsert(conn, rows)
    else:
        insert = _insert_for(conn)
        stmt = insert(deliveries)
        stmt = stmt.on_conflict_do_update(
            index_elements=[deliveries.c.id],
            set_={c: stmt.excluded[c] for c in _UPDATABLE},
        )
        conn.execute(stmt, rows)
    if record_attempts:
        _record_latest_attempts(conn, rows, inserted=inserted)
    return len(rows)


#: From this many rows a PostgreSQL upsert goes through COPY (see ``_pg_copy_upsert``).
_PG_COPY_MIN_ROWS = 200
_JSON_COLUMNS = frozenset({"response_headers", "payload", "extra"})
_STAGE = "_deliveries_upsert_stage"


def _pg_copy_upsert(conn: Connection, rows: list[dict]) -> set[str]:
    """The same upsert on PostgreSQL through ``COPY`` into a temporary staging table and
    one ``INSERT ... SELECT ... ON CONFLICT``: psycopg's executemany sends one INSERT per
    row, which made a PostgreSQL import about five times slower than SQLite's.

    Stored values are the ones the Core path stores: aware datetimes as timestamptz, and
    JSON columns as JSONB where ``None`` is the JSON ``null`` (as SQLAlchemy's JSON type
    writes it). One statement may touch an id once only, so the last record of an id
    stands for it: the same final row as applying the records in order.

    Returns the ids this statement inserted (``xmax = 0``: no earlier row version), whose
    attempts need no lookup. That lookup is what made a large import quadratic: inside
    the import's transaction the fresh tables have no statistics, so PostgreSQL scanned
    the whole attempts table for every batch.
    """
    from psycopg.types.json import Jsonb

    latest = {row["id"]: row for row in rows}
    columns = [*DELIVERY_COLUMNS, "updated_at"]
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} "
            "(LIKE deliveries INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {_STAGE} ({names}) FROM STDIN") as copy:
            for row in latest.values():
                copy.write_row(
                    [Jsonb(row[c]) if c in _JSON_COLUMNS else row[c] for c in columns]
                )
        cursor.execute(
            f"INSERT INTO deliveries ({names}) SELECT {names} FROM {_STAGE} "
            f"ON CONFLICT (id) DO UPDATE SET {updates} RETURNING id, (xmax = 0)"
        )
        inserted = {delivery_id for delivery_id, new in cursor.fetchall() if new}
        cursor.execute(f"TRUNCATE {_STAGE}")
    finally:
        cursor.close()
    return inserted


def _record_latest_attempts(
    conn: Connection, rows: Iterable[dict], *, inserted: set[str] = frozenset()
) -> None:
    """One ``delivery`` attempt row per (delivery, attempt number) this store has seen.

    ``inserted``: ids that did not exist before this batch (they have no attempts yet).
    """
    wanted = {(r["id"], r["attempts"]): r for r in rows}
    existing = set()
    ids = list({delivery_id for delivery_id, _ in wanted} - inserted)
    # Look up by delivery_id alone, and check the kind here: only then does
    # ix_delivery_attempts_delivery serve the query on both dialects (SQLite without
    # statistics prefers the kind index, and a row-value IN over (delivery_id,
    # attempt_no) scans every attempt: either made imports quadratic).
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        existing.update(
            (delivery_id, attempt_no)
            for delivery_id, attempt_no, kind in conn.execute(
                select(
                    delivery_attempts.c.delivery_id,
                    delivery_attempts.c.attempt_no,
                    delivery_attempts.c.kind,
                ).where(delivery_attempts.c.delivery_id.in_(chunk))
            )
            if kind == "delivery"
        )
    new = [
        {
            "delivery_id": r["id"],
            "attempt_no": r["attempts"],
            "kind": "delivery",
            "status": r["status"],
            "http_status": r["http_status"],
            "error": r["error"],
            "response_headers": r["response_headers"],
            "response_body": r["response_body"],
            "duration_ms": r["duration_ms"],
            "started_at": None,
            "finished_at": r["last_attempt_at"],
        }
        for key, r in wanted.items()
        if key not in existing
    ]
    if new and conn.dialect.name == "postgresql" and len(new) >= _PG_COPY_MIN_ROWS:
        _pg_copy_insert_attempts(conn, new)
    elif new:
        conn.execute(delivery_attempts.insert(), new)


def _pg_copy_insert_attempts(conn: Connection, new: list[dict]) -> None:
    """Insert attempt rows with ``COPY`` (PostgreSQL; see ``_pg_copy_upsert``)."""
    from psycopg.types.json import Jsonb

    columns = list(new[0])
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(
            f"COPY delivery_attempts ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            for row in new:
                copy.write_row(
                    [Jsonb(row[c]) if c == "response_headers" else row[c] for c in columns]
                )
    finally:
        cursor.close()
