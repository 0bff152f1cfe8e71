"""Simulated history in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from intel.deliveries.write import DELIVERY_COLUMNS, upsert_deliveries
from intel.secretbox import default_box
from intel.simulate import SimulationConfig, generate, simulate
from intel.simulate.texts import CATEGORIES
from intel.store.schema import (
    deliveries,
    delivery_attempts,
    endpoints,
    sim_events,
    sim_failure_truth,
)

END = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 5, 17, 0, tzinfo=UTC)
CONFIG = SimulationConfig(seed=42, end=END, days=2, deliveries=5_000)


def _count(conn, table, *where) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar()


def test_simulate_writes_deliveries_attempts_truth_events_and_endpoints(engine):
    summary = simulate(engine, CONFIG, now=NOW)
    assert summary.deliveries == 5_000
    assert summary.delivered + summary.failed + summary.pending == 5_000
    with engine.connect() as conn:
        assert _count(conn, deliveries) == 5_000
        assert _count(conn, deliveries, deliveries.c.status == "failed") == summary.failed
        assert _count(conn, delivery_attempts, delivery_attempts.c.kind == "delivery") == 5_000
        # every failed delivery has its truth, and only failed ones do
        assert _count(conn, sim_failure_truth) == summary.failed
        orphans = conn.execute(
            sa.select(sa.func.count()).select_from(
                deliveries.outerjoin(sim_failure_truth,
                                     sim_failure_truth.c.delivery_id == deliveries.c.id)
            ).where(deliveries.c.status == "failed", sim_failure_truth.c.delivery_id.is_(None))
        ).scalar()
        assert orphans == 0
        categories = set(conn.execute(sa.select(sim_failure_truth.c.category).distinct())
                         .scalars())
        assert categories <= set(CATEGORIES)
        dangling = conn.execute(
            sa.select(sa.func.count()).select_from(
                sim_failure_truth.outerjoin(sim_events,
                                            sim_events.c.id == sim_failure_truth.c.scenario_event)
            ).where(sim_failure_truth.c.scenario_event.is_not(None), sim_events.c.id.is_(None))
        ).scalar()
        assert dangling == 0
        kinds = {k: (a, t) for k, a, t in conn.execute(
            sa.select(sim_events.c.kind, sim_events.c.is_anomaly, sim_events.c.expected_type))}
        assert kinds["outage"] == (1, "endpoint_spike")
        assert kinds["ratelimit"] == (1, "endpoint_spike")
        assert kinds["misconfig"] == (1, "tenant_spike")
        assert kinds["burst"] == (1, "burst")
        assert kinds["surge"] == (0, None)
        assert kinds["profile_flaky"] == (0, None) and kinds["profile_gone"] == (0, None)
        assert _count(conn, sim_events) == summary.events
        secrets = conn.execute(sa.select(endpoints.c.url, endpoints.c.signing_secret)).all()
        assert len(secrets) == summary.endpoints
        # stored encrypted (intel.secretbox): never a plaintext whsec_ in the column
        assert all(s.startswith("fernet:") and "whsec_" not in s for _u, s in secrets)
        assert all(default_box().open(s).startswith("whsec_") for _u, s in secrets)
        used = set(conn.execute(sa.select(deliveries.c.endpoint).distinct()).scalars())
        assert used <= {u for u, _s in secrets}
        attempt = conn.execute(
            sa.select(delivery_attempts).where(delivery_attempts.c.delivery_id == "sim42-00000010")
        ).mappings().one()
        row = conn.execute(sa.select(deliveries).where(deliveries.c.id == "sim42-00000010")
                           ).mappings().one()
        assert (attempt["attempt_no"], attempt["status"], attempt["finished_at"]) == (
            row["attempts"], row["status"], row["last_attempt_at"])
        assert row["updated_at"] == NOW


def test_stored_rows_equal_the_generated_records(engine):
    simulate(engine, CONFIG, now=NOW)
    records = {r["id"]: r for batch in generate(CONFIG) for r in batch}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries).order_by(deliveries.c.id)).mappings().all()
    assert len(rows) == len(records)
    for row in rows:
        rec = records[row["id"]]
        for column in DELIVERY_COLUMNS:
            if column != "extra":
                assert row[column] == rec[column], (row["id"], column)
        assert row["extra"] is None


def test_bulk_path_stores_what_upsert_deliveries_stores(engine):
    """The simulator's fast writer and the shared write path agree column by column."""
    simulate(engine, SimulationConfig(seed=3, end=END, days=1, deliveries=400), now=NOW)
    records = next(generate(SimulationConfig(seed=3, end=END, days=1, deliveries=400)))
    copies = [dict(r, id="copy-" + r["id"]) for r in records]
    with engine.begin() as conn:
        upsert_deliveries(conn, copies, now=NOW)
    cols = [c for c in (*DELIVERY_COLUMNS, "updated_at") if c != "id"]
    a_cols = ["attempt_no", "kind", "status", "http_status", "error", "response_headers",
              "response_body", "duration_ms", "started_at", "finished_at"]
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # compare the stored text itself
            def raw(sql):
                return {r[0].removeprefix("copy-"): tuple(r[1:])
                        for r in conn.exec_driver_sql(sql).all()}

            bulk = raw(f"SELECT id, {', '.join(cols)} FROM deliveries WHERE id LIKE 'sim3-%'")
            copy = raw(f"SELECT id, {', '.join(cols)} FROM deliveries WHERE id LIKE 'copy-%'")
            assert len(bulk) == 400 and bulk == copy
            a_bulk = raw(f"SELECT delivery_id, {', '.join(a_cols)} FROM delivery_attempts "
                         "WHERE delivery_id LIKE 'sim3-%'")
            a_copy = raw(f"SELECT delivery_id, {', '.join(a_cols)} FROM delivery_attempts "
                         "WHERE delivery_id LIKE 'copy-%'")
            assert a_bulk == a_copy
        typed = {}
        for prefix in ("sim3-", "copy-sim3-"):
            rows = conn.execute(sa.select(deliveries).where(deliveries.c.id.like(prefix + "%"))
                                .order_by(deliveries.c.id)).mappings().all()
            typed[prefix] = [{c: r[c] for c in cols} for r in rows]
        assert typed["sim3-"] == typed["copy-sim3-"]


def test_running_twice_does_not_duplicate_and_a_smaller_run_replaces(engine):
    first = simulate(engine, CONFIG, now=NOW)

    def snapshot():
        with engine.connect() as conn:
            return (
                conn.execute(sa.select(deliveries.c.id, deliveries.c.status,
                                       deliveries.c.last_attempt_at, deliveries.c.payload)
                             .order_by(deliveries.c.id)).all(),
                conn.execute(sa.select(sim_failure_truth).order_by(
                    sim_failure_truth.c.delivery_id)).all(),
                conn.execute(sa.select(sim_events).order_by(sim_events.c.id)).all(),
                _count(conn, delivery_attempts),
                _count(conn, endpoints),
            )

    before = snapshot()
    second = simulate(engine, CONFIG, now=NOW)
    assert snapshot() == before
    assert (second.deliveries, second.failed) == (first.deliveries, first.failed)

    smaller = SimulationConfig(seed=42, end=END, days=1, deliveries=3_000)
    summary = simulate(engine, smaller, now=NOW)
    assert summary.removed == 2_000
    with engine.connect() as conn:
        assert _count(conn, deliveries) == 3_000
        assert _count(conn, delivery_attempts) == 3_000
        assert _count(conn, sim_failure_truth) == summary.failed
        assert _count(conn, sim_events) == summary.events  # the old run's events are gone


def test_endpoint_base_urls_in_the_store(engine):
    config = SimulationConfig(seed=42, end=END, days=1, deliveries=500,
                              endpoint_base="http://127.0.0.1:8701")
    simulate(engine, config, now=NOW)
    with engine.connect() as conn:
        urls = set(conn.execute(sa.select(deliveries.c.endpoint).distinct()).scalars())
        stored = set(conn.execute(sa.select(endpoints.c.url)).scalars())
        targets = set(conn.execute(sa.select(sim_events.c.target)
                                   .where(sim_events.c.kind.in_(["outage", "ratelimit"])))
                      .scalars())
    for url in urls | stored | targets:
        assert url.startswith("http://127.0.0.1:8701/hooks/")
        assert len(url.removeprefix("http://127.0.0.1:8701/hooks/").split("/")) == 2
