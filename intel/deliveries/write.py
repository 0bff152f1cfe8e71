"""Writing deliveries: one upsert path for import, the simulator and tests.

Records arrive as validated dicts (see ``intel.deliveries.record``): datetimes are
aware UTC. Writing the same id again updates that delivery, never duplicates it, and
records its latest attempt once per (delivery, attempt number).

Rows go to the driver as plain tuples, without SQLAlchemy's per-row bind processing:
SQLite gets one prepared ``executemany`` per table and batch, with times and JSON
documents in the text the column types (``intel.store.types``: ``UTCDateTime``,
``JSONDoc``) store, ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC and ``json.dumps`` (``None``:
the JSON ``null``); PostgreSQL gets ``COPY`` into a staging table and one
``INSERT ... ON CONFLICT`` per batch from 200 rows (see ``_pg_copy_upsert``).

Whoever writes, the stored response body, error and headers keep to the size limits
(``limits.*``; ``intel.deliveries.caps``): validation cuts them already for imports,
and this write path cuts what any other writer hands it. Payloads are not cut here (a
payload is replayed byte-exact: the import refuses an over-limit one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import StatementError

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
    encoded: dict[int, tuple] | None = None
    headers_text: dict[int, str] = {}
    if conn.dialect.name == "sqlite":
        encoded = _sqlite_upsert(conn, rows, now)
    elif conn.dialect.name == "postgresql" and len(rows) >= _PG_COPY_MIN_ROWS:
        inserted, headers_text = _pg_copy_upsert(conn, rows)
    else:
        insert = _insert_for(conn)
        stmt = insert(deliveries)
        stmt = stmt.on_conflict_do_update(
            index_elements=[deliveries.c.id],
            set_={c: stmt.excluded[c] for c in _UPDATABLE},
        )
        conn.execute(stmt, rows)
    if record_attempts:
        _record_latest_attempts(conn, rows, inserted=inserted, encoded=encoded,
                                headers_text=headers_text)
    return len(rows)


# --- SQLite: prepared statements over plain tuples ----------------------------------------

_DELIVERY_ROW = (*DELIVERY_COLUMNS, "updated_at")
_SQLITE_UPSERT = (
    f"INSERT INTO deliveries ({', '.join(_DELIVERY_ROW)}) "
    f"VALUES ({', '.join('?' * len(_DELIVERY_ROW))}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _UPDATABLE)}"
)
_ATTEMPT_ROW = ("delivery_id", "attempt_no", "kind", "status", "http_status", "error",
                "response_headers", "response_body", "duration_ms", "started_at",
                "finished_at")
_SQLITE_ATTEMPT_INSERT = (
    f"INSERT INTO delivery_attempts ({', '.join(_ATTEMPT_ROW)}) "
    f"VALUES ({', '.join('?' * len(_ATTEMPT_ROW))})"
)
# json.dumps with its defaults is this encoder's encode, without the call in between
_JSON_TEXT = json.JSONEncoder().encode


def sqlite_time(value: datetime | None) -> str | None:
    """A ``UTCDateTime`` as SQLite stores it: naive UTC text with microseconds (what
    SQLAlchemy's SQLite ``DATETIME`` writes), refusing a naive datetime as the type does."""
    if value is None:
        return None
    text = value.isoformat(" ", "microseconds")
    if text.endswith("+00:00"):  # UTC already: the common case, one call
        return text[:-6]
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: times must be timezone-aware UTC")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def json_text(value) -> str:
    """A ``JSONDoc`` value as SQLAlchemy sends it: ``json.dumps`` (its JSON serialiser),
    ``None`` as the JSON ``null``. SQLite stores this text; PostgreSQL parses it into
    JSONB."""
    return "null" if value is None else _JSON_TEXT(value)


def _sqlite_delivery(r: dict, updated_at: str) -> tuple:
    """A row in ``_DELIVERY_ROW`` order, as SQLite stores it."""
    return (r["id"], r["tenant"], r["endpoint"], r["event_type"], r["status"],
            r["http_status"], r["error"], json_text(r["response_headers"]),
            r["response_body"], r["attempts"], sqlite_time(r["created_at"]),
            sqlite_time(r["last_attempt_at"]), r["duration_ms"], json_text(r["payload"]),
            json_text(r["extra"]), updated_at)


def _sqlite_attempt(t: tuple) -> tuple:
    """The ``_ATTEMPT_ROW`` of a delivery's latest attempt, from its stored delivery
    tuple (its headers and times already encoded)."""
    return (t[0], t[9], "delivery", t[4], t[5], t[6], t[7], t[8], t[12], None, t[11])


def _sqlite_upsert(conn: Connection, rows: list[dict], now: datetime) -> dict[int, tuple]:
    """The upsert on SQLite as one prepared statement over plain tuples: the same stored
    values as the Core statement, without its per-row bind processing (which was most of
    an import's write time). Returns each row's tuple by ``id(row)``, for its attempt."""
    try:
        updated_at = sqlite_time(now)
        encoded = {id(r): _sqlite_delivery(r, updated_at) for r in rows}
    except (ValueError, TypeError) as exc:  # raised as the Core path's bind processing does
        raise StatementError(str(exc), _SQLITE_UPSERT, None, exc) from exc
    conn.exec_driver_sql(_SQLITE_UPSERT, list(encoded.values()))
    return encoded


#: From this many rows a PostgreSQL upsert goes through COPY (see ``_pg_copy_upsert``).
_PG_COPY_MIN_ROWS = 200
_STAGE = "_deliveries_upsert_stage"


def _pg_copy_upsert(conn: Connection, rows: list[dict]) -> tuple[set[str], dict[int, str]]:
    """The same upsert on PostgreSQL through ``COPY`` into a temporary staging table and
    one ``INSERT ... SELECT ... ON CONFLICT``: psycopg's executemany sends one INSERT per
    row, which made a PostgreSQL import about five times slower than SQLite's.

    Stored values are the ones the Core path stores: aware datetimes as timestamptz, and
    JSON columns as JSONB where ``None`` is the JSON ``null`` (as SQLAlchemy's JSON type
    writes it), sent as the ``json.dumps`` text SQLAlchemy (and psycopg's ``Jsonb``)
    would send, encoded once: the headers' text serves the attempt row too. One
    statement may touch an id once only, so the last record of an id stands for it: the
    same final row as applying the records in order.

    Returns the ids this statement inserted (``xmax = 0``: no earlier row version), whose
    attempts need no lookup, and each written row's headers text by ``id(row)``. That
    lookup is what made a large import quadratic: inside the import's transaction the
    fresh tables have no statistics, so PostgreSQL scanned the whole attempts table for
    every batch.
    """
    latest = {row["id"]: row for row in rows}
    headers_text: dict[int, str] = {}
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
                headers = headers_text[id(row)] = json_text(row["response_headers"])
                copy.write_row((
                    row["id"], row["tenant"], row["endpoint"], row["event_type"],
                    row["status"], row["http_status"], row["error"], headers,
                    row["response_body"], row["attempts"], row["created_at"],
                    row["last_attempt_at"], row["duration_ms"], json_text(row["payload"]),
                    json_text(row["extra"]), row["updated_at"],
                ))
        cursor.execute(
            f"INSERT INTO deliveries ({names}) SELECT {names} FROM {_STAGE} "
            f"ON CONFLICT (id) DO UPDATE SET {updates} RETURNING id, (xmax = 0)"
        )
        inserted = {delivery_id for delivery_id, new in cursor.fetchall() if new}
        cursor.execute(f"TRUNCATE {_STAGE}")
    finally:
        cursor.close()
    return inserted, headers_text


def _record_latest_attempts(
    conn: Connection,
    rows: Iterable[dict],
    *,
    inserted: set[str] = frozenset(),
    encoded: dict[int, tuple] | None = None,
    headers_text: dict[int, str] | None = None,
) -> None:
    """One ``delivery`` attempt row per (delivery, attempt number) this store has seen.

    ``inserted``: ids that did not exist before this batch (they have no attempts yet).
    ``encoded``: the rows' SQLite tuples by ``id(row)`` (see ``_sqlite_upsert``);
    ``headers_text``: their headers' JSON text by ``id(row)`` (see ``_pg_copy_upsert``).
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
    if encoded is not None:
        fresh = [_sqlite_attempt(encoded[id(r)]) for key, r in wanted.items()
                 if key not in existing]
        if fresh:
            conn.exec_driver_sql(_SQLITE_ATTEMPT_INSERT, fresh)
        return
    fresh = [r for key, r in wanted.items() if key not in existing]
    if conn.dialect.name == "postgresql" and len(fresh) >= _PG_COPY_MIN_ROWS:
        _pg_copy_insert_attempts(conn, fresh, headers_text or {})
        return
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
        for r in fresh
    ]
    if new:
        conn.execute(delivery_attempts.insert(), new)


def _pg_copy_insert_attempts(
    conn: Connection, rows: list[dict], headers_text: dict[int, str]
) -> None:
    """Insert the latest attempt of ``rows`` with ``COPY`` (PostgreSQL; see
    ``_pg_copy_upsert``), reusing their headers' text where it was encoded already."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(
            f"COPY delivery_attempts ({', '.join(_ATTEMPT_ROW)}) FROM STDIN"
        ) as copy:
            for r in rows:
                headers = headers_text.get(id(r))
                if headers is None:  # an earlier record of an id repeated in the batch
                    headers = json_text(r["response_headers"])
                copy.write_row((r["id"], r["attempts"], "delivery", r["status"],
                                r["http_status"], r["error"], headers, r["response_body"],
                                r["duration_ms"], None, r["last_attempt_at"]))
    finally:
        cursor.close()
