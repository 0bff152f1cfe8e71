"""AppTest: the Explore page restores a view from its URL, writes the view back into the
URL when the controls change, and shows chart, table and CSV download."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.deliveries.write import upsert_deliveries
from intel.store.db import make_engine
from tests.insights.world import delivery
from tests.views.apptest import run_view

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)  # the page's frozen clock
X = "https://x.example/hook"
Y = "https://y.example/hook"


@pytest.fixture
def page_db(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    st.cache_data.clear()
    now = NOW
    at = [now - timedelta(hours=2, minutes=i) for i in range(30)]
    records = (
        [delivery(X, "acme", "failed", at[i], http_status=503) for i in range(6)]
        + [delivery(X, "acme", "delivered", at[6 + i]) for i in range(4)]
        + [delivery(Y, "beta", "failed", at[10 + i], http_status=404) for i in range(2)]
        + [delivery(Y, "beta", "delivered", at[12 + i]) for i in range(8)]
        + [delivery(X, "=cmd|' /C calc'!A0", "failed", at[20], http_status=500)]
    )
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=now)
    engine.dispose()
    yield sqlite_url
    st.cache_data.clear()


def _run(**params) -> AppTest:
    return run_view("explore", timeout=60, now=NOW, **params)


def _table(at: AppTest):
    return at.dataframe[0].value


def test_view_restored_from_the_url(page_db):
    at = _run(by="tenant,status", measure="deliveries", window="7d", endpoint=Y)
    assert at.selectbox(key="explore_window").value == "7d"
    assert at.multiselect(key="explore_by").value == ["tenant", "status"]
    assert at.selectbox(key="explore_measure").value == "deliveries"
    assert at.text_input(key="explore_endpoint").value == Y
    table = _table(at)
    assert [tuple(r) for r in table[["tenant", "status", "deliveries"]].values] == [
        ("beta", "delivered", 8), ("beta", "failed", 2)
    ]
    # The URL keeps exactly this view (defaults are left out).
    assert dict(at.query_params) == {
        "window": "7d", "endpoint": Y, "by": "tenant,status", "measure": "deliveries"
    }
    assert at.get("vega_lite_chart")  # the Altair chart
    assert at.download_button  # CSV


def test_default_view(page_db):
    at = _run()
    table = _table(at)
    assert list(table["endpoint"]) == [X, Y]
    assert list(table["failures"]) == [7, 2]
    assert dict(at.query_params) == {}


def test_changing_a_control_updates_the_url(page_db):
    at = _run(by="endpoint")
    at.selectbox(key="explore_measure").set_value("failure_ratio").run()
    assert not at.exception
    assert at.query_params["measure"] == "failure_ratio"
    table = _table(at)
    assert list(table["failure_ratio"]) == [pytest.approx(7 / 11, abs=1e-4), 0.2]


def test_two_dimensions_with_hour_and_p95(page_db):
    at = _run(by="endpoint,hour", measure="p95_duration_ms")
    table = _table(at)
    assert set(table.columns) >= {"endpoint", "hour", "p95_duration_ms"}
    assert (table["p95_duration_ms"] == 100.0).all()


def test_invalid_view_in_the_url_falls_back_to_the_default(page_db):
    at = _run(by="colour")
    assert at.warning and "not valid" in at.warning[0].value
    assert "by: unknown dimension 'colour'" in at.code[0].value
    assert at.multiselect(key="explore_by").value == ["endpoint"]


def test_custom_window_needs_a_start(page_db):
    at = _run()
    at.selectbox(key="explore_window").set_value("custom").run()
    assert not at.exception
    assert "since: required with window=custom" in at.code[0].value


def test_csv_cells_cannot_become_formulas(page_db):
    from intel.explore import from_params, run_query, to_csv

    engine = make_engine(page_db)
    frame = run_query(engine, from_params({"by": "tenant"}), NOW)
    engine.dispose()
    csv = to_csv(frame)
    assert "'=cmd|' /C calc'!A0" in csv
    assert "\n=cmd" not in csv
