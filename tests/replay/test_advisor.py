"""The replay advisor: what it recommends, holds back and why; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intel.advisor import confidence_of, get_replay_recommendations
from intel.advisor.decide import not_before
from intel.settings.replay import ReplaySettings
from intel.store.schema import incidents, replay_claims
from tests.replay.replay_helpers import delivery, seed

NOW = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
A = "https://a.example/hooks"
B = "https://b.example/hooks"
C = "https://c.example/hooks"
D = "https://d.example/hooks"
E = "https://e.example/hooks"
F = "https://f.example/hooks"


def _at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def _fail(did, endpoint, minutes_ago, tenant="acme", **over):
    t = _at(minutes_ago)
    return delivery(did, endpoint, tenant=tenant, created_at=t, last_attempt_at=t, **over)


def _ok(did, endpoint, minutes_ago, tenant="acme"):
    t = _at(minutes_ago)
    return delivery(did, endpoint, tenant=tenant, status="delivered", http_status=200,
                    response_body="ok", created_at=t, last_attempt_at=t)


REFUSED = {"http_status": None, "response_body": None,
           "error": "dial tcp 10.0.0.7:443: connect: connection refused"}


def _world(engine):
    seed(engine, [
        # A: an outage that recovered -> recommended
        _fail("a1", A, 180), _fail("a2", A, 175, **REFUSED), _ok("a-ok", A, 60),
        _fail("a-nopayload", A, 170, payload=None),
        # B: still down -> wait
        _ok("b-ok", B, 300), _fail("b1", B, 60, **REFUSED), _fail("b2", B, 50),
        # C: recovered, then failing again -> wait
        _fail("c1", C, 300, tenant="beta"), _ok("c-ok", C, 240, tenant="beta"),
        *[_fail(f"c-again{i}", C, 30 - i, tenant="beta") for i in range(3)],
        # D: recovered, but an incident is open on its tenant -> wait
        _fail("d1", D, 200, tenant="gamma"), _ok("d-ok", D, 100, tenant="gamma"),
        # E: rate-limited -> retry later, not before +120 s
        _fail("e1", E, 20, http_status=429, response_headers={"Retry-After": "120"},
              response_body='{"error":"too many requests"}'), _ok("e-ok", E, 5),
        # F: permanent -> never
        _fail("f1", F, 90, http_status=410, response_body="Gone"), _ok("f-ok", F, 10),
        # unknown
        _fail("u1", A, 95, http_status=None, response_body=None, error="something odd"),
        # already replayed successfully (the platform re-reported it as failed)
        _fail("r1", A, 160),
        # outside the window
        _fail("old", A, 60 * 30),
    ])
    with engine.begin() as conn:
        conn.execute(replay_claims.insert().values(delivery_id="r1", job_id="rj-x",
                                                   state="succeeded", claimed_at=_at(10)))
        conn.execute(incidents.insert().values(
            id="inc-1", dedup_key="tenant_spike|gamma", type="tenant_spike", target="gamma",
            severity="critical", status="active", current_failures=9, peak_failures=9,
            baseline=1.0, detected_at=_at(20), updated_at=_at(1)))


def _by_id(advice):
    return {h["id"]: h for h in advice["held_back"]}


def test_recommendations_and_reasons(engine):
    _world(engine)
    advice = get_replay_recommendations(engine, None, "24h", now=NOW)
    assert advice["recommended_ids"] == ["a1", "a2"]
    assert advice["total_recommended"] == 2
    assert advice["total_analyzed"] == 14
    held = _by_id(advice)
    assert held["b1"]["decision"] == "wait" and "still down" in held["b1"]["reason"]
    assert held["c1"]["decision"] == "wait" and "failing again" in held["c1"]["reason"]
    assert held["c-again0"]["decision"] == "wait" and "still down" in held["c-again0"]["reason"]
    assert held["d1"]["decision"] == "wait" and "inc-1" in held["d1"]["reason"]
    assert held["e1"]["decision"] == "retry_later"
    assert held["e1"]["not_before"] == "2026-11-05T16:12:00Z"
    assert held["f1"]["decision"] == "investigate" and held["f1"]["category"] == "permanent-4xx"
    assert held["u1"]["decision"] == "review"
    assert held["r1"]["decision"] == "already_replayed"
    assert held["a-nopayload"]["decision"] == "cannot_replay"
    assert "old" not in held
    assert advice["breakdown"]["by_decision"]["wait"] == 7  # b1 b2 c1 c-again0..2 d1
    assert advice["breakdown"]["by_category"]["permanent-4xx"] == 1
    assert sum(b["analyzed"] for b in advice["age_distribution"]) == 14
    assert sum(b["recommended"] for b in advice["age_distribution"]) == 2
    endpoints = {e["endpoint"]: e for e in advice["affected_endpoints"]}
    assert endpoints[A]["recommended"] == 2 and endpoints[A]["health"] == "recovered"
    assert endpoints[B]["health"] == "failing again"  # succeeded 300 min ago, failed since
    assert endpoints[C]["health"] == "failing again"
    assert endpoints[D]["health"] == "incident" and endpoints[D]["incident"] == "inc-1"
    assert advice["affected_endpoints"][0]["endpoint"] == A  # most recommended first
    assert advice["reasoning"].startswith("2 of 14 failed deliveries (14%)")
    assert advice["confidence"] in ("high", "medium", "low")
    assert advice["share_of_failures"] == pytest.approx(2 / 14, abs=1e-4)


def test_permanent_is_never_recommended_even_when_the_endpoint_recovered(engine):
    seed(engine, [_fail("p1", F, 60, http_status=404, response_body="Not Found"),
                  _fail("p2", F, 50, http_status=401, response_body='{"error":"bad sig"}'),
                  _ok("p-ok", F, 5)])
    advice = get_replay_recommendations(engine, None, "24h", now=NOW)
    assert advice["recommended_ids"] == []
    assert {h["decision"] for h in advice["held_back"]} == {"investigate"}
    assert advice["confidence"] == "low"


def test_flaky_endpoint_goes_to_review_but_a_recovered_outage_does_not(engine):
    flaky, outage = "https://flaky.example/h", "https://outage.example/h"
    records = []
    # flaky: failure, success, failure ... (5 episodes: the first follows no success)
    for i in range(12):
        if i % 2:
            records.append(_ok(f"fl-ok{i}", flaky, 58 - 4 * i))
        else:
            records.append(_fail(f"fl{i}", flaky, 58 - 4 * i))
    records.append(_ok("fl-last", flaky, 1))
    # outage: successes, ten failures in a row, successes again (one episode)
    records += [_ok(f"o-ok{i}", outage, 59 - i) for i in range(3)]
    records += [_fail(f"o{i}", outage, 50 - i) for i in range(10)]
    records += [_ok(f"o-back{i}", outage, 20 - i) for i in range(3)]
    seed(engine, records)
    advice = get_replay_recommendations(engine, None, "24h", now=NOW)
    assert advice["recommended_ids"] == [f"o{i}" for i in range(10)]  # oldest first
    held = _by_id(advice)
    assert held["fl0"]["decision"] == "review"
    assert "unstable: 5 separate transport/5xx failure episodes in 13 deliveries" in (
        held["fl0"]["reason"])
    health = {e["endpoint"]: e["health"] for e in advice["affected_endpoints"]}
    assert health == {flaky: "unstable", outage: "recovered"}


def test_platform_incident_holds_everything(engine):
    seed(engine, [_fail("x1", A, 120), _ok("x-ok", A, 30)])
    with engine.begin() as conn:
        conn.execute(incidents.insert().values(
            id="burst-1", dedup_key="burst|*", type="burst", target="*", severity="warning",
            status="active", current_failures=50, peak_failures=50, baseline=5.0,
            detected_at=_at(10), updated_at=_at(1)))
    advice = get_replay_recommendations(engine, None, "24h", now=NOW)
    assert advice["recommended_ids"] == []
    assert "the platform" in advice["held_back"][0]["reason"]


def test_sorted_oldest_first_then_tenant_then_endpoint(engine):
    same = 200
    seed(engine, [
        _fail("z-late", A, 100, tenant="zeta"), _ok("ok-a", A, 10, tenant="zeta"),
        _fail("y-b", B, same, tenant="alpha"), _ok("ok-b", B, 10, tenant="alpha"),
        _fail("y-a", A, same, tenant="alpha"),
        _fail("x-first", C, same + 50, tenant="zeta"), _ok("ok-c", C, 10, tenant="zeta"),
    ])
    advice = get_replay_recommendations(engine, None, "24h", now=NOW)
    assert advice["recommended_ids"] == ["x-first", "y-a", "y-b", "z-late"]


def test_tenant_and_window_filters(engine):
    _world(engine)
    beta = get_replay_recommendations(engine, "beta", "24h", now=NOW)
    assert beta["total_analyzed"] == 4 and beta["tenant"] == "beta"
    recent = get_replay_recommendations(engine, None, _at(100), now=NOW)
    assert recent["recommended_ids"] == []
    assert recent["since"] == "2026-11-05T14:50:00Z"
    empty = get_replay_recommendations(engine, "nobody", None, now=NOW)
    assert empty["total_analyzed"] == 0 and empty["reasoning"].startswith("No failed")


def test_candidate_cap_is_reported(engine):
    _world(engine)
    capped = get_replay_recommendations(engine, None, "24h", now=NOW,
                                        settings=ReplaySettings(advisor_max_candidates=5))
    assert capped["total_analyzed"] == 5 and capped["truncated"] is True
    assert capped["total_failures_in_window"] == 14
    assert "Only the 5 most recent of 14" in capped["reasoning"]


def test_bad_since_is_an_error(engine):
    with pytest.raises(ValueError, match="RFC 3339"):
        get_replay_recommendations(engine, None, "yesterday-ish", now=NOW)


@pytest.mark.parametrize(
    ("scores", "clean", "expected"),
    [
        ([], [], "low"),
        ([95, 92, 90], [True, True, True], "high"),
        ([95, 89], [True, True], "medium"),
        ([95] * 20, [True] * 19 + [False], "high"),
        ([95] * 10, [True] * 8 + [False] * 2, "medium"),
        ([82, 84], [True, True], "low"),
        ([95] * 4, [True, False, False, False], "low"),
    ],
)
def test_confidence_levels(scores, clean, expected):
    assert confidence_of(scores, clean) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, NOW + timedelta(seconds=30)),
        ({"retry-after": "Thu, 05 Nov 2026 17:00:00 GMT"}, datetime(2026, 11, 5, 17, tzinfo=UTC)),
        ({"RateLimit-Reset": "60"}, NOW + timedelta(seconds=60)),
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 90)}, NOW + timedelta(seconds=90)),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_not_before(headers, expected):
    assert not_before(headers, NOW) == expected
