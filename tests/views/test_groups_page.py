"""AppTest: the Failure groups page renders groups with links to the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel.deliveries.write import upsert_deliveries
from intel.store.db import make_engine
from tests.views.apptest import run_view

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
A = "https://hooks.acme.example/in"
B = "https://api.beta.example/hooks"


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
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    records = [
        _failure(i, A, "acme", error=f"dial tcp 10.1.{i}.7:443: connect: connection refused")
        for i in range(30)
    ] + [
        _failure(100 + i, B, "beta", http_status=401,
                 response_body=f'{{"error":"invalid signature","ts":{1700000000 + i}}}')
        for i in range(5)
    ]
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=T0)
    engine.dispose()
    yield sqlite_url
    st.cache_data.clear()


def _run(**params) -> AppTest:
    return run_view("groups", timeout=30, **params)


def test_groups_page_folds_and_links(page_db):
    at = _run(window="custom", since="2026-11-02T00:00:00Z", until="2026-11-03T00:00:00Z")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Failures": "35", "Groups": "2", "Distinct raw forms": "35"}
    table = at.dataframe[0].value
    assert list(table["failures"]) == [30, 5]
    assert [c.split(" ", 1)[1] for c in table["category"]] == [
        "transient-endpoint-down", "permanent-4xx"]
    assert list(table["endpoint"]) == [A, B]
    first = {k: v[0] for k, v in parse_qs(urlsplit(table["history"][0]).query).items()}
    assert urlsplit(table["history"][0]).path == "/"
    assert first == {"endpoint": A, "category": "transient-endpoint-down", "status": "failed",
                     "window": "custom", "since": "2026-11-02T12:00:00Z",
                     "until": "2026-11-02T12:29:01Z"}


def test_tenant_filter_from_the_url(page_db):
    at = _run(window="custom", since="2026-11-02T00:00:00Z", until="2026-11-03T00:00:00Z",
              tenant="beta")
    table = at.dataframe[0].value
    assert list(table["endpoint"]) == [B]
    assert "tenant=beta" in table["history"][0]
    assert at.query_params["tenant"] in ("beta", ["beta"])  # the view stays in the URL


def test_empty_window_says_so(page_db):
    at = _run(window="1h")
    assert any("No failures" in i.value for i in at.info)


def test_fold_by_rule_from_the_url(page_db):
    at = _run(window="custom", since="2026-11-02T00:00:00Z", until="2026-11-03T00:00:00Z",
              fold="rule")
    assert at.selectbox(key="groups_fold").value == "rule"
    assert at.query_params["fold"] in ("rule", ["rule"])
    assert list(at.dataframe[0].value["failures"]) == [30, 5]
