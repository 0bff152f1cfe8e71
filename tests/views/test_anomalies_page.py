"""AppTest: the Anomalies page, its self-refreshing section, and the incident banner.

The page runs on a frozen clock (``as_identity(..., now=NOW)``): durations such as "3 min"
do not depend on how long the run takes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.audit import AuditFilter, list_events
from intel.deliveries.write import upsert_deliveries
from intel.detect.signals import Signal
from intel.incidents.lifecycle import advance
from intel.incidents.store import acknowledge_incident, apply_transitions
from intel.store.db import make_engine
from intel.store.schema import incidents
from intel.worker.heartbeat import beat, tick_info
from tests.views.apptest import as_identity, texts

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "views" / "anomalies.py")
APP = str(ROOT / "app.py")
NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
HOSTILE = "https://evil.example/**bold**/<img src=x onerror=alert(1)>"
DOWN = "https://api.customer.example/webhooks"


def _signal(target: str, failures: int, kind: str = "endpoint_spike") -> Signal:
    return Signal(
        type=kind, target=target, window="5m", window_s=300, failures=failures,
        total=failures, expected=3.0, ratio=failures / 3.0, p_value=1e-9, base_ratio=0.01,
        base_rate=0.0001, base_failures=10, base_total=1000, firing=True, abnormal=True,
        severity="critical" if failures >= 10 else "warning", excess=failures - 3.0,
    )


def _seed(url: str, *, beat_age_s: float = 5) -> dict:
    engine = make_engine(url)
    ids = {}
    with engine.begin() as conn:
        upsert_deliveries(conn, [
            {"id": f"d{i}", "tenant": "customer", "endpoint": DOWN, "status": "failed",
             "http_status": 503, "created_at": NOW - timedelta(minutes=i),
             "last_attempt_at": NOW - timedelta(minutes=i)} for i in range(20)
        ], now=NOW, record_attempts=False)
        old = advance({}, [_signal("https://old.example/h", 5)], NOW - timedelta(hours=5), 0)
        gone = advance(old.active, [], NOW - timedelta(hours=4), 0)
        apply_transitions(conn, old.transitions + gone.transitions, NOW - timedelta(hours=4))
        step = advance({}, [_signal(DOWN, 45), _signal(HOSTILE, 4)], NOW - timedelta(minutes=3),
                       300)
        apply_transitions(conn, step.transitions, NOW - timedelta(minutes=3))
        beat(conn, "w1", NOW - timedelta(seconds=beat_age_s), 12.0,
             tick_info(NOW - timedelta(seconds=beat_age_s)))
        for inc in step.active.values():
            ids[inc.target] = inc.id
        ids["old"] = next(iter(old.active.values())).id
    acknowledge_incident(engine, ids[HOSTILE], "bob", "**known** <b>", NOW)
    engine.dispose()
    return ids


@pytest.fixture
def page_db(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    yield sqlite_url
    st.cache_data.clear()


def _markdown(at: AppTest) -> str:
    return " ".join(texts(at))


def test_page_shows_active_history_and_timeline(page_db):
    _seed(page_db)
    at = as_identity(AppTest.from_file(PAGE, default_timeout=30), "alice", now=NOW)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "🚨 Anomalies"
    active = at.dataframe[0].value
    assert list(active["target"]) == [DOWN, HOSTILE]  # critical first
    assert list(active["acknowledged by"]) == ["", "bob"]
    history = at.dataframe[-2].value  # the last one is the rules table
    assert set(history["status"]) == {"active", "resolved"} and len(history) == 3
    assert set(history["duration"]) == {"3 min", "1 h 00 min"}
    assert any("45 failures to api.customer.example/webhooks in 5 min" in t.value for t in at.text)
    assert not any("detector last ran" in c.value for c in at.caption)  # the banner's
    assert len(at.get("vega_lite_chart")) == 1
    assert HOSTILE not in _markdown(at) and "**known**" not in _markdown(at)
    assert "<img" not in _markdown(at)


def test_the_page_is_the_same_however_long_the_run_takes(page_db):
    """The durations come from the frozen clock, not the wall clock."""
    _seed(page_db)
    at = as_identity(AppTest.from_file(PAGE, default_timeout=30), "alice",
                     now=NOW + timedelta(minutes=7))
    at.run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["duration"]) == ["10 min", "10 min"]


def test_the_refreshing_section_directly(page_db):
    _seed(page_db, beat_age_s=600)

    def section():
        from ui.anomalies import active_section

        active_section()

    at = as_identity(AppTest.from_function(section, default_timeout=30), "alice", now=NOW)
    at.run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == "Active incidents (2)"
    assert not at.warning  # the detector's status is the banner's, once per page


def test_detector_last_ran_once_per_page(page_db):
    """In the app, on the Anomalies page: the banner says when the detector last ran, the
    page does not say it again."""
    _seed(page_db)
    at = as_identity(AppTest.from_file(APP, default_timeout=60), "alice", now=NOW)
    at.run()
    at.switch_page("views/anomalies.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "🚨 Anomalies"
    said = [c.value for c in at.caption if "detector last ran" in c.value]
    assert said == ["⏱️ detector last ran 5 s ago"]


def _banner_app(user: str | None = "alice", role: str | None = None) -> AppTest:
    def app():
        from ui.banner import render_banner
        from ui.session import require_identity

        render_banner(require_identity())

    return as_identity(AppTest.from_function(app, default_timeout=30), user, role, now=NOW)


def test_banner_shows_unacknowledged_incidents_and_acknowledges(page_db):
    ids = _seed(page_db)
    at = _banner_app()
    at.run()
    assert not at.exception, at.exception
    texts = [t.value for t in at.text]
    assert texts == ["🚨 45 failures to api.customer.example/webhooks in 5 min — 15x normal"]
    (link,) = [b for b in at.get("link_button")]
    assert link.proto.url.startswith("/?") and "status=failed" in link.proto.url
    assert "endpoint=https%3A%2F%2Fapi.customer.example%2Fwebhooks" in link.proto.url
    assert any("detector last ran" in c.value for c in at.caption)

    at.button(key=f"banner_ack_{ids[DOWN]}").click().run()  # opens the dialog
    assert at.text_area(key=f"ack_note_{ids[DOWN]}")
    # AppTest does not keep a dialog open across reruns: open, type and confirm in one run
    at.button(key=f"banner_ack_{ids[DOWN]}").click()
    at.text_area(key=f"ack_note_{ids[DOWN]}").input("customer is migrating")
    at.button(key=f"ack_confirm_{ids[DOWN]}").click()
    at.run()
    assert not at.exception, at.exception
    assert not [t for t in at.text if "45 failures" in t.value]  # hidden from the banner

    engine = make_engine(page_db)
    with engine.connect() as conn:
        row = conn.execute(sa.select(incidents).where(incidents.c.id == ids[DOWN])
                           ).mappings().one()
    assert row["status"] == "active"  # still tracked
    assert row["acknowledged_by"] == "alice" and row["ack_note"] == "customer is migrating"
    events, _ = list_events(engine, AuditFilter(action_prefix="incident.ack", actor="alice"))
    assert [e["target_id"] for e in events] == [ids[DOWN]]
    assert events[0]["details"]["via"] == "banner"  # counted by the adoption figures
    engine.dispose()


def test_a_viewer_is_not_offered_acknowledge(page_db):
    ids = _seed(page_db)
    at = _banner_app(role="viewer")
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.text] == [
        "🚨 45 failures to api.customer.example/webhooks in 5 min — 15x normal"]
    assert not [b for b in at.button if b.key == f"banner_ack_{ids[DOWN]}"]
    page = as_identity(AppTest.from_file(PAGE, default_timeout=30), "alice", "viewer", NOW)
    page.run()
    assert not page.exception, page.exception
    assert not [b for b in page.button if "known issue" in b.label]


def test_banner_says_when_the_detector_is_stale(page_db):
    _seed(page_db, beat_age_s=600)
    at = _banner_app()
    at.run()
    assert not at.exception, at.exception
    assert "stale" in at.warning[0].value  # the heartbeat is 10 min old


def _recovering(url: str) -> str:
    """One endpoint incident: 45 failures at its peak, back to 3 (normal) a minute ago."""
    engine = make_engine(url)
    with engine.begin() as conn:
        opened = advance({}, [_signal(DOWN, 45)], NOW - timedelta(minutes=3), 300)
        apply_transitions(conn, opened.transitions, NOW - timedelta(minutes=3))
        calm = replace(_signal(DOWN, 3), firing=False, abnormal=False)
        step = advance(opened.active, [calm], NOW - timedelta(minutes=1), 300)
        apply_transitions(conn, step.transitions, NOW - timedelta(minutes=1))
        beat(conn, "w1", NOW - timedelta(seconds=5), 12.0, tick_info(NOW - timedelta(seconds=5)))
    engine.dispose()
    return next(iter(step.active.values())).id


def test_a_recovering_incident_says_so(page_db):
    _recovering(page_db)
    at = _banner_app()
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.text] == [
        "🚨 api.customer.example/webhooks recovering: peak 45 failures in 5 min, 15x normal; "
        "now 3"]
    markdown = _markdown(at)
    assert "Recovering" in markdown and "Anomaly detected" not in markdown
    page = as_identity(AppTest.from_file(PAGE, default_timeout=30), "alice", now=NOW)
    page.run()
    assert not page.exception, page.exception
    assert list(page.dataframe[0].value["status"]) == ["recovering"]
    assert list(page.dataframe[0].value["failures now"]) == [3]


def test_banner_without_detector_or_incidents(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    at = _banner_app()
    at.run()
    assert not at.exception
    assert not at.text
    assert any("has not run yet" in c.value for c in at.caption)
