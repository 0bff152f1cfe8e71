"""Fixtures for the labels tests: a few stored failures."""

from __future__ import annotations

import pytest

from intel.deliveries.write import upsert_deliveries
from tests.labels.labels_data import T0, failure


@pytest.fixture
def stored_failures(engine):
    """Engine holding d000..d009, all failed 503s."""
    with engine.begin() as conn:
        upsert_deliveries(conn, [failure(i) for i in range(10)], now=T0)
    return engine
