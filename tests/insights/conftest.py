"""Fixtures of the insights tests; the hand-made data is in world.py."""

from __future__ import annotations

import pytest

from tests.insights.world import build_world


@pytest.fixture
def world(engine):
    """The world of world.py on SQLite and on PostgreSQL."""
    build_world(engine)
    return engine
