"""Store round-trips, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from intel.audit import AuditFilter, list_events, record
from intel.deliveries.write import upsert_deliveries
from intel.store.db import is_up_to_date
from intel.store.schema import deliveries, delivery_attempts, incidents
from intel.store.sqlfuncs import epoch_seconds, hour_of_day, time_bucket, weekday

T0 = datetime(2026, 11, 5, 16, 30, 15, 123456, tzinfo=UTC)


def _delivery(i: int, **over):
    rec = {
        "id": f"d{i}",
        "tenant": "acme",
        "endpoint": "https://hooks.acme.example/x",
        "event_type": "invoice.paid",
        "status": "failed",
        "http_status": 503,
        "error": None,
        "response_headers": {"Retry-After": "30"},
        "response_body": "<html>bad gateway</html>",
        "attempts": 1,
        "created_at": T0,
        "last_attempt_at": T0 + timedelta(seconds=i),
        "duration_ms": 12.5,
        "payload": {"amount": 10, "nested": {"ok": True}},
        "extra": {"region": "eu"},
    }
    rec.update(over)
    return rec


def test_schema_is_at_head(engine):
    assert is_up_to_date(engine)


def test_delivery_round_trip_keeps_every_field_and_utc(engine):
    with engine.begin() as conn:
        upsert_deliveries(conn, [_delivery(1)], now=T0)
    with engine.connect() as conn:
        row = conn.execute(sa.select(deliveries)).mappings().one()
    assert row["created_at"] == T0
    assert row["created_at"].tzinfo is not None
    assert row["payload"] == {"amount": 10, "nested": {"ok": True}}
    assert row["response_headers"] == {"Retry-After": "30"}
    assert row["extra"] == {"region": "eu"}
    assert row["duration_ms"] == 12.5


def test_upsert_updates_never_duplicates_and_records_each_attempt_once(engine):
    with engine.begin() as conn:
        upsert_deliveries(conn, [_delivery(1)], now=T0)
        upsert_deliveries(conn, [_delivery(1)], now=T0)  # same attempt again: no new row
        upsert_deliveries(
            conn, [_delivery(1, status="delivered", http_status=200, attempts=2)], now=T0
        )
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == 1
        status = conn.execute(sa.select(deliveries.c.status)).scalar()
        attempts = conn.execute(
            sa.select(delivery_attempts.c.attempt_no, delivery_attempts.c.status).order_by(
                delivery_attempts.c.attempt_no
            )
        ).all()
    assert status == "delivered"
    assert attempts == [(1, "failed"), (2, "delivered")]


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"), engine.begin() as conn:
        upsert_deliveries(conn, [_delivery(1, created_at=datetime(2026, 1, 1))], now=T0)


def test_time_functions_agree_across_dialects(engine):
    with engine.begin() as conn:
        upsert_deliveries(conn, [_delivery(1)], now=T0)
    with engine.connect() as conn:
        epoch, hour, dow, bucket = conn.execute(
            sa.select(
                epoch_seconds(deliveries.c.created_at),
                hour_of_day(deliveries.c.created_at),
                weekday(deliveries.c.created_at),
                time_bucket(deliveries.c.created_at, 300),
            )
        ).one()
    assert epoch == pytest.approx(T0.timestamp(), abs=1e-3)
    assert hour == 16
    assert dow == T0.weekday()
    assert bucket == int(T0.timestamp()) // 300 * 300


def test_only_one_active_incident_per_dedup_key(engine):
    row = {
        "dedup_key": "endpoint_spike|https://x", "type": "endpoint_spike", "target": "https://x",
        "severity": "warning", "status": "active", "current_failures": 5, "peak_failures": 5,
        "baseline": 0.5, "detected_at": T0, "updated_at": T0,
    }
    with engine.begin() as conn:
        conn.execute(incidents.insert().values(id="i1", **row))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(incidents.insert().values(id="i2", **row))
    with engine.begin() as conn:
        conn.execute(incidents.update().values(status="resolved"))
        conn.execute(incidents.insert().values(id="i3", **row))  # a new episode may open


def test_audit_record_and_filter(engine):
    with engine.begin() as conn:
        record(conn, actor="alice", action="replay.single", at=T0, target_type="delivery",
               target_id="d1", details={"outcome": "succeeded"})
        record(conn, actor="system", action="incident.open", at=T0 + timedelta(minutes=1))
        record(conn, actor="bob", action="replay.job.start", at=T0 + timedelta(minutes=2))
    events, total = list_events(engine, AuditFilter(action_prefix="replay"))
    assert total == 2
    assert [e["actor"] for e in events] == ["bob", "alice"]  # newest first
    assert events[1]["details"] == {"outcome": "succeeded"}
    events, total = list_events(engine, AuditFilter(actor="system"))
    assert total == 1 and events[0]["actor_kind"] == "system"
    with pytest.raises(ValueError, match="action"), engine.begin() as conn:
        record(conn, actor="alice", action="nodot", at=T0)


@pytest.mark.parametrize("second", [0, 1, 299, 300, 301, 599, 600])
def test_time_bucket_is_exact_at_boundaries(engine, second):
    at = datetime(2026, 11, 5, 16, 0, tzinfo=UTC) + timedelta(seconds=second)
    with engine.begin() as conn:
        upsert_deliveries(conn, [_delivery(1, created_at=at)], now=T0)
    with engine.connect() as conn:
        bucket = conn.execute(sa.select(time_bucket(deliveries.c.created_at, 300))).scalar()
    assert bucket == int(at.timestamp()) // 300 * 300


def test_migrations_build_exactly_the_declared_schema(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from intel.store.db import head_revisions
    from intel.store.schema import metadata

    assert len(head_revisions(engine)) == 1, "migrations must form one line"
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
