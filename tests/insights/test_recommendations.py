"""The recommendation rule table, rule by rule, on hand-made data (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intel.insights.recommendations import RULES, Thresholds, pct, recommendations
from intel.store.schema import endpoints
from tests.insights.world import NOW, delivery, write

X, Y, Z, W = (f"https://{n}.example/hook" for n in "xyzw")


def many(n, endpoint, status, tenant="t1", hours_ago=1.0, **over):
    return [delivery(endpoint, tenant, status, NOW - timedelta(hours=hours_ago + i / 100), **over)
            for i in range(n)]


def rate_limited_data():
    return (
        many(4, X, "failed", http_status=429) + many(6, X, "failed", http_status=503)  # 40 %
        + many(2, Y, "failed", http_status=429) + many(8, Y, "failed", http_status=503)  # 20 %
        + many(9, Z, "failed", http_status=429)  # 100 % but only 9 failures
    )


def tenant_data():
    return (
        many(10, X, "failed", tenant="T", http_status=500) + many(10, X, "delivered", tenant="T")
        + many(4, Y, "failed", tenant="U", http_status=500) + many(16, Y, "delivered", tenant="U")
    )


def dead_data():
    days = [2.9, 2.0, 1.0, 0.1]
    return (
        [delivery(X, "t1", "failed", NOW - timedelta(days=d), http_status=502) for d in days]
        # Y: one success a day ago
        + [delivery(Y, "t1", "failed", NOW - timedelta(days=d), http_status=502) for d in days]
        + [delivery(Y, "t1", "delivered", NOW - timedelta(days=1))]
        # W: new, failing only since yesterday
        + [delivery(W, "t1", "failed", NOW - timedelta(hours=h), http_status=502)
           for h in (20, 10, 5)]
        # Z: dead but already disabled
        + [delivery(Z, "t1", "failed", NOW - timedelta(days=d), http_status=502) for d in days]
    )


def client_error_data():
    return (
        many(6, X, "failed", http_status=401) + many(4, X, "failed", http_status=503)
        + many(5, Y, "failed", http_status=429) + many(5, Y, "failed", http_status=408)
    )


def transient_data():
    refused = "connect: connection refused"
    return (
        many(5, X, "failed", http_status=503) + many(5, X, "failed", error=refused)
        + many(10, X, "delivered")
        + many(10, Y, "failed", http_status=503) + many(100, Y, "delivered")
    )


def event_type_data():
    return (
        many(6, X, "failed", tenant="a", event_type="E", http_status=400)
        + many(6, Y, "failed", tenant="b", event_type="E", http_status=400)
        + many(8, Y, "delivered", tenant="b", event_type="E")
        + many(20, Z, "failed", tenant="c", event_type="F", http_status=400)
    )


CASES = [
    ("endpoint-rate-limited", rate_limited_data, [
        (X, "Consider rate-limiting deliveries to endpoint https://x.example/hook: 40 % of its "
            "failures are 429s", 4,
         "/?endpoint=https%3A%2F%2Fx.example%2Fhook&status=failed&category=rate-limited"
         "&window=24h"),
    ]),
    ("tenant-failing", tenant_data, [
        ("T", "Tenant T: 50 % of deliveries failing — check its webhook configuration", 10,
         "/?tenant=T&status=failed&window=24h"),
    ]),
    ("endpoint-dead", dead_data, [
        (X, "Endpoint https://x.example/hook has failed every delivery for 3 days — disable it?",
         4, "/?endpoint=https%3A%2F%2Fx.example%2Fhook"
            "&since=2026-11-02T16%3A30%3A00Z&until=2026-11-05T16%3A30%3A00Z&window=custom"),
    ]),
    ("endpoint-client-errors", client_error_data, [
        (X, "Endpoint https://x.example/hook rejects our requests: 60 % of its failures are 4xx "
            "— check its URL, credentials and expected payload before replaying", 6,
         "/?endpoint=https%3A%2F%2Fx.example%2Fhook&status=failed&category=permanent-4xx"
         "&window=24h"),
    ]),
    ("endpoint-transient-failures", transient_data, [
        (X, "Endpoint https://x.example/hook: 10 failures look transient (5xx, timeouts, refused "
            "connections) — replay them with the Replay Advisor once it recovers", 10,
         "/?endpoint=https%3A%2F%2Fx.example%2Fhook&status=failed"
         "&category=transient-endpoint-down&window=24h"),
    ]),
    ("event-type-failing", event_type_data, [
        ("E", "Event type E: 60 % of deliveries failing across 2 tenants — check its payload "
              "against what receivers expect", 12,
         "/?status=failed&event_type=E&window=24h"),
    ]),
]


@pytest.mark.parametrize(("rule_id", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_fires_exactly_where_it_should(engine, rule_id, data, expected):
    write(engine, data())
    with engine.begin() as conn:
        conn.execute(endpoints.insert().values(url=Z, disabled=True, updated_at=NOW))
    found = [r for r in recommendations(engine, "24h", NOW) if r["rule"] == rule_id]
    assert [(r["target"], r["text"], r["impact"], r["link"]) for r in found] == expected
    assert all(r["evidence"] for r in found)


def test_every_rule_has_a_case():
    assert {r.id for r in RULES} == {c[0] for c in CASES}


def test_evidence_of_the_rate_limit_rule(engine):
    write(engine, rate_limited_data())
    (rec,) = [r for r in recommendations(engine, "24h", NOW) if r["rule"] ==
              "endpoint-rate-limited"]
    assert rec["evidence"] == (
        "4 of its 10 failures in the last 24 hours answered HTTP 429 Too Many Requests."
    )


def test_ranked_by_impact_and_at_most_ten(engine):
    # 12 endpoints, each with 10..21 failures all 429: 12 rate-limit recommendations.
    records = []
    for i in range(12):
        records += many(10 + i, f"https://e{i:02d}.example/hook", "failed", tenant=f"t{i}",
                        http_status=429)
        records += many(40, f"https://e{i:02d}.example/hook", "delivered", tenant=f"t{i}")
    write(engine, records)
    found = recommendations(engine, "24h", NOW)
    assert len(found) == 10
    scores = [r["score"] for r in found]
    assert scores == sorted(scores, reverse=True)
    assert found[0]["target"] == "https://e11.example/hook" and found[0]["impact"] == 21
    assert len(recommendations(engine, "24h", NOW, limit=3)) == 3


def test_thresholds_change_what_fires(engine):
    write(engine, rate_limited_data())
    loose = Thresholds(min_failures=5, rate_limited_share=0.2)
    targets = {r["target"] for r in recommendations(engine, "24h", NOW, thresholds=loose)
               if r["rule"] == "endpoint-rate-limited"}
    assert targets == {X, Y, Z}


def test_old_data_is_outside_the_period(engine):
    old = datetime(2026, 10, 1, tzinfo=UTC)
    write(engine, [delivery(X, "t1", "failed", old, http_status=429) for _ in range(20)])
    assert recommendations(engine, "24h", NOW) == []


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(38, 100, "38 %"), (1, 3, "33 %"), (0, 5, "0 %"), (1, 1000, "<1 %"), (5, 0, "0 %"),
     (2, 2, "100 %")],
)
def test_pct(part, whole, expected):
    assert pct(part, whole) == expected
