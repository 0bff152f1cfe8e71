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
from tests.views.apptest import as_identity, write_config

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
    config = write_config(
        tmp_path,
        f"triage:\n  label_queue_size: {QUEUE_SIZE}\n"
        f"  model_path: {tmp_path / 'model.joblib'}\n",
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


def _page(name: str, operator: str | None = "alice", role: str | None = "operator") -> AppTest:
    at = as_identity(AppTest.from_file(str(PAGES / name), default_timeout=60), operator, role)
    at.run()
    assert not at.exception, at.exception
    return at


def _accuracy_metrics() -> dict[str, str]:
    at = _page("accuracy.py")
    return {m.label: m.value for m in at.metric}


def test_labelling_stores_a_label_and_the_accuracy_report_changes(page_db):
    before = _accuracy_metrics()
    assert before["Labelled deliveries"] == "2" and before["Strict accuracy"] == "100.0%"

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
    assert after["Strict accuracy"] == "66.7%"  # 2 of 3: the new label disagrees


def test_skip_moves_on_without_storing(page_db):
    at = _page("labels.py")
    first = at.session_state["labels_queue"][0]["id"]
    at.button(key="labels_skip").click().run()
    assert at.session_state["labels_pos"] == 1
    with page_db.connect() as conn:
        assert get_label(conn, first) is None


def test_nobody_signed_in_sees_nothing(page_db):
    at = _page("labels.py", operator=None)
    assert any("Sign in" in w.value for w in at.warning)
    assert not at.button and not at.dataframe and not at.tabs


def test_a_viewer_reads_and_exports_but_cannot_label(page_db):
    at = _page("labels.py", operator="lead", role="viewer")
    labels = [b.label for b in at.button]
    assert not [b for b in at.button if (b.key or "").startswith("labels_pick_")]
    assert "Skip" not in labels and "Import" not in labels and "New sample" not in labels
    assert not at.get("file_uploader")
    assert any("may read and export labels" in i.value for i in at.info)
    # the viewer's own earlier labels are listed, without the edit form
    assert set(at.dataframe[0].value["delivery"]) == set(PRE_LABELLED)
    at.session_state["labels_mine"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    assert "Save" not in [b.label for b in at.button]
    assert at.get("download_button")  # export is reading


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


def test_the_export_cannot_run_formulas_and_reads_back(page_db):
    from intel.labels.files import labels_to_csv, parse_labels_csv
    from intel.labels.store import iter_labels

    with page_db.begin() as conn:
        upsert_deliveries(conn, [_record(50, {"http_status": 500}) | {"id": "=HYPERLINK(1)"}],
                          now=T0)
        create_label(conn, delivery_id="=HYPERLINK(1)", category="unknown", labeler="lead",
                     now=T0, note="@SUM(A1)")
    with page_db.connect() as conn:
        text = labels_to_csv(iter_labels(conn))
    assert "'=HYPERLINK(1),unknown,'@SUM(A1),lead," in text
    assert not any(line.startswith(("=", "+", "-", "@")) for line in text.splitlines())
    back = {r.delivery_id: r for r in parse_labels_csv(text, source="export.csv")}
    assert back["=HYPERLINK(1)"].note == "@SUM(A1)"  # the import reads its own export


def _upload(at: AppTest, name: str, content: str) -> AppTest:
    at.get("file_uploader")[0].set_value((name, content.encode(), "text/plain"))
    at.run()
    at.button(key="labels_import").click().run()
    assert not at.exception, at.exception
    return at


def test_an_upload_labels_under_the_signed_in_name(page_db):
    at = _page("labels.py", operator="alice", role="operator")
    at = _upload(at, "labels.csv", "delivery_id,category,note,labeler,labeled_at\n"
                                   "p005,unknown,from a file,mallory,\n")
    assert any("1 label(s) read: 1 new" in s.value for s in at.success)
    with page_db.connect() as conn:
        assert get_label(conn, "p005").labeler == "alice"  # not the file's "mallory"
    events, _ = list_events(page_db, AuditFilter(action_prefix="label.import"))
    assert [e["actor"] for e in events] == ["alice"]


def test_an_upload_never_creates_deliveries(page_db):
    at = _page("labels.py", operator="alice", role="operator")
    line = ('{"id": "new-1", "tenant": "acme", "endpoint": "http://127.0.0.1:9/x", '
            '"status": "failed", "http_status": 503, "created_at": "2026-11-02T12:00:00Z", '
            '"last_attempt_at": "2026-11-02T12:00:00Z", "attempts": 1, '
            '"label": "transient-endpoint-down"}\n')
    at = _upload(at, "labels.jsonl", line)
    assert any("Nothing imported" in e.value for e in at.error)
    assert any("'new-1' is not in the store" in c.value for c in at.code)
    with page_db.connect() as conn:
        assert load_delivery(conn, "new-1") is None
