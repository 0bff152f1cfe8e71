"""AppTest: the delivery history page — URL state, table with triage badges, detail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.deliveries.write import upsert_deliveries
from intel.store.db import make_engine
from intel.timeutil import to_rfc3339
from tests.views.apptest import run_view

A = "https://hooks.acme.example/in"
B = "https://api.beta.example/hooks"
HOSTILE = "**bold** <script>alert(1)</script> [link](javascript:x)"
NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)  # the pages' frozen clock


def _d(i, minutes_ago, *, tenant="acme", endpoint=A, status="failed", **fields):
    at = NOW - timedelta(minutes=minutes_ago)
    rec = {
        "id": f"h{i:03d}", "tenant": tenant, "endpoint": endpoint, "event_type": "invoice.paid",
        "status": status, "http_status": None, "error": None, "response_headers": None,
        "response_body": None, "attempts": 1, "created_at": at, "last_attempt_at": at,
        "duration_ms": 7.0, "payload": {"invoice": i}, "extra": None,
    }
    rec.update(fields)
    return rec


ROWS = [
    _d(1, 5, http_status=503, response_body="<html>503 Service Unavailable</html>"),
    _d(2, 10, http_status=401, response_body=HOSTILE,
       response_headers={"Content-Type": "text/html", "X-Request-Id": "r-1"}),
    _d(3, 15, http_status=429, response_headers={"Retry-After": "120"}, attempts=3),
    _d(4, 20, status="delivered", http_status=200),
    _d(5, 25, tenant="beta", endpoint=B, error="something odd", event_type="customer.created"),
    _d(6, 60 * 30, tenant="beta", endpoint=B, http_status=500),  # 30 h ago
]


@pytest.fixture
def page_db(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(conn, ROWS, now=NOW)
    engine.dispose()
    yield sqlite_url
    st.cache_data.clear()


def _run(role: str | None = None, **params) -> AppTest:
    return run_view("history", timeout=30, role=role, now=NOW, **params)


def _table_element(at):
    # The advisor panel above the table has dataframes of its own: find the history's.
    return next(d for d in at.dataframe if "ID" in d.value.columns)


def _table(at):
    return _table_element(at).value


def test_landing_shows_failed_deliveries_of_the_last_day_with_badges(page_db):
    at = _run()
    assert at.query_params == {"status": "failed", "window": "24h"}  # canonical URL
    table = _table(at)
    assert list(table["ID"]) == ["h001", "h002", "h003", "h005"]
    assert list(table["Triage"][:3]) == [
        "🟢 transient-endpoint-down", "🔴 permanent-4xx", "🟡 rate-limited",
    ]
    assert table["Triage"][3].endswith("unknown")
    assert all(table["Reason"].str.len() > 0) and all(table["Recommended action"].str.len() > 0)
    assert "Retry-After" in table["Reason"][2]
    captions = [c.value for c in at.caption]
    assert "Showing 1–4 of 4 · 4 failed" in captions
    assert at.text[0].value.startswith("Failed deliveries in the last 24 h")


def test_filters_are_restored_from_the_url(page_db):
    at = _run(tenant="beta", status="all", window="7d")
    assert at.selectbox(key="hist_tenant").value == "beta"
    assert at.button_group(key="hist_status").value == "all"
    assert at.button_group(key="hist_window").value == "7d"
    assert list(_table(at)["ID"]) == ["h005", "h006"]
    at = _run(window="custom", since=to_rfc3339(NOW - timedelta(minutes=18)),
              until=to_rfc3339(NOW - timedelta(minutes=8)))
    assert list(_table(at)["ID"]) == ["h002", "h003"]
    assert at.query_params["window"] == "custom"


def test_category_filter_from_the_url(page_db):
    at = _run(category="rate-limited", window="24h")
    assert list(_table(at)["ID"]) == ["h003"]
    assert at.selectbox(key="hist_category").value == "rate-limited"
    assert any("🟡 rate-limited 1" in c.value for c in at.caption)


def test_a_widget_change_goes_to_the_url(page_db):
    at = _run()
    at.selectbox(key="hist_tenant").select("beta").run()
    assert not at.exception
    assert at.query_params["tenant"] == "beta"
    assert list(_table(at)["ID"]) == ["h005"]
    at.button_group(key="hist_status").set_value("all").run()
    assert at.query_params["status"] == "all"
    at.button_group(key="hist_window").set_value("7d").run()
    assert list(_table(at)["ID"]) == ["h005", "h006"]


def test_detail_opens_from_the_id_in_the_url(page_db):
    at = _run(id="h002")
    assert [s.value for s in at.subheader] == ["Delivery detail"]
    codes = [c.value for c in at.code]
    assert "h002" in codes
    assert HOSTILE in codes  # the body, as text
    assert any('"X-Request-Id": "r-1"' in c for c in codes)  # headers, as JSON text
    assert json.loads(at.json[0].value) == {"invoice": 2}  # the payload
    assert any(":red-badge[permanent-4xx · investigate" in m.value for m in at.markdown)
    assert not any(HOSTILE in m.value for m in at.markdown)  # never markdown
    fields = at.dataframe[-1].value
    assert {"id", "tenant", "endpoint", "payload", "response_headers"} <= set(fields["Field"])
    attempts = at.dataframe[-2].value
    assert list(attempts["Kind"]) == ["delivery"]


def test_detail_opens_from_a_row_selection_and_closes(page_db):
    at = _run()
    table = _table_element(at)
    at.session_state[table.key] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.query_params["id"] == "h003"  # position 2 of the rendered table
    assert "h003" in [c.value for c in at.code]
    at.button(key="hist_close").click().run()
    assert "id" not in at.query_params
    at.run()  # the old selection does not reopen it
    assert "id" not in at.query_params and not at.subheader


def test_unknown_id_and_bad_parameters_are_said(page_db):
    at = _run(id="missing", status="weird")
    assert any("No delivery with this id" in w.value for w in at.warning)
    assert any("status: expected one of" in t.value for t in at.text)


def test_pagination_with_totals(page_db, sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(
            conn, [_d(100 + i, 30 + i, http_status=502) for i in range(126)], now=NOW
        )
    engine.dispose()
    at = _run()
    assert "Showing 1–100 of 130 · 130 failed" in [c.value for c in at.caption]
    at.button(key="hist_next").click().run()
    assert at.query_params["page"] == "2"
    assert "Showing 101–130 of 130 · 130 failed" in [c.value for c in at.caption]
    assert len(_table(at)) == 30
