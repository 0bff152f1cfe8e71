"""AppTest: the Insights page renders every section from real data, records one
``insights.view`` per session and day, keeps its period in the URL, and works the same
with Redis down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.testing.v1 import AppTest

from intel import audit
from intel.deliveries.write import upsert_deliveries
from intel.store.db import make_engine
from intel.store.schema import audit_log, delivery_attempts
from tests.insights.world import delivery
from tests.views.apptest import as_identity

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "insights.py")
NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)  # the page's frozen clock
X = "https://x.example/hook"
Y = "https://y.example/hook"


@pytest.fixture
def page_db(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    st.cache_data.clear()
    now = NOW
    at = [now - timedelta(minutes=5 + i) for i in range(40)]
    records = (
        [delivery(X, "acme", "failed", at[i], http_status=429,
                  response_headers={"Retry-After": "5"}) for i in range(12)]
        + [delivery(X, "acme", "delivered", at[12 + i]) for i in range(8)]
        + [delivery(Y, "beta", "failed", at[20 + i], http_status=404) for i in range(3)]
    )
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        upsert_deliveries(conn, records, now=now)
        audit.record(conn, actor="alice", action="replay.single", at=at[1])
        conn.execute(delivery_attempts.insert().values(
            delivery_id=records[0]["id"], attempt_no=2, kind="replay", status="delivered",
            finished_at=at[1], operator="alice"))
    yield engine
    engine.dispose()
    st.cache_data.clear()


def _run(at: AppTest | None = None, operator: str | None = "alice", **params) -> AppTest:
    if at is None:
        at = as_identity(AppTest.from_file(PAGE, default_timeout=60), operator, now=NOW)
        for key, value in params.items():
            at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _frames(at: AppTest) -> list:
    return [df.value for df in at.dataframe]


def test_every_section_renders_from_the_data(page_db):
    at = _run()
    assert [s.value for s in at.subheader] == [
        "System health", "Top failing endpoints", "Top tenants by failures",
        "Operator activity", "Recommendations", "Adoption",
    ]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Deliveries"] == "23"
    assert metrics["Failure ratio"] == "65.2 %"  # 15 of 23
    frames = _frames(at)
    endpoints = next(f for f in frames if "endpoint" in f.columns and "trend" in f.columns)
    assert list(endpoints["endpoint"]) == [X, Y]
    assert list(endpoints["failures"]) == [12, 3]
    assert endpoints["link"][0].startswith("/?endpoint=https%3A%2F%2Fx.example")
    tenants = next(f for f in frames if "top_category" in f.columns)
    assert list(tenants["top_category"]) == ["rate-limited", "permanent-4xx"]
    operators = next(f for f in frames if "operator" in f.columns)
    assert list(operators["operator"]) == ["alice"] and operators["replays"][0] == 1
    recs = next(f for f in frames if "evidence" in f.columns)
    assert recs["text"][0].startswith("Consider rate-limiting deliveries to endpoint " + X)
    assert recs["link"][0].startswith("/?")
    assert "memory" in at.caption[0].value
    assert at.query_params["period"] == "24h"


def test_insights_view_recorded_once_per_session_and_day(page_db):
    at = _run()
    _run(at)
    with page_db.connect() as conn:
        views = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.details)
            .where(audit_log.c.action == "insights.view")
        ).all()
    assert views == [("alice", {"period": "24h"})]


def test_nobody_signed_in_sees_nothing_and_records_nothing(page_db):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("Sign in" in w.value for w in at.warning)
    assert not at.dataframe and not at.metric and not at.subheader
    with page_db.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                         .where(audit_log.c.action == "insights.view")).scalar()
    assert n == 0


def test_period_comes_from_the_url(page_db):
    at = _run(period="30d")
    assert at.session_state["insights_period"] == "30d"
    assert "Last 30 days" in at.caption[0].value


def test_bad_period_in_the_url_falls_back(page_db):
    at = _run(period="1y")
    assert at.warning and "24h, 7d, 30d" in at.warning[0].value
    assert at.session_state["insights_period"] == "24h"


def _tables(at: AppTest) -> list:
    # The viewers-per-day table changes as each new session records its view.
    return [f for f in _frames(at) if "viewers" not in f.columns]


def test_page_works_the_same_with_redis_down(page_db, monkeypatch, tmp_path):
    expected = _tables(_run())
    monkeypatch.setenv("REDIS_URL", f"unix://{tmp_path}/no-redis-here.sock")
    at = _run()
    assert "memory" in at.caption[0].value
    got = _tables(at)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert a.equals(b)


@pytest.mark.redis
def test_page_fills_the_redis_cache(page_db, monkeypatch, redis_url):
    import redis

    monkeypatch.setenv("REDIS_URL", redis_url)
    at = _run()
    assert "(redis)" in at.caption[0].value
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter("intel:insights:*"))
    assert len(keys) == 6
    assert all(295 <= client.ttl(k) <= 300 for k in keys)
    client.close()


def test_accuracy_gauge_without_labels_says_so(page_db):
    at = _run()
    header = next(m.value for m in at.markdown if "Triage accuracy" in m.value)
    assert header == "**Triage accuracy, strict** — 0 labelled deliveries"
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert any("no labels" in str(c.proto) for c in charts)
    assert not any("Accepted accuracy" in c.value for c in at.caption)
