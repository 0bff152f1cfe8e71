"""Alembic environment: the connection comes from intel.store.db, never from an ini file."""

from alembic import context

from intel.store.db import make_engine
from intel.store.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = config.attributes.get("engine") or make_engine()
    with engine.begin() as conn:
        _migrate(conn)


def _migrate(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
