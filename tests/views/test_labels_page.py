"""AppTest: the Labels page stores a label, and the accuracy report changes accordingly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.audit import AuditFilter, list_events
from intel.deliveries.write import upsert_deliveries
from intel.labels.queue import build_queue, load_delivery, predict
from intel.labels.store import create_label, get_label, list_labels
from intel.settings import get_settings
from intel.store.db import make_engine

PAGES = Path(__file__).resolve().parents[2] / "views"
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
QUEUE_SIZE = 6

FAILURES = [
    {"http_status": 503, "response_body": "Service Unavailable"},
    {"error": "dial tcp 10.0.0.1:443: connect: connection refused"},
    {"http_status": 404, "response_body": "Not Found"},
    {"http_status": 401, "response_body": '{"error":"invalid signature"}'},
    {"http_status": 429, "response_headers": {"Retry-After": "30"}},
    {"http_status": 500, "response_body": "<html><body>Internal Server Error</body></html>"},
    {"error": "something odd happened"},
    {"http_status": 418, "response_body": "I'm a teapot"},
    {"http_status": 502, "response_body": "Bad Gateway"},
    {"error": "read tcp 10.0.0.2:5000->10.0.0.3:443: read: connection reset by peer"},
]
PRE_LABELLED = {"p000": "transient-endpoint-down", "p002": "permanent-4xx"}  # rules agree


def _record(i: int, fields: dict) -> dict:
    at = T0 + timedelta(minutes=i)
    rec = {
        "id": f"p{i:03d}", "tenant": "acme", "endpoint": "https://hooks.acme.example/in",
        "event_type": "invoice.paid", "status": "failed", "http_status": None, "error": None,
        "response_headers": None, "response_body": None, "attempts": 1, "created_at": at,
        "last_attempt_at": at, "duration_ms": 3.0, "payload": {"n": i}, "extra": None,
    }
    rec.update(fields)
    return rec


@pytest.fixture
def page_db(sqlite_url, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"triage:\n  label_queue_size: {QUEUE_SIZE}\n"
        f"  model_path: {tmp_path / 'model.joblib'}\n"
    )
    monkeypatch.setenv("INTEL_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    st.cache_data.clear()
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(conn, [_record(i, f) for i, f in enumerate(FAILURES)], now=T0)
        for delivery_id, category in PRE_LABELLED.items():
            create_label(conn, delivery_id=delivery_id, category=category, labeler="lead",
                         now=T0)
    yield engine
    engine.dispose()
    get_settings.cache_clear()
    st.cache_data.clear()


def _page(name: str, operator: str | None = "alice") -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    if operator:
        at.session_state["operator_name"] = operator
    at.run()
    assert not at.exception, at.exception
    return at


def _accuracy_metrics() -> dict[str, str]:
    at = _page("accuracy.py")
    return {m.label: m.value for m in at.metric}


def test_labelling_stores_a_label_and_the_accuracy_report_changes(page_db):
    before = _accuracy_metrics()
    assert before["Labelled deliveries"] == "2" and before["Accuracy"] == "100.0%"

    at = _page("labels.py")
    queue = at.session_state["labels_queue"]
    # The queue is the predictable sample for seed 0, and never holds labelled deliveries.
    with page_db.connect() as conn:
        expected = build_queue(conn, size=QUEUE_SIZE, seed=0, pool_size=5000)
    assert [q["id"] for q in queue] == [item.delivery_id for item in expected]
    assert not set(PRE_LABELLED) & {q["id"] for q in queue}

    current = queue[at.session_state["labels_pos"]]["id"]
    with page_db.connect() as conn:
        predicted = predict(load_delivery(conn, current)).category
    # the delivery and the rules' prediction are on the page, as text
    assert any(current in t.value for t in at.text)
    assert any(t.value.startswith(f"{predicted} · score") for t in at.text)
    # disagree with the rules, with a note
    wrong = "unknown" if predicted != "unknown" else "permanent-4xx"
    at.text_input(key=f"labels_note_{current}").input("checked with the owner")
    at.button(key=f"labels_pick_{wrong}").click().run()
    assert not at.exception, at.exception
    assert any(f"Labelled {current} as {wrong}" in s.value for s in at.success)

    with page_db.connect() as conn:
        label = get_label(conn, current)
    assert (label.category, label.labeler, label.note) == (wrong, "alice",
                                                           "checked with the owner")
    events, _ = list_events(page_db, AuditFilter(action_prefix="label.create", actor="alice"))
    assert [e["target_id"] for e in events] == [current]
    # the next delivery of the queue is shown
    assert at.session_state["labels_pos"] == 1

    after = _accuracy_metrics()
    assert after["Labelled deliveries"] == "3"
    assert after["Accuracy"] == "66.7%"  # 2 of 3: the new label disagrees with the rules


def test_skip_moves_on_without_storing(page_db):
    at = _page("labels.py")
    first = at.session_state["labels_queue"][0]["id"]
    at.button(key="labels_skip").click().run()
    assert at.session_state["labels_pos"] == 1
    with page_db.connect() as conn:
        assert get_label(conn, first) is None


def test_without_an_operator_nothing_can_be_labelled(page_db):
    at = _page("labels.py", operator=None)
    assert at.button(key="labels_pick_unknown").disabled
    assert any("operator name" in w.value for w in at.warning)


def test_my_recent_labels_can_be_edited_and_deleted(page_db):
    at = _page("labels.py", operator="lead")
    table = at.dataframe[0].value
    assert set(table["delivery"]) == set(PRE_LABELLED)
    row = list(table["delivery"]).index("p000")
    at.session_state["labels_mine"] = {"selection": {"rows": [row], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    at.selectbox[0].set_value("unknown")
    at.text_area[0].input("not sure after all")
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert not at.exception, at.exception
    with page_db.connect() as conn:
        label = get_label(conn, "p000")
        assert (label.category, label.note) == ("unknown", "not sure after all")
    events, _ = list_events(page_db, AuditFilter(action_prefix="label.update"))
    assert len(events) == 1 and events[0]["actor"] == "lead"

    at.session_state["labels_mine"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    target = at.dataframe[0].value["delivery"][0]
    at.button[[b.label for b in at.button].index("Delete label")].click().run()
    with page_db.connect() as conn:
        assert get_label(conn, target) is None
        assert len(list_labels(conn, labeler="lead")) == 1


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("d-1", "d\\-1"),
        ("[x](javascript:alert(1))", "\\[x\\]\\(javascript\\:alert\\(1\\)\\)"),
        (":red[boo]", "\\:red\\[boo\\]"),
        ("<b>hi</b>", "\\<b\\>hi\\<\\/b\\>"),
        ("plain words", "plain words"),
    ],
)
def test_ids_and_names_are_escaped_in_markdown_elements(text, shown):
    from ui.labels import md_escape

    assert md_escape(text) == shown
