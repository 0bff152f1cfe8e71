"""Writing simulated data: the bulk path for history runs, plus endpoints and events.

The bulk path stores exactly what ``intel.deliveries.write.upsert_deliveries`` would
(same columns, same text for times and JSON; ``tests/simulate`` checks this) but skips
per-value type processing: values arrive pre-serialised from ``Batch``. SQLite gets one
``executemany`` per table and batch; PostgreSQL gets ``COPY`` into a staging table and
one ``INSERT ... ON CONFLICT`` from it. Each batch also writes the latest attempt of
every delivery (kind ``delivery``) and the ground truth of its failures, replacing
what an earlier run of the same ids wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import repeat

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from intel.deliveries.write import DELIVERY_COLUMNS
from intel.secretbox import SecretBox, default_box
from intel.simulate.batch import JSON_NULL, Batch, db_times
from intel.simulate.scenario import SimEvent
from intel.store.schema import deliveries, delivery_attempts, endpoints, sim_events
from intel.store.schema import sim_failure_truth as truth_table

D_COLS = (*DELIVERY_COLUMNS, "updated_at")
A_COLS = ("delivery_id", "attempt_no", "kind", "status", "http_status", "error",
          "response_headers", "response_body", "duration_ms", "started_at", "finished_at")
T_COLS = ("delivery_id", "cause", "category", "scenario_event")

for _table, _cols in ((deliveries, D_COLS), (delivery_attempts, A_COLS), (truth_table, T_COLS)):
    _missing = set(_cols) - set(_table.c.keys())
    if _missing:  # the schema changed under us: fail loudly at import, not with bad rows
        raise RuntimeError(f"simulator bulk writer: {_table.name} lacks columns {_missing}")

_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in D_COLS if c != "id")


def _insert_for(conn: Connection):
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _time_text(conn: Connection, values: list[str]) -> list[str]:
    if conn.dialect.name == "postgresql":
        return [v + "+00" for v in values]
    return values


def write_batch(conn: Connection, batch: Batch, *, now: datetime) -> None:
    """Upsert one batch of deliveries with their latest attempts and ground truth."""
    if not len(batch):
        return
    created = _time_text(conn, db_times(batch.created_us))
    last = _time_text(conn, db_times(batch.last_us))
    now_text = _time_text(conn, [_utc_text(now)])[0]
    n = len(batch)
    d_rows = zip(batch.ids, batch.tenant, batch.endpoint, batch.event_type, batch.status,
                 batch.http_status, batch.error, batch.headers_json, batch.body, batch.attempts,
                 created, last, batch.duration_ms, batch.payload_json, repeat(JSON_NULL, n),
                 repeat(now_text, n), strict=False)
    a_rows = zip(batch.ids, batch.attempts, repeat("delivery", n), batch.status,
                 batch.http_status, batch.error, batch.headers_json, batch.body,
                 batch.duration_ms, repeat(None, n), last, strict=False)
    lo, hi = min(batch.ids), max(batch.ids)
    if conn.dialect.name == "postgresql":
        _write_pg(conn, d_rows, a_rows, batch.truth, lo, hi)
    else:
        _write_sqlite(conn, d_rows, a_rows, batch.truth, lo, hi)


def _utc_text(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: times must be timezone-aware UTC")
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _write_sqlite(conn, d_rows, a_rows, truth, lo, hi) -> None:
    marks = ", ".join("?" * len(D_COLS))
    conn.exec_driver_sql(
        f"INSERT INTO deliveries ({', '.join(D_COLS)}) VALUES ({marks}) "
        f"ON CONFLICT (id) DO UPDATE SET {_UPDATE}",
        list(d_rows),
    )
    conn.exec_driver_sql(
        "DELETE FROM delivery_attempts WHERE kind = 'delivery' AND delivery_id >= ? "
        "AND delivery_id <= ?", (lo, hi))
    conn.exec_driver_sql(
        f"INSERT INTO delivery_attempts ({', '.join(A_COLS)}) "
        f"VALUES ({', '.join('?' * len(A_COLS))})",
        list(a_rows),
    )
    conn.exec_driver_sql(
        "DELETE FROM sim_failure_truth WHERE delivery_id >= ? AND delivery_id <= ?", (lo, hi))
    if truth:
        conn.exec_driver_sql(
            f"INSERT INTO sim_failure_truth ({', '.join(T_COLS)}) VALUES (?, ?, ?, ?)", truth)


def _write_pg(conn, d_rows, a_rows, truth, lo, hi) -> None:
    raw = conn.connection.driver_connection
    cols = ", ".join(D_COLS)
    with raw.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS _sim_stage "
                    "(LIKE deliveries INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        with cur.copy(f"COPY _sim_stage ({cols}) FROM STDIN") as copy:
            for row in d_rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO deliveries ({cols}) SELECT {cols} FROM _sim_stage "
                    f"ON CONFLICT (id) DO UPDATE SET {_UPDATE}")
        cur.execute("TRUNCATE _sim_stage")
        cur.execute("DELETE FROM delivery_attempts WHERE kind = 'delivery' "
                    "AND delivery_id >= %s AND delivery_id <= %s", (lo, hi))
        with cur.copy(f"COPY delivery_attempts ({', '.join(A_COLS)}) FROM STDIN") as copy:
            for row in a_rows:
                copy.write_row(row)
        cur.execute("DELETE FROM sim_failure_truth WHERE delivery_id >= %s "
                    "AND delivery_id <= %s", (lo, hi))
        if truth:
            with cur.copy(f"COPY sim_failure_truth ({', '.join(T_COLS)}) FROM STDIN") as copy:
                for row in truth:
                    copy.write_row(row)


def delete_beyond(conn: Connection, prefix: str, last_id: str | None) -> int:
    """Remove history deliveries of ``prefix`` past ``last_id`` (left by a larger run)."""
    upper = prefix + "99999999"
    lower = last_id if last_id is not None else prefix
    strict = last_id is not None
    cond = (deliveries.c.id > lower) if strict else (deliveries.c.id >= lower)
    t_cond = (truth_table.c.delivery_id > lower) if strict else (truth_table.c.delivery_id >= lower)
    conn.execute(truth_table.delete().where(t_cond, truth_table.c.delivery_id <= upper))
    # Attempts go with their delivery (ON DELETE CASCADE); delete them explicitly as well
    # so a SQLite connection without foreign keys enforced leaves nothing behind.
    a_cond = (delivery_attempts.c.delivery_id > lower) if strict else (
        delivery_attempts.c.delivery_id >= lower)
    conn.execute(delivery_attempts.delete().where(
        a_cond, delivery_attempts.c.delivery_id <= upper, delivery_attempts.c.kind == "delivery"))
    return conn.execute(deliveries.delete().where(cond, deliveries.c.id <= upper)).rowcount


def write_events(conn: Connection, events: Iterable[SimEvent], *,
                 replace_prefix: str | None = None) -> int:
    """Upsert ``events``; first drop events whose id starts with ``replace_prefix``."""
    if replace_prefix:
        conn.execute(sim_events.delete().where(sim_events.c.id.like(replace_prefix + "%")))
    rows = [ev.row() for ev in events]
    if not rows:
        return 0
    stmt = _insert_for(conn)(sim_events)
    stmt = stmt.on_conflict_do_update(
        index_elements=[sim_events.c.id],
        set_={c: stmt.excluded[c] for c in ("kind", "is_anomaly", "expected_type", "target",
                                             "start_at", "end_at", "description", "details")},
    )
    conn.execute(stmt, rows)
    return len(rows)


def insert_missing_events(conn: Connection, events: Iterable[SimEvent]) -> int:
    rows = [ev.row() for ev in events]
    if not rows:
        return 0
    stmt = _insert_for(conn)(sim_events).on_conflict_do_nothing(index_elements=[sim_events.c.id])
    return conn.execute(stmt, rows).rowcount or 0


def write_endpoints(conn: Connection, world, *, now: datetime,
                    secret_box: SecretBox | None = None) -> int:
    """One row per simulated endpoint with its signing secret, encrypted
    (``intel.secretbox``; ``SecretKeyMissing`` without a key); existing rows are kept
    (an operator may have disabled one or written a note)."""
    box = secret_box or default_box()
    rows = [{
        "url": ep.url, "signing_secret": box.seal(ep.secret), "disabled": False,
        "note": f"simulated endpoint of {ep.tenant} (seed {world.seed})"
                + (f", {ep.profile} profile" if ep.profile else ""),
        "updated_at": now,
    } for ep in world.endpoints]
    stmt = _insert_for(conn)(endpoints).on_conflict_do_nothing(index_elements=[endpoints.c.url])
    conn.execute(stmt, rows)
    return len(rows)


def extend_profiles(conn: Connection, seed: int, until: datetime) -> None:
    """Chronic profiles hold as long as traffic is simulated: move their end forward."""
    conn.execute(
        sim_events.update()
        .where(sim_events.c.id.like(f"sim{seed}-profile_%"), sim_events.c.end_at < until)
        .values(end_at=until)
    )


def write_truth(conn: Connection, truth: list[tuple[str, str, str, str | None]]) -> None:
    """Upsert ground-truth rows (the live path, small batches)."""
    if not truth:
        return
    rows = [dict(zip(T_COLS, t, strict=True)) for t in truth]
    stmt = _insert_for(conn)(truth_table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[truth_table.c.delivery_id],
        set_={c: stmt.excluded[c] for c in T_COLS[1:]},
    )
    conn.execute(stmt, rows)


def clear_truth(conn: Connection, ids: list[str]) -> None:
    for start in range(0, len(ids), 500):
        conn.execute(truth_table.delete().where(truth_table.c.delivery_id.in_(ids[start:
                                                                                 start + 500])))

