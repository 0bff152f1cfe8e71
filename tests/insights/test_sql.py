"""The SQL helpers: reading deliveries through a named index on SQLite only."""

from __future__ import annotations

import pytest
from sqlalchemy import exists, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from intel.insights._sql import FAILED_INDEX, indexed, status_is


def _sql(stmt, dialect) -> str:
    return " ".join(str(stmt.compile(dialect=dialect)).split())


def test_indexed_from_clause_per_dialect():
    t = indexed(FAILED_INDEX)
    other = indexed("ix_deliveries_endpoint_time", "other")
    stmt = (
        select(t.c.endpoint, func.count())
        .where(status_is("failed", t),
               ~exists(select(literal_column("1")).select_from(other)
                       .where(other.c.endpoint == t.c.endpoint)))
        .group_by(t.c.endpoint)
    )
    lite = _sql(stmt, sqlite.dialect())
    assert "FROM deliveries INDEXED BY ix_deliveries_failed_time WHERE" in lite
    assert "FROM deliveries AS other INDEXED BY ix_deliveries_endpoint_time" in lite
    assert "deliveries.status = 'failed'" in lite  # a literal: the partial index matches
    pg = _sql(stmt, postgresql.dialect())
    assert "INDEXED BY" not in pg and "FROM deliveries AS other" in pg


def test_the_index_name_is_part_of_the_cache_key():
    a = select(func.count()).select_from(indexed("ix_a"))
    b = select(func.count()).select_from(indexed("ix_b"))
    assert a._generate_cache_key() != b._generate_cache_key()
    assert a._generate_cache_key() == select(func.count()).select_from(
        indexed("ix_a"))._generate_cache_key()


def test_indexed_columns_keep_their_types(engine):
    from datetime import UTC, datetime

    from tests.insights.world import delivery, write

    at = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    write(engine, [delivery("https://x.example/h", "t", "failed", at, http_status=500)])
    t = indexed(FAILED_INDEX)
    with engine.connect() as conn:
        got = conn.execute(select(t.c.last_attempt_at).where(status_is("failed", t))).scalar()
    assert got == at and got.tzinfo is not None


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match="unknown delivery status"):
        status_is("lost")
