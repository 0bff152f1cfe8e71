"""AppTest: the audit trail page — newest first, filters in the URL, details as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.audit import record
from intel.store.db import make_engine
from intel.timeutil import to_rfc3339
from tests.views.apptest import run_view

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)  # the page's frozen clock
HOSTILE = "**bold** <img src=x onerror=alert(1)>"

EVENTS = [
    # (minutes ago, actor, action, target type, target id, summary, details)
    (300, "alice", "import.file", "file", "/data/a.jsonl", "Imported 10", {"written": 10}),
    (120, "system", "incident.open", "incident", "i1", "Endpoint spike", None),
    (55, "bob", "replay.single", "delivery", "d1", HOSTILE, {"outcome": "succeeded"}),
    (30, "alice", "replay.job.start", "job", "j1", "Replay 5", {"count": 5, "ids": ["d1"]}),
    (10, "alice", "label.create", "delivery", "d2", None, {"category": "permanent-4xx"}),
]


@pytest.fixture
def audit_db(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        for minutes, actor, action, ttype, tid, summary, details in EVENTS:
            record(conn, actor=actor, action=action, at=NOW - timedelta(minutes=minutes),
                   target_type=ttype, target_id=tid, summary=summary, details=details)
    engine.dispose()
    yield sqlite_url
    st.cache_data.clear()


def _run(**params) -> AppTest:
    return run_view("audit", timeout=30, now=NOW, **params)


def test_events_newest_first_with_details_as_json_text(audit_db):
    at = _run()
    table = at.dataframe[0].value
    assert list(table["Action"]) == [
        "label.create", "replay.job.start", "replay.single", "incident.open", "import.file",
    ]
    assert json.loads(table["Details"][1]) == {"count": 5, "ids": ["d1"]}
    assert "Showing 1–5 of 5 events" in [c.value for c in at.caption]
    assert at.query_params == {"window": "all"}


@pytest.mark.parametrize(
    ("params", "actions"),
    [
        ({"actor": "alice"}, ["label.create", "replay.job.start", "import.file"]),
        ({"action": "replay"}, ["replay.job.start", "replay.single"]),
        ({"action": "replay.job"}, ["replay.job.start"]),
        ({"target_type": "delivery", "target": "d1"}, ["replay.single"]),
        ({"window": "1h"}, ["label.create", "replay.job.start", "replay.single"]),
        ({"window": "custom", "since": to_rfc3339(NOW - timedelta(minutes=150)),
          "until": to_rfc3339(NOW - timedelta(minutes=45))}, ["replay.single", "incident.open"]),
    ],
    ids=["actor", "action-prefix", "action-deeper", "target", "window", "custom"],
)
def test_filters_come_from_the_url(audit_db, params, actions):
    at = _run(**params)
    assert list(at.dataframe[0].value["Action"]) == actions
    for key, value in params.items():
        assert at.query_params[key] == value


def test_widgets_write_the_url_and_selection_shows_details(audit_db):
    at = _run()
    at.selectbox(key="audit_actor").select("bob").run()
    assert at.query_params["actor"] == "bob"
    table = at.dataframe[0]
    assert list(table.value["Actor"]) == ["bob"]
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert [s.value for s in at.subheader] == ["Event details"]
    assert json.loads(at.code[0].value) == {"outcome": "succeeded"}
    assert HOSTILE in [t.value for t in at.text]
    assert not any(HOSTILE in m.value for m in at.markdown)


def test_pagination(audit_db, sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        for i in range(60):
            record(conn, actor="carol", action="replay.single", at=NOW - timedelta(seconds=i))
    engine.dispose()
    at = _run(actor="carol")
    assert "Showing 1–50 of 60 events" in [c.value for c in at.caption]
    at.button(key="audit_next").click().run()
    assert at.query_params["page"] == "2"
    assert "Showing 51–60 of 60 events" in [c.value for c in at.caption]


def test_bad_parameters_are_named(audit_db):
    at = _run(window="forever", page="x")
    assert any("window: expected one of" in t.value for t in at.text)
    assert at.query_params["window"] == "all"
