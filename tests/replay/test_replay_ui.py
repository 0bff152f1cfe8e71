"""AppTest of ui/replay.py: single replay from the delivery detail, and the job progress
(the fragment's body, since AppTest never fires ``run_every``)."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.audit import AuditFilter, list_events
from intel.replay import jobs as J
from intel.settings import get_settings
from intel.store.db import make_engine
from intel.store.schema import replay_claims
from intel.timeutil import utcnow
from tests.replay.replay_helpers import T0, Answer, delivery, seed


@pytest.fixture
def ui_db(sqlite_url, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("auth:\n  demo: true\nreplay:\n  allow_private_networks: true\n")
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    get_settings.cache_clear()
    st.cache_data.clear()
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _single(delivery_id):
    from intel.deliveries.query import get_delivery
    from ui.replay import render_single_replay
    from ui.session import current_identity, engine

    identity = current_identity()
    if identity is None:
        st.text("signed out")
        return
    delivery = get_delivery(engine(), delivery_id, scope=identity.scope)
    if delivery is None:
        st.text("no such delivery")
        return
    render_single_replay(delivery, identity)


def _progress(job_id):
    from ui.replay import _progress_body

    _progress_body(job_id)


def test_single_replay_from_the_detail(ui_db, receiver):
    receiver.route("/x", Answer(202))
    seed(ui_db, [delivery("d1", receiver.url("/x"))])
    at = AppTest.from_function(_single, args=("d1",), default_timeout=30)
    at.session_state["demo_role"] = "viewer"
    at.session_state["demo_name"] = "vera"
    at.run()
    assert not [b for b in at.button if b.label == "↻ Replay now"]  # a viewer is not offered it
    at.session_state["demo_role"] = "operator"
    at.session_state["demo_name"] = "alice"
    at.run()
    next(b for b in at.button if b.label == "↻ Replay now").click().run()
    assert not at.exception
    assert receiver.receipts["d1"] == 1
    assert "Replay succeeded (HTTP 202)" in at.success[0].value
    assert "Delivered: nothing to replay." in [c.value for c in at.caption]
    history = at.dataframe[0].value
    assert list(history["operator"]) == ["alice"] and list(history["status"]) == ["delivered"]


def test_failed_single_replay_shows_the_reason_as_text(ui_db, receiver):
    receiver.route("/down", Answer(503, body="<b>down</b>"))
    seed(ui_db, [delivery("d2", receiver.url("/down"))])
    at = AppTest.from_function(_single, args=("d2",), default_timeout=30)
    at.session_state["demo_name"] = "bob"
    at.session_state["demo_role"] = "operator"
    at.run()
    next(b for b in at.button if b.label == "↻ Replay now").click().run()
    assert "Replay failed (HTTP 503)" in at.error[0].value
    assert at.code[0].value == "HTTP 503"


def test_unknown_outcome_offers_a_deliberate_one_click_resend(ui_db, receiver):
    seed(ui_db, [delivery("d3", receiver.url("/x"))])
    with ui_db.begin() as conn:
        conn.execute(replay_claims.insert().values(delivery_id="d3", job_id="rj-dead",
                                                   state="unknown", claimed_at=T0))
    at = AppTest.from_function(_single, args=("d3",), default_timeout=30)
    at.session_state["demo_name"] = "vera"
    at.session_state["demo_role"] = "viewer"
    at.run()
    assert "Outcome unknown — check with the receiver" in at.warning[0].value
    assert not at.button  # a viewer reads it, and is offered nothing
    at.session_state["demo_name"] = "lead"
    at.session_state["demo_role"] = "operator"
    at.run()
    assert not [b for b in at.button if b.label == "↻ Replay now"]  # never a plain replay
    next(b for b in at.button if b.label == "↻ Resend anyway (same webhook-id)").click().run()
    assert not at.exception
    assert receiver.receipts["d3"] == 1 and receiver.requests[0].headers["webhook-id"] == "d3"
    assert J.claim_of(ui_db, "d3")["state"] == "succeeded"
    assert "Replay succeeded" in at.success[0].value
    (event,) = list_events(ui_db, AuditFilter(action_prefix="replay.unknown.resend"))[0]
    assert event["actor"] == "lead" and event["details"]["previous_job_id"] == "rj-dead"


def test_a_delivery_in_an_unfinished_job_is_not_offered(ui_db, receiver):
    seed(ui_db, [delivery("d4", receiver.url("/x"))])
    job_id, _ = J.create_job(ui_db, ["d4"], operator="a", source="manual", now=utcnow())
    at = AppTest.from_function(_single, args=("d4",), default_timeout=30)
    at.session_state["demo_name"] = "lead"
    at.session_state["demo_role"] = "operator"
    at.run()
    assert f"In replay job {job_id}" in at.caption[0].value.replace("\\", "")
    assert not at.button and not receiver.requests


def test_progress_of_a_pending_job_and_cancel(ui_db, receiver):
    seed(ui_db, [delivery(i, receiver.url("/x")) for i in range(4)])
    job_id, _ = J.create_job(ui_db, [f"d{i:04d}" for i in range(4)], operator="a",
                             source="manual", now=utcnow())
    at = AppTest.from_function(_progress, args=(job_id,), default_timeout=30)
    at.session_state["demo_name"] = "lead"
    at.session_state["demo_role"] = "operator"
    at.run()
    assert "pending — 0/4" in at.get("progress")[0].proto.text
    next(b for b in at.button if b.label == "Cancel job").click().run()
    assert J.get_job(ui_db, job_id)["status"] == "cancelled"
    assert "cancelled — 4/4" in at.get("progress")[0].proto.text
    assert {m.label: m.value for m in at.metric}["Cancelled"] == "4"
