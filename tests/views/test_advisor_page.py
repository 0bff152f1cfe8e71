"""AppTest: the Advisor page shows the recommendation, its confidence and the breakdown
charts; "Replay all recommended" goes through the confirmation dialog, launches the job
(source advisor, audited) in a runner process, and its progress and result show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.audit import AuditFilter, list_events
from intel.replay import jobs as J
from intel.settings import get_settings
from intel.store.db import make_engine
from intel.store.schema import replay_jobs
from tests.replay.replay_helpers import Answer, Receiver, delivery, seed, serve, wait_for
from tests.views.apptest import as_identity, texts, write_config

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "advisor.py")
NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)  # the page's frozen clock


@pytest.fixture
def receiver():
    rec = serve(Receiver())
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture
def page_db(sqlite_url, tmp_path, monkeypatch, receiver):
    config = write_config(tmp_path, "replay:\n  allow_private_networks: true\n"
                                    "  global_rate_per_s: 1000\n  heartbeat_s: 0.2\n")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    monkeypatch.setenv("INTEL_REPLAY_LOG_DIR", str(tmp_path / "logs"))
    get_settings.cache_clear()
    st.cache_data.clear()
    now = NOW
    ok, down = receiver.url("/hooks/acme/ok"), receiver.url("/hooks/beta/down")
    receiver.route("/hooks/beta/down", Answer(503))

    def at(minutes):
        return now - timedelta(minutes=minutes)

    engine = make_engine(sqlite_url)
    seed(engine, [
        delivery("r1", ok, created_at=at(90), last_attempt_at=at(90)),
        delivery("r2", ok, created_at=at(80), last_attempt_at=at(80), http_status=None,
                 response_body=None, error="dial tcp 10.1.1.1:443: connect: connection refused"),
        delivery("r3", ok, created_at=at(70), last_attempt_at=at(70), http_status=502,
                 response_body="<html><center>nginx</center> 502 Bad Gateway</html>"),
        delivery("ok1", ok, status="delivered", http_status=200, created_at=at(5),
                 last_attempt_at=at(5)),
        delivery("w1", down, tenant="beta", created_at=at(20), last_attempt_at=at(20)),
        delivery("p1", ok, created_at=at(30), last_attempt_at=at(30), http_status=410,
                 response_body="Gone"),
    ])
    yield engine
    engine.dispose()
    get_settings.cache_clear()
    st.cache_data.clear()


def _texts(at: AppTest) -> str:
    return "\n".join(
        [m.value for m in at.markdown] + [t.value for t in at.text] + [c.value for c in at.caption]
    )


def _page(engine, user: str | None = "alice", role: str | None = None, **params) -> AppTest:
    del engine  # the fixture's database, seeded around NOW
    at = as_identity(AppTest.from_file(PAGE, default_timeout=30), user, role, now=NOW)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def test_page_shows_the_recommendation_and_why(page_db):
    at = _page(page_db, role="viewer").run()
    assert not at.exception
    text = _texts(at)
    assert "**3 deliveries** recommended for replay (60 % of failures)" in text
    assert any("confidence" in m.value for m in at.markdown)
    assert "3 of 5 failed deliveries" in text
    expander = at.expander[0]
    assert expander.label == "Why these deliveries?"
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3  # decisions, categories, age
    frames = at.dataframe
    endpoints = frames[0].value
    assert set(endpoints["health"]) == {"recovered", "down"}
    held = frames[1].value
    assert set(held["decision"]) == {"wait", "investigate"}
    # a viewer is not offered the bulk replay
    assert not [b for b in at.button if b.label == "Replay all recommended"]


def test_tenant_and_window_come_from_the_url(page_db):
    at = _page(page_db, tenant="beta", window="7d")
    at.run()
    assert not at.exception
    assert "**0 deliveries** recommended for replay (0 % of failures)" in _texts(at)
    assert at.selectbox[0].value == "beta"


@pytest.mark.parametrize(
    "job",
    ["![m](http://evil.example/b)", "<img src=x onerror=alert(1)>", ":red[boo]",
     "[link](javascript:alert(1))", "`code` **bold**"],
)
def test_the_job_parameter_is_shown_as_text(page_db, job):
    """``/advisor?job=![m](http://host/b)`` once loaded an image through st.subheader."""
    at = _page(page_db, job=job).run()
    assert not at.exception, at.exception
    assert job in [c.value for c in at.code]
    assert [s.value for s in at.subheader] == ["Replay job", "Recent replay jobs"]
    shown = "\n".join(texts(at))
    assert job not in shown
    assert "](http" not in shown and "<img" not in shown and ":red[" not in shown
    assert any("This replay job is not in the store" in i.value for i in at.info)


def test_replay_all_recommended_through_the_dialog(page_db, receiver, tmp_path):
    at = _page(page_db, role="operator")
    at.run()
    button = next(b for b in at.button if b.label == "Replay all recommended")
    assert not button.disabled
    button.click().run()
    assert not at.exception
    # the confirmation dialog: count, endpoints, operator
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Deliveries"] == "3" and metrics["Endpoints"] == "1"
    assert "Operator: alice" in [t.value for t in at.text]
    assert not receiver.requests  # nothing sent before confirming
    start = next(b for b in at.button if b.label == "Start replay")
    start.click().run()
    assert not at.exception
    with page_db.connect() as conn:
        job = conn.execute(sa.select(replay_jobs)).mappings().one()
    assert job["source"] == "advisor" and job["created_by"] == "alice"
    assert job["preview"]["filters"]["launched_from"] == "app"
    assert job["total"] == 3
    # the detached runner process sends them; progress is read from the database
    assert wait_for(lambda: J.get_job(page_db, job["id"])["status"] == "completed", timeout=30)
    assert (tmp_path / "logs" / f"replay-{job['id']}.log").exists()
    assert sorted(receiver.receipts) == ["r1", "r2", "r3"]
    at.run()
    assert not at.exception
    bars = at.get("progress")
    assert bars and "completed — 3/3" in bars[0].proto.text
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Succeeded"] == "3"
    events = list_events(page_db, AuditFilter(action_prefix="replay.job"))[0]
    assert [e["action"] for e in events] == [
        "replay.job.finish", "replay.job.start", "replay.job.create"]
    assert events[2]["details"]["source"] == "advisor" and events[2]["actor"] == "alice"
