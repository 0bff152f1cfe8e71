"""Shared fixtures: real SQLite, PostgreSQL and Redis.

In CI (``CI=true``) a missing PostgreSQL or Redis fails the test; elsewhere it skips
with a message naming what is missing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from intel.store.db import make_engine, upgrade
from intel.store.schema import metadata

REPO = Path(__file__).resolve().parents[1]

# Endpoint signing secrets are stored encrypted (intel.secretbox): the suite, and the
# processes it starts, use one throwaway key (a test that needs another sets its own).
if not os.environ.get("INTEL_SECRET_KEY"):
    from intel.secretbox import generate_key

    os.environ["INTEL_SECRET_KEY"] = generate_key()
SHARED = REPO.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)

# The 143 labelled real-world failures: the shared copy beside the repo when present,
# else the identical copy the product ships as its starter label set.
_SHARED_DEV_SET = SHARED / "datasets" / "triage_dev.jsonl"
_STARTER = REPO / "data" / "triage_labels_starter.jsonl"
DEV_SET = _SHARED_DEV_SET if _SHARED_DEV_SET.exists() else _STARTER


def service_missing(what: str, why: object) -> None:
    message = f"{what} is not reachable ({why}); start it to run this test"
    if IN_CI:
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


@pytest.fixture
def now() -> datetime:
    return NOW


# --- SQLite -----------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(_sqlite_template, tmp_path) -> str:
    """A fresh, migrated SQLite database file for this test."""
    path = tmp_path / "intel.db"
    shutil.copy(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_engine(sqlite_url):
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


# --- PostgreSQL -------------------------------------------------------------


@pytest.fixture(scope="session")
def _pg_database():
    """A throwaway database on the shared server, migrated once per test process."""
    try:
        admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any connection failure means "not reachable"
        yield exc
        return
    name = f"intel_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(
        hide_password=False
    )
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def pg_url(_pg_database) -> str:
    """The test PostgreSQL database, emptied before the test."""
    if isinstance(_pg_database, Exception):
        service_missing(f"PostgreSQL at {PG_ADMIN_URL}", _pg_database)
    engine = make_engine(_pg_database)
    _truncate_all(engine)
    engine.dispose()
    return _pg_database


@pytest.fixture
def pg_engine(pg_url):
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


# --- Redis ------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    """The shared Redis (database 15), flushed before the test."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
        client.flushdb()
        client.close()
    except Exception as exc:
        service_missing(f"Redis at {REDIS_TEST_URL}", exc)
    return REDIS_TEST_URL
