"""Every insight aggregate against the hand-made world of conftest.py, on SQLite and
PostgreSQL (the ``engine`` fixture). Expected figures are worked out in the comments."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intel.insights import accuracy, adoption, endpoints, health, operators, tenants
from tests.insights.world import NOW, A, B, C

T = "transient-endpoint-down"
P = "permanent-4xx"
R = "rate-limited"


# endpoint, failures, deliveries, delivered, pending, success_rate, previous, trend
ENDPOINTS = {
    # 24 h: A 4x503 + 2x429 failed, 4 delivered, 1 pending; the day before 2 failed.
    "24h": [
        (A, 6, 11, 4, 1, 0.4, 2, "↑"),
        (B, 3, 4, 1, 0, 0.25, 3, "→"),  # 3 vs 3: flat
        (C, 1, 1, 0, 0, 0.0, 5, "↓"),  # 1 vs 5: down
    ],
    # 7 d holds both days; only B failed in the 7 d before (11 days ago).
    "7d": [
        (A, 8, 13, 4, 1, 0.3333, 0, "↑"),
        (B, 6, 7, 1, 0, 0.1429, 1, "↑"),
        (C, 6, 6, 0, 0, 0.0, 0, "↑"),
    ],
    "30d": [
        (A, 8, 13, 4, 1, 0.3333, 0, "↑"),
        (B, 7, 8, 1, 0, 0.125, 0, "↑"),
        (C, 6, 6, 0, 0, 0.0, 0, "↑"),
    ],
}


@pytest.mark.parametrize("period", ["24h", "7d", "30d"])
def test_top_failing_endpoints(world, period):
    rows = endpoints.top_failing_endpoints(world, period, NOW, limit=10)
    got = [
        (r["endpoint"], r["failures"], r["deliveries"], r["delivered"], r["pending"],
         r["success_rate"], r["previous_failures"], r["trend"])
        for r in rows
    ]
    assert got == ENDPOINTS[period]
    assert rows[0]["link"].startswith("/?")
    assert "status=failed" in rows[0]["link"]


def test_top_failing_endpoints_limit_and_links(world):
    rows = endpoints.top_failing_endpoints(world, "24h", NOW, limit=2)
    assert [r["endpoint"] for r in rows] == [A, B]
    assert rows[0]["link"] == (
        "/?endpoint=https%3A%2F%2Fa.example%2Fhook&status=failed&window=24h"
    )
    thirty = endpoints.top_failing_endpoints(world, "30d", NOW, limit=1)[0]["link"]
    assert "window=custom" in thirty and "since=2026-10-06T16%3A30%3A00Z" in thirty


@pytest.mark.parametrize(
    ("current", "previous", "threshold", "expected"),
    [
        (0, 0, 0.1, "→"),
        (1, 0, 0.1, "↑"),
        (0, 4, 0.1, "↓"),
        (11, 10, 0.1, "→"),  # +10 %: not more than the threshold
        (12, 10, 0.1, "↑"),
        (9, 10, 0.1, "→"),  # -10 %
        (8, 10, 0.1, "↓"),
        (12, 10, 0.5, "→"),
    ],
)
def test_trend_threshold(current, previous, threshold, expected):
    assert endpoints.trend(current, previous, threshold) == expected


# tenant, failures, previous, trend, top category, categories
TENANTS = {
    # t1: 4 x 503 (transient) + 2 x 429 (rate limited); t2: B 3 x 404 + C 1 refused.
    "24h": [
        ("t1", 6, 2, "↑", T, {T: 4, R: 2}),
        ("t2", 4, 8, "↓", P, {T: 1, P: 3}),
    ],
    # t2: B 6 x 404 + C 6 refused: a tie, the category listed first (transient) wins.
    "7d": [
        ("t2", 12, 1, "↑", T, {T: 6, P: 6}),
        ("t1", 8, 0, "↑", T, {T: 6, R: 2}),
    ],
}


@pytest.mark.parametrize("period", ["24h", "7d"])
def test_top_tenants_with_most_common_category(world, period):
    rows = tenants.top_tenants(world, period, NOW, limit=10)
    got = [
        (r["tenant"], r["failures"], r["previous_failures"], r["trend"], r["top_category"],
         r["categories"])
        for r in rows
    ]
    assert got == TENANTS[period]
    assert rows[0]["top_category_failures"] == max(rows[0]["categories"].values())
    assert "tenant=" in rows[0]["link"]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, None),
        ({P: 3, T: 1}, P),
        ({R: 2, T: 2}, T),  # tie: CATEGORIES order
        ({"unknown": 5, R: 5}, R),
    ],
)
def test_top_category(counts, expected):
    assert tenants.top_category(counts) == expected


# operator, actions, replays, replay_succeeded, replay_success_rate
OPERATORS = {
    # alice: replay.single, replay.job.start, incident.ack (her insights.view is not an
    # action); 3 replays, 2 delivered. bob: label.create, incident.ack; 1 failed replay.
    "24h": [("alice", 3, 3, 2, 0.6667), ("bob", 2, 1, 0, 0.0)],
    "7d": [("alice", 3, 3, 2, 0.6667), ("bob", 2, 1, 0, 0.0), ("carol", 1, 1, 1, 1.0)],
}


@pytest.mark.parametrize("period", ["24h", "7d"])
def test_operator_activity(world, period):
    rows = operators.operator_activity(world, period, NOW)
    got = [(r["operator"], r["actions"], r["replays"], r["replay_succeeded"],
            r["replay_success_rate"]) for r in rows]
    assert got == OPERATORS[period]
    assert rows[0]["last_action_at"] == "2026-11-05T14:05:00Z"


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # Wed 11-04 20:10 label.create; Thu 01:00 ack; Thu 10:15 + 10:40; Thu 14:05.
        ("24h", [(2, 20, 1), (3, 1, 1), (3, 10, 2), (3, 14, 1)]),
        # + carol's replay.single on Tue 11-03 12:00.
        ("7d", [(1, 12, 1), (2, 20, 1), (3, 1, 1), (3, 10, 2), (3, 14, 1)]),
    ],
)
def test_activity_heatmap(world, period, expected):
    cells = operators.activity_heatmap(world, period, NOW)
    assert [(c["weekday"], c["hour"], c["actions"]) for c in cells] == expected
    assert cells[0]["day"] in operators.WEEKDAYS


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # A 11 (4 ok, 6 failed, 1 pending) + B 4 (1 ok) + C 1 + D 5 ok.
        ("24h", {"deliveries": 21, "delivered": 10, "failed": 10, "pending": 1,
                 "success_ratio": 0.5, "failure_ratio": 0.5}),
        # + the day before: A 2, B 3, C 5 failed.
        ("7d", {"deliveries": 31, "delivered": 10, "failed": 20, "pending": 1,
                "success_ratio": 0.3333, "failure_ratio": 0.6667}),
    ],
)
def test_delivery_totals(world, period, expected):
    assert health.delivery_totals(world, period, NOW) == expected


@pytest.mark.parametrize(
    ("period", "points", "total"),
    [
        # hourly: 10:00 two delivered replays; 11:00 two failed ones.
        ("24h", [("2026-11-05T10:00:00Z", 2, 2, 1.0), ("2026-11-05T11:00:00Z", 2, 0, 0.0)],
         (4, 2, 0.5)),
        # 6-hourly: carol's on 11-03 12:05, the rest in the 11-05 06:00 bucket.
        ("7d", [("2026-11-03T12:00:00Z", 1, 1, 1.0), ("2026-11-05T06:00:00Z", 4, 2, 0.5)],
         (5, 3, 0.6)),
    ],
)
def test_replay_trend(world, period, points, total):
    body = health.replay_trend(world, period, NOW)
    assert [(p["bucket_start"], p["replays"], p["succeeded"], p["success_rate"])
            for p in body["points"]] == points
    assert (body["replays"], body["succeeded"], body["success_rate"]) == total


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("24h", {"incidents": 3, "critical": 1, "warning": 2, "active": 2, "acknowledged": 2,
                 "resolved": 1, "mean_time_to_acknowledge_s": 60.0,
                 "mean_time_to_resolve_s": 3600.0}),
        ("7d", {"incidents": 4, "critical": 1, "warning": 3, "active": 2, "acknowledged": 3,
                "resolved": 2, "mean_time_to_acknowledge_s": 60.0,
                "mean_time_to_resolve_s": 5400.0}),
    ],
)
def test_incident_kpis(world, period, expected):
    assert health.incident_kpis(world, period, NOW) == expected


def test_triage_accuracy_from_labels(world):
    # 4 labels before NOW: 503 transient ✓, 429 rate-limited ✓, 404 "transient" ✗
    # (triage says permanent), refused transient ✓. The label after NOW is ignored.
    body = accuracy.triage_accuracy(world, NOW)
    assert (body["labelled"], body["correct"], body["accuracy"]) == (4, 3, 0.75)
    assert [(b["label"], b["labelled"], b["correct"]) for b in body["by_label"]] == [
        (T, 3, 2), (R, 1, 1)
    ]


def test_triage_accuracy_without_labels(engine):
    assert accuracy.triage_accuracy(engine, NOW)["accuracy"] is None


@pytest.mark.parametrize(
    ("period", "advisor", "banner", "daily", "ack"),
    [
        # jobs j1 advisor, j2 manual, j3 advisor (j4 single is not bulk); acks: alice via
        # banner, bob via the incidents page; day 11-04 bob viewed (1/1), 11-05 alice of
        # alice+bob (1/2); incidents acknowledged after 20 s and 100 s.
        ("24h", (3, 2, 0.6667), (2, 1, 0.5),
         [("2026-11-04", 1, 1, 1.0), ("2026-11-05", 1, 2, 0.5)], (2, 60.0, 1, 0.5)),
        ("7d", (4, 3, 0.75), (2, 1, 0.5),
         [("2026-11-03", 0, 1, 0.0), ("2026-11-04", 1, 1, 1.0), ("2026-11-05", 1, 2, 0.5)],
         (3, 60.0, 1, 0.3333)),
    ],
)
def test_adoption_figures(world, period, advisor, banner, daily, ack):
    body = adoption.adoption(world, period, NOW)
    a = body["advisor_share"]
    assert (a["bulk_jobs"], a["from_advisor"], a["share"]) == advisor
    b = body["banner_ack_share"]
    assert (b["acks"], b["from_banner"], b["share"]) == banner
    days = body["insights_daily"]["days"]
    assert [(d["day"], d["viewers"], d["active_operators"], d["share"]) for d in days] == daily
    t = body["time_to_ack"]
    assert (t["acknowledged"], t["mean_s"], t["within_target"], t["within_target_share"]) == ack
    assert a["target"] == 0.6 and b["target"] == 0.5 and t["target_s"] == 30.0


def test_record_insights_view_is_an_audit_event(engine):
    with engine.begin() as conn:
        adoption.record_insights_view(conn, operator="dave", now=NOW - timedelta(minutes=1),
                                     period="7d")
    body = adoption.insights_daily(engine, "24h", NOW)
    assert body["days"] == [
        {"day": "2026-11-05", "viewers": 1, "active_operators": 1, "share": 1.0}
    ]
