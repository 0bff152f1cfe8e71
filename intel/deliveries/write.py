"""Writing deliveries: one upsert path for import, the simulator and tests.

Records arrive as validated dicts (see ``intel.deliveries.record``): datetimes are
aware UTC. Writing the same id again updates that delivery, never duplicates it, and
records its latest attempt once per (delivery, attempt number).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
) -> int:
    """Insert or update ``records`` (one batch, in the caller's transaction)."""
    if not records:
        return 0
    rows = []
    for rec in records:
        row = {c: rec.get(c) for c in DELIVERY_COLUMNS}
        if row["attempts"] is None:
            row["attempts"] = 1
        if row["last_attempt_at"] is None:
            row["last_attempt_at"] = row["created_at"]
        row["updated_at"] = now
        rows.append(row)
    insert = _insert_for(conn)
    stmt = insert(deliveries)
    stmt = stmt.on_conflict_do_update(
        index_elements=[deliveries.c.id],
        set_={c: stmt.excluded[c] for c in _UPDATABLE},
    )
    conn.execute(stmt, rows)
    if record_attempts:
        _record_latest_attempts(conn, rows)
    return len(rows)


def _record_latest_attempts(conn: Connection, rows: Iterable[dict]) -> None:
    """One ``delivery`` attempt row per (delivery, attempt number) this store has seen."""
    wanted = {(r["id"], r["attempts"]): r for r in rows}
    existing = set()
    ids = list({delivery_id for delivery_id, _ in wanted})
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
    if new:
        conn.execute(delivery_attempts.insert(), new)
