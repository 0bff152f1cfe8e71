"""The multi-tenant world on SQLite and PostgreSQL (``engine`` is parametrised over both)."""

from __future__ import annotations

import pytest

from tests.scope.world import World, build


@pytest.fixture
def world(engine) -> World:
    return build(engine)
