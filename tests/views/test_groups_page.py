"""AppTest: the Triage page (views/groups.py) shows the window's failures by category and
by problem, with links to the history and the labelling queue one click away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.deliveries.write import upsert_deliveries
from intel.store.db import make_engine
from tests.views.apptest import APP, as_identity, run_view

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
A = "https://hooks.acme.example/in"
A2 = "https://hooks.acme.example/orders"
B = "https://api.beta.example/hooks"
DAY = {"window": "custom", "since": "2026-11-02T00:00:00Z", "until": "2026-11-03T00:00:00Z"}


def _failure(i, endpoint, tenant, **fields):
    at = T0 + timedelta(minutes=i)
    rec = {
        "id": f"g{i:03d}", "tenant": tenant, "endpoint": endpoint, "event_type": "x",
        "status": "failed", "http_status": None, "error": None, "response_headers": None,
        "response_body": None, "attempts": 1, "created_at": at, "last_attempt_at": at,
        "duration_ms": 1.0, "payload": None, "extra": None,
    }
    rec.update(fields)
    return rec


@pytest.fixture
def page_db(sqlite_url, monkeypatch):
    """acme: 30 refusals on A and 4 on A2; beta: 5 signature rejections and 2 timeouts
    on B."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    records = [
        _failure(i, A, "acme", error=f"dial tcp 10.1.{i}.7:443: connect: connection refused")
        for i in range(30)
    ] + [
        _failure(40 + i, A2, "acme", error=f"connect ECONNREFUSED 10.3.0.{i}:443")
        for i in range(4)
    ] + [
        _failure(100 + i, B, "beta", http_status=401,
                 response_body=f'{{"error":"invalid signature","ts":{1700000000 + i}}}')
        for i in range(5)
    ] + [
        _failure(200 + i, B, "beta", error="context deadline exceeded") for i in range(2)
    ]
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=T0)
    engine.dispose()
    yield sqlite_url
    st.cache_data.clear()


def _run(**params) -> AppTest:
    return run_view("groups", timeout=30, **params)


def _query(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def _tables(at: AppTest):
    """(by category, by problem)."""
    return at.dataframe[0].value, at.dataframe[1].value


def test_triage_shows_categories_and_problems_with_links(page_db):
    at = _run(**DAY)
    assert at.title[0].value.endswith("Triage")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Failures": "41", "Problems": "3", "In the 20 biggest": "100.0%",
                       "Raw forms": "4"}
    categories, problems = _tables(at)
    assert [c.split(" ", 1)[1] for c in categories["category"]] == [
        "transient-endpoint-down", "permanent-4xx"]
    assert list(categories["failures"]) == [36, 5]
    assert list(categories["problems"]) == [2, 1]
    assert _query(categories["history"][1]) == {
        "category": "permanent-4xx", "status": "failed", "window": "custom",
        "since": "2026-11-02T00:00:00Z", "until": "2026-11-03T00:00:00Z"}
    # A's 30 refusals; beta's 5 rejected signatures; the 4 + 2 scattered ones: sporadic
    assert list(problems["failures"]) == [30, 6, 5]
    assert list(problems["where"]) == [
        A, "sporadic · 2 endpoints of 2 tenant(s)", B]
    assert list(problems["tenants"]) == ["acme", "acme, beta", "beta"]
    assert problems["problem"][0].startswith("Endpoint down or failing")
    assert problems["problem"][2] == "Signature or credentials rejected — HTTP 401"
    assert urlsplit(problems["history"][0]).path == "/"
    assert _query(problems["history"][0]) == {
        "endpoint": A, "category": "transient-endpoint-down", "status": "failed",
        "window": "custom", "since": "2026-11-02T12:00:00Z", "until": "2026-11-02T12:29:01Z"}
    assert "sporadic: under 5 failures" in at.caption[1].value


def test_the_labelling_queue_is_one_click_away(page_db):
    # the page run on its own: a plain link to /labels
    at = _run(**DAY)
    [link] = at.get("link_button")
    assert link.proto.url == "/labels" and "labelling queue" in link.proto.label
    viewer = run_view("groups", role="viewer", **DAY)
    assert "labelling queue" not in viewer.get("link_button")[0].proto.label


def test_in_the_app_the_labels_page_is_a_page_link(page_db):
    at = as_identity(AppTest.from_file(APP, default_timeout=60), "alice", "operator",
                     now=T0 + timedelta(hours=2))
    at.run()
    at.switch_page("views/groups.py")
    at.run()
    assert not at.exception, at.exception
    [link] = at.get("page_link")
    assert link.proto.page == "labels" and "labelling queue" in link.proto.label


def test_tenant_filter_from_the_url(page_db):
    at = _run(tenant="beta", **DAY)
    categories, problems = _tables(at)
    assert list(problems["where"]) == [B, B]
    assert list(problems["failures"]) == [5, 2]
    assert all(_query(link)["tenant"] == "beta" for link in problems["history"])
    assert all(_query(link)["tenant"] == "beta" for link in categories["history"])
    assert at.query_params["tenant"] in ("beta", ["beta"])  # the view stays in the URL


def test_per_tenant_and_no_sporadic_from_the_url(page_db):
    at = _run(per="tenant", sporadic="off", **DAY)
    assert at.selectbox(key="groups_per").value == "tenant"
    assert at.toggle(key="groups_sporadic").value is False
    _, problems = _tables(at)
    assert list(problems["failures"]) == [34, 5, 2]
    assert problems["where"][0] == "tenant acme · 2 endpoints"
    assert at.query_params["per"] in ("tenant", ["tenant"])
    assert at.query_params["sporadic"] in ("off", ["off"])
    assert not any("sporadic: under" in c.value for c in at.caption)


def test_turning_sporadic_off_puts_it_in_the_url(page_db):
    at = _run(**DAY)
    at.toggle(key="groups_sporadic").set_value(False).run()
    assert not at.exception
    assert at.query_params["sporadic"] in ("off", ["off"])
    _, problems = _tables(at)
    assert list(problems["failures"]) == [30, 5, 4, 2]


def test_a_selected_problem_lists_where_and_its_raw_forms(page_db):
    at = _run(**DAY)
    at.session_state["groups_table"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    assert at.subheader[-1].value == (
        "6 failures · Endpoint down or failing")
    tables = [df.value for df in at.dataframe]
    where = next(t for t in tables if list(t.columns) == ["failures", "endpoint", "tenant"])
    assert list(where["endpoint"]) == [A2, B] and list(where["failures"]) == [4, 2]
    forms = next(t for t in tables if "signature" in t.columns)
    assert sorted(forms["failures"]) == [2, 4]
    assert any(b.proto.label.startswith("Open these failures") for b in at.get("link_button"))


def test_empty_window_says_so(page_db):
    at = _run(window="1h")
    assert any("No failures" in i.value for i in at.info)
