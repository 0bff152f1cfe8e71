"""Explore: the view <-> URL round trip, and every kind of query against the hand-made
world (tests/insights/world.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from intel.explore import ExploreError, ExploreQuery, explore_result, from_params, run_query
from tests.insights.world import NOW, A, B, C, D, build_world

T = "transient-endpoint-down"
P = "permanent-4xx"
R = "rate-limited"
NF = "not-failed"


@pytest.fixture
def world(engine):
    build_world(engine)
    return engine


def rows(frame, columns):
    out = []
    for rec in frame[columns].astype(object).where(frame[columns].notna(), None).to_dict(
        "records"
    ):
        out.append(tuple(rec[c] for c in columns))
    return out


QUERIES = [
    # 24 h: A 6 failed of 11, B 3 of 4, C 1 of 1, D 0 of 5.
    ("failures by endpoint", {}, ["endpoint", "failures"],
     [(A, 6), (B, 3), (C, 1), (D, 0)]),
    ("failure ratio by endpoint", {"measure": "failure_ratio"}, ["endpoint", "failure_ratio"],
     [(C, 1.0), (B, 0.75), (A, 0.6), (D, 0.0)]),
    ("deliveries by tenant and status", {"by": "tenant,status", "measure": "deliveries"},
     ["tenant", "status", "deliveries"],
     [("t1", "failed", 6), ("t3", "delivered", 5), ("t1", "delivered", 4),
      ("t2", "failed", 4), ("t1", "pending", 1), ("t2", "delivered", 1)]),
    # 404/429/503 all failed; no status: C refused (failed) + A pending; 200: delivered.
    ("failure ratio by HTTP status", {"by": "http_status", "measure": "failure_ratio"},
     ["http_status", "failure_ratio"],
     [(404, 1.0), (429, 1.0), (503, 1.0), (None, 1.0), (200, 0.0)]),
    # t3's five deliveries at 10:30, 09:30, ... 06:30.
    ("deliveries by hour for a tenant", {"by": "hour", "measure": "deliveries",
                                         "tenant": "t3"},
     ["hour", "deliveries"], [(6, 1), (7, 1), (8, 1), (9, 1), (10, 1)]),
    ("delivered only, by endpoint", {"status": "delivered", "measure": "deliveries"},
     ["endpoint", "deliveries"], [(D, 5), (A, 4), (B, 1)]),
    # Failed only: read from the partial index of failures.
    ("failed only, by HTTP status and tenant", {"status": "failed", "by": "http_status,tenant",
                                                "measure": "deliveries"},
     ["http_status", "tenant", "deliveries"],
     [(503, "t1", 4), (404, "t2", 3), (429, "t1", 2), (None, "t2", 1)]),
    ("event type filter", {"event_type": "order.created", "measure": "deliveries"},
     ["endpoint", "deliveries"], [(A, 2)]),
    # The day before: A 2, B 3, C 5 failures.
    ("custom window", {"window": "custom", "since": "2026-11-03T16:30:00Z",
                       "until": "2026-11-04T16:30:00Z"},
     ["endpoint", "failures"], [(C, 5), (B, 3), (A, 2)]),
    # 503 x4 + refused (transient) 5, 404 x3, 429 x2; 11 delivered/pending are not failures.
    ("failures by triage category", {"by": "category"}, ["category", "failures"],
     [(T, 5), (P, 3), (R, 2), (NF, 0)]),
    ("deliveries by triage category", {"by": "category", "measure": "deliveries"},
     ["category", "deliveries"], [(NF, 11), (T, 5), (P, 3), (R, 2)]),
    ("failures by triage category and tenant", {"by": "category,tenant"},
     ["category", "tenant", "failures"],
     [(T, "t1", 4), (P, "t2", 3), (R, "t1", 2), (T, "t2", 1), (NF, "t1", 0), (NF, "t2", 0),
      (NF, "t3", 0)]),
    # A: [100 x3 (429s, pending), 200, 210, 220, 230, 1000, 1010, 1020, 1030]: position
    # 0.95 * 10 = 9.5 -> 1020 + 0.5 * 10. B: 4 x 100. C: no duration. D: 5 x 50.
    ("p95 duration by endpoint", {"measure": "p95_duration_ms"},
     ["endpoint", "p95_duration_ms", "timed_deliveries"],
     [(A, 1025.0, 11), (B, 100.0, 4), (D, 50.0, 5)]),
    # transient: 1000..1030 -> 0.95 * 3 = 2.85 -> 1020 + 0.85 * 10; not failed: [50 x5,
    # 100 x2, 200, 210, 220, 230] -> 9.5 -> 225.
    ("p95 duration by triage category", {"by": "category", "measure": "p95_duration_ms"},
     ["category", "p95_duration_ms", "timed_deliveries"],
     [(T, 1028.5, 4), (NF, 225.0, 11), (P, 100.0, 3), (R, 100.0, 2)]),
    ("p95 duration by category and tenant",
     {"by": "category,tenant", "measure": "p95_duration_ms", "tenant": "t2"},
     ["category", "tenant", "p95_duration_ms"],
     [(NF, "t2", 100.0), (P, "t2", 100.0)]),
]


@pytest.mark.parametrize(("name", "params", "columns", "expected"), QUERIES,
                         ids=[q[0] for q in QUERIES])
def test_explore_queries(world, name, params, columns, expected):
    frame = run_query(world, from_params(params), NOW)
    assert rows(frame, columns) == expected


def test_rows_link_to_the_history_when_every_dimension_can(world):
    frame = run_query(world, from_params({"by": "tenant,status"}), NOW)
    assert frame.loc[0, "link"] == (
        "/?tenant=t1&status=failed&since=2026-11-04T16%3A30%3A00Z"
        "&until=2026-11-05T16%3A30%3A00Z&window=custom"
    )
    assert "link" not in run_query(world, from_params({"by": "hour"}), NOW).columns


def test_limit_keeps_the_largest(world):
    frame = run_query(world, from_params({"limit": "2"}), NOW)
    assert list(frame["endpoint"]) == [A, B]


def test_result_is_json_ready(world):
    body = explore_result(world, from_params({"by": "http_status"}), NOW)
    assert body["columns"][:2] == ["http_status", "deliveries"]
    assert body["rows"][0][:4] == [503, 4, 4, 1.0]  # plain ints and floats
    assert body["rows"][3][:4] == [None, 2, 1, 1.0]  # no status: C refused + A pending
    assert json.loads(json.dumps(body)) == body
    assert body["since"] == "2026-11-04T16:30:00Z" and body["until"] == "2026-11-05T16:30:00Z"


# --- the view in the URL -------------------------------------------------------------------

ROUND_TRIPS = [
    ({}, ExploreQuery()),
    ({"by": "tenant,hour", "measure": "p95_duration_ms", "window": "7d"},
     ExploreQuery(by=("tenant", "hour"), measure="p95_duration_ms", window="7d")),
    ({"since": "2026-11-01T00:00:00Z", "tenant": "acme", "status": "failed", "limit": "20"},
     ExploreQuery(window="custom", since=NOW.replace(day=1, hour=0, minute=0), tenant="acme",
                  status="failed", limit=20)),
    ({"endpoint": "https://x.example/a,b?c=d", "by": "category"},
     ExploreQuery(endpoint="https://x.example/a,b?c=d", by=("category",))),
]


@pytest.mark.parametrize(("params", "query"), ROUND_TRIPS)
def test_view_round_trips_through_the_url(params, query):
    assert from_params(params) == query
    assert from_params(query.to_params()) == query


def test_defaults_are_left_out_of_the_url():
    assert ExploreQuery().to_params() == {}
    assert ExploreQuery(measure="deliveries").to_params() == {"measure": "deliveries"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window": "2w"}, "window: unknown '2w'"),
        ({"by": "color"}, "by: unknown dimension 'color'"),
        ({"by": "tenant,endpoint,status"}, "by: choose 1 or 2 dimensions"),
        ({"by": "tenant,tenant"}, "by: the same dimension twice"),
        ({"measure": "p99"}, "measure: unknown 'p99'"),
        ({"status": "lost"}, "status: unknown 'lost'"),
        ({"limit": "ten"}, "limit: expected an integer"),
        ({"limit": "0"}, "limit: expected 1..2000"),
        ({"since": "yesterday"}, "since: not an RFC 3339 timestamp"),
        ({"window": "custom"}, "since: required with window=custom"),
        ({"window": "24h", "since": "2026-11-01T00:00:00Z"}, "since/until: only with"),
        ({"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
         "until: must be after since"),
    ],
)
def test_bad_views_name_the_parameter(params, message):
    with pytest.raises(ExploreError, match=re.escape(message)):
        from_params(params)


def test_window_bounds():
    assert ExploreQuery(window="1h").bounds(NOW) == (NOW - timedelta(hours=1), NOW)
    q = ExploreQuery(window="custom", since=NOW - timedelta(days=2))
    assert q.bounds(NOW) == (NOW - timedelta(days=2), NOW)


@pytest.mark.parametrize(
    ("params", "source"),
    [
        ({}, "ix_deliveries_endpoint_time"),
        ({"by": "tenant,status"}, "ix_deliveries_tenant_time"),
        ({"by": "hour", "tenant": "t1"}, "ix_deliveries_tenant_time"),
        ({"by": "http_status", "status": "failed"}, "ix_deliveries_failed_time"),
        ({"by": "endpoint,hour", "status": "failed", "tenant": "t1"}, "ix_deliveries_failed_time"),
        ({"by": "http_status"}, None),  # needs the table
        ({"by": "tenant,endpoint"}, None),
        ({"by": "category"}, None),
    ],
)
def test_counts_read_a_covering_index_when_there_is_one(params, source):
    from intel.explore.run import counts_source

    table = counts_source(from_params(params))
    assert getattr(table, "index", None) == source
