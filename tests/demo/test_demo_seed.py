"""``python -m intel demo seed``: the seeded week comes with the detector's incidents.

The Anomalies history beside the week's timeline must not say "No incidents in this
period": the seed runs the detector over the simulated week (the backtest) and writes
what it finds as real incidents, audited as the system, once.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from intel.audit import AuditFilter, list_events
from intel.backtest.history import record_history
from intel.cli import main
from intel.incidents.queries import incident_history
from intel.settings import Settings, get_settings
from intel.simulate import SimulationConfig, simulate
from intel.store.db import dispose_engines, make_engine, upgrade
from intel.store.schema import incidents

DAYS = 2


@pytest.fixture
def demo_db(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield sqlite_url
    dispose_engines()
    get_settings.cache_clear()


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(incidents)).scalar()


def test_the_seeded_demo_has_incidents_in_its_history(demo_db, capsys):
    args = ["demo", "seed", "--deliveries", "30000", "--days", str(DAYS), "--seed", "42"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "running the detector over the simulated week" in out
    engine = make_engine(demo_db)
    with engine.connect() as conn:
        first, last = conn.execute(
            sa.select(sa.func.min(sa.text("last_attempt_at")),
                      sa.func.max(sa.text("last_attempt_at"))).select_from(
                sa.table("deliveries"))).one()
        history = incident_history(conn, since=None)
    assert history, out  # the Anomalies history is not empty beside the timeline
    assert any(i.status == "resolved" for i in history)
    for incident in history:  # inside the simulated week, with their figures
        assert incident.peak_failures >= 3 and incident.peak_window_s
        assert not re.search(r"\b0 failures", incident.headline), incident.headline
        assert (incident.details.get("triage") or {}).get("failures") is not None
    events, _ = list_events(engine, AuditFilter(action_prefix="incident.open"))
    assert {e["actor"] for e in events} == {"system"}
    assert {e["target_id"] for e in events} == {i.id for i in history}
    summary, _ = list_events(engine, AuditFilter(action_prefix="detector.history"))
    assert len(summary) == 1 and summary[0]["details"]["written"] == len(history)
    assert first is not None and last is not None

    # seeding again writes nothing twice
    before = _count(engine)
    assert main(args) == 0
    assert "already present" in capsys.readouterr().out
    assert _count(engine) == before
    events, _ = list_events(engine, AuditFilter(action_prefix="incident.open"))
    assert len(events) == before
    engine.dispose()


def test_a_span_with_incidents_is_left_alone(sqlite_url, now):
    """A span that already has incidents (an earlier run's, or the live worker's) is left
    alone: each episode is stored once."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    simulate(engine, SimulationConfig(seed=7, end=end, days=DAYS, deliveries=30000),
             now=end)
    detector = Settings().detector
    first = record_history(engine, start, end, detector, now=end)
    assert first.written == first.found > 0 and first.end == end
    again = record_history(engine, start, end, detector, now=end)
    assert (again.found, again.written, again.end) == (0, 0, again.start)
    assert "already present" in again.describe()
    assert _count(engine) == first.written
    engine.dispose()
