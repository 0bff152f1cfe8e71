"""AppTest: the Explore page restores a view from its URL, writes the view back into the
URL when the controls change, and shows chart, table and CSV download; its group-by
picker allows two without "Select all", a failures measure shows no "not-failed", and
its chart labels every category (``intel.explore.chart``, tabled below)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.deliveries.write import upsert_deliveries
from intel.explore import ExploreQuery
from intel.explore.chart import BAND_PX, MAX_HEIGHT_PX, explore_chart
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


# --- issue 11: the group-by picker, the Failures measure, every category labelled -----------
def _spec(at: AppTest) -> dict:
    import json

    [chart] = at.get("vega_lite_chart")
    return json.loads(chart.proto.spec)


def test_the_picker_allows_two_and_offers_no_select_all(page_db):
    at = _run()
    picker = at.multiselect(key="explore_by")
    assert picker.proto.max_selections == 2
    assert picker.proto.HasField("select_all") and picker.proto.select_all == 0  # never shown


@pytest.mark.parametrize(("by", "measure", "expected"), [
    # X: 6 503s + a 500 (acme and the formula tenant), Y: 2 404s; 12 delivered
    ("category", "failures", [("transient-endpoint-down", 7), ("permanent-4xx", 2)]),
    ("category", "failure_ratio", [("transient-endpoint-down", round(7 / 21, 4)),
                                   ("permanent-4xx", round(2 / 21, 4))]),
    ("category", "deliveries", [("not-failed", 12), ("transient-endpoint-down", 7),
                                ("permanent-4xx", 2)]),
])
def test_a_failures_measure_shows_no_not_failed(page_db, by, measure, expected):
    at = _run(by=by, measure=measure)
    table = _table(at)
    assert [tuple(r) for r in table[["category", measure]].values] == expected
    spec = _spec(at)
    assert spec["encoding"]["y"]["sort"] == [c for c, _ in expected]


def test_failure_ratio_by_category_and_tenant_is_the_category_s_share(page_db):
    at = _run(by="tenant,category", measure="failure_ratio")
    table = _table(at)
    got = {(t, c): r for t, c, r in table[["tenant", "category", "failure_ratio"]].values}
    # acme: 6 of its 10 finished deliveries failed as transient; beta: 2 of 10 as permanent
    assert got[("acme", "transient-endpoint-down")] == pytest.approx(0.6)
    assert got[("beta", "permanent-4xx")] == pytest.approx(0.2)
    assert "not-failed" not in set(table["category"])


def test_every_tenant_on_the_axis_is_labelled(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    tenants = [f"tenant-{i:02d}" for i in range(25)]
    records = [delivery(f"https://{t}.example/hook", t, "failed",
                        NOW - timedelta(hours=1, minutes=j), http_status=503)
               for i, t in enumerate(tenants) for j in range(i + 1)]
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=NOW)
    engine.dispose()
    spec = _spec(_run(by="tenant"))
    y = spec["encoding"]["y"]
    assert sorted(y["sort"]) == tenants  # 25 tenants, 25 labels
    assert y["axis"]["labelOverlap"] is False
    assert spec["height"] == {"step": BAND_PX}
    heat = _spec(_run(by="tenant,category"))
    assert sorted(heat["encoding"]["y"]["sort"]) == tenants
    assert heat["encoding"]["x"]["sort"] == ["transient-endpoint-down"]
    assert heat["encoding"]["x"]["axis"]["labelOverlap"] is False


# --- the chart (pure): axes, labels, the scrolling frame ------------------------------------
def _frame(by: tuple[str, ...], rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*by, "failures"])


def _names(n: int, prefix: str = "t") -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


CHARTS = [
    # (by, rows, expected: axis -> labels, frame scrolls)
    ("bars", ("tenant",), [(t, 10 - i) for i, t in enumerate(_names(5))],
     {"y": _names(5)}, False),
    ("bars, many rows scroll in a frame", ("endpoint",), [(e, 1) for e in _names(60, "e")],
     {"y": _names(60, "e")}, True),
    ("hours in order", ("hour",), [(h, 1) for h in (23, 0, 5)],
     {"x": ["0", "5", "23"]}, False),
    ("a missing value is named", ("http_status",), [(503, 4), (None, 2)],
     {"y": ["503", "(none)"]}, False),
    ("heatmap: fewer values across", ("tenant", "category"),
     [(t, c, 1) for t in _names(25) for c in ("p", "r")],
     {"x": ["p", "r"], "y": _names(25)}, False),
    ("heatmap: the hour always across", ("hour", "tenant"),
     [(h, t, 1) for h in range(24) for t in _names(3)],
     {"x": [str(h) for h in range(24)], "y": _names(3)}, False),
    ("too many columns: one labelled row per pair", ("tenant", "endpoint"),
     [(t, e, 1) for t, e in zip(_names(40), _names(40, "e"), strict=True)],
     {"y": [f"{t} · {e}" for t, e in zip(_names(40), _names(40, "e"), strict=True)]}, True),
]


@pytest.mark.parametrize(("by", "rows", "axes", "scrolls"), [c[1:] for c in CHARTS],
                         ids=[c[0] for c in CHARTS])
def test_chart_labels_every_category(by, rows, axes, scrolls):
    chart = explore_chart(_frame(by, rows), ExploreQuery(by=by))
    spec = chart.to_dict()
    assert chart.categories == axes
    for axis, labels in axes.items():
        encoding = spec["encoding"][axis]
        assert encoding["sort"] == labels
        assert encoding["axis"]["labelOverlap"] is False
    assert (chart.frame_height is not None) == scrolls
    if scrolls:
        assert chart.frame_height == MAX_HEIGHT_PX < chart.height
