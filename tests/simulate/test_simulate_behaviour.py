"""The sandbox behaviour contract: how a simulated endpoint answers at a given time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intel.simulate import SimulationConfig, simulate
from intel.simulate.behaviour import (
    Behaviour,
    endpoint_behaviour,
    load_scenario,
    scenario_from_events,
)
from intel.simulate.scenario import SimEvent

T0 = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8701/hooks/acme"


def _ev(eid, kind, target, minutes, **details):
    start = T0
    return SimEvent(id=eid, kind=kind, is_anomaly=0 if kind.startswith("profile") else 1,
                    expected_type=None, target=target, start_at=start,
                    end_at=start + timedelta(minutes=minutes), description=f"test {kind}",
                    details=details)


SCENARIO = scenario_from_events([
    _ev("o-refuse", "outage", f"{BASE}/refusing", 30, endpoints=[f"{BASE}/refusing"],
        mode="refuse", cause="conn_refused_go", client="go", proxy="nginx"),
    _ev("o-503", "outage", f"{BASE}/down", 30, endpoints=[f"{BASE}/down"], mode="503",
        cause="alb_503", client="node", proxy="alb"),
    _ev("o-504", "outage", f"{BASE}/slow", 30, endpoints=[f"{BASE}/slow"], mode="504",
        cause="nginx_504", proxy="nginx"),
    _ev("o-bare", "outage", f"{BASE}/bare", 30, endpoints=[f"{BASE}/bare"], mode="502"),
    _ev("m1", "misconfig", "acme", 60, endpoints=[f"{BASE}/billing", f"{BASE}/orders"],
        mode="401", share=1.0, cause="misconfig_401", tenant="acme"),
    _ev("r1", "ratelimit", f"{BASE}/limited", 30, endpoints=[f"{BASE}/limited"], mode="429",
        share=1.0, cause="rate_limit_429", retry_after_s=30),
    _ev("p-gone", "profile_gone", f"{BASE}/gone", 60, mode="410", share=1.0, cause="http_410"),
    _ev("p-404", "profile_not_found", f"{BASE}/moved", 60, mode="404", share=1.0,
        cause="http_404"),
    _ev("p-flaky", "profile_flaky", f"{BASE}/flaky", 60, mode="502", share=0.25,
        cause="nginx_502", proxy="nginx"),
    _ev("s1", "surge", "acme", 60, multiplier=3.0, endpoints=[f"{BASE}/billing"]),
])

INSIDE = T0 + timedelta(minutes=10)
AFTER = T0 + timedelta(hours=3)
BEFORE = T0 - timedelta(minutes=1)


@pytest.mark.parametrize("slug, at, status, reason", [
    ("refusing", INSIDE, None, "o-refuse"),
    ("refusing", AFTER, 200, "healthy"),
    ("refusing", BEFORE, 200, "healthy"),
    ("down", INSIDE, 503, "o-503"),
    ("down", T0 + timedelta(minutes=30), 200, "healthy"),  # the window is half-open
    ("slow", INSIDE, 504, "o-504"),
    ("bare", INSIDE, 502, "o-bare"),
    ("billing", INSIDE, 401, "m1"),
    ("orders", T0 + timedelta(minutes=59), 401, "m1"),
    ("orders", AFTER, 200, "healthy"),
    ("limited", INSIDE, 429, "r1"),
    ("limited", AFTER, 200, "healthy"),
    ("gone", INSIDE, 410, "p-gone"),
    ("gone", AFTER + timedelta(days=30), 410, "p-gone"),  # chronic: all the time
    ("moved", BEFORE, 404, "p-404"),
    ("healthy", INSIDE, 200, "healthy"),
])
def test_endpoint_behaviour(slug, at, status, reason):
    b = endpoint_behaviour(SCENARIO, f"{BASE}/{slug}", at)
    assert isinstance(b, Behaviour)
    assert b.http_status == status
    assert b.reason.startswith(reason)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in b.headers.items())
    assert not {k.lower() for k in b.headers} & {"date", "content-length", "connection"}
    if status is None:
        assert b.body == ""
    else:
        assert b.body


def test_details_of_the_answers():
    down = endpoint_behaviour(SCENARIO, f"{BASE}/down", INSIDE)
    assert "503" in down.body and down.headers["Server"] == "awselb/2.0" and down.delay_s == 0
    slow = endpoint_behaviour(SCENARIO, f"{BASE}/slow", INSIDE)
    assert slow.delay_s > 0 and "504" in slow.body
    limited = endpoint_behaviour(SCENARIO, f"{BASE}/limited", INSIDE)
    assert limited.headers["Retry-After"] == "30"
    assert any(k.lower().startswith(("x-ratelimit", "ratelimit")) for k in limited.headers)
    healthy = endpoint_behaviour(SCENARIO, f"{BASE}/healthy", INSIDE)
    assert healthy == Behaviour(200, {"Content-Type": "application/json"},
                                '{"received": true}', 0.0, "healthy")
    # pure: the same question gives the same answer
    assert endpoint_behaviour(SCENARIO, f"{BASE}/down", INSIDE) == down


def test_shares_are_deterministic_per_second():
    answers = [endpoint_behaviour(SCENARIO, f"{BASE}/flaky", T0 + timedelta(seconds=s))
               for s in range(2000)]
    failing = sum(a.http_status == 502 for a in answers)
    assert 0.18 * 2000 < failing < 0.32 * 2000
    assert {a.http_status for a in answers} == {200, 502}
    again = [endpoint_behaviour(SCENARIO, f"{BASE}/flaky", T0 + timedelta(seconds=s)).http_status
             for s in range(2000)]
    assert again == [a.http_status for a in answers]


def test_host_spelling_does_not_matter():
    b = endpoint_behaviour(SCENARIO, "http://localhost:8701/hooks/acme/down/", INSIDE)
    assert b.http_status == 503


def test_the_sandbox_follows_a_simulated_history(engine):
    """Behaviour read back from the database matches what the history recorded."""
    end = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
    config = SimulationConfig(seed=11, end=end, days=2, deliveries=2_000,
                              endpoint_base="http://127.0.0.1:8701")
    simulate(engine, config, now=end)
    scenario = load_scenario(engine)
    assert load_scenario(engine, seed=12).events == ()
    by_kind = {}
    for ev in scenario.events:
        by_kind.setdefault(ev.kind, []).append(ev)
    outage = by_kind["outage"][0]
    mid = outage.start_at + (outage.end_at - outage.start_at) / 2
    inside = endpoint_behaviour(scenario, outage.target, mid)
    mode = outage.details["mode"]
    assert inside.http_status == (None if mode == "refuse" else int(mode))
    assert endpoint_behaviour(scenario, outage.target, outage.end_at).http_status == 200
    mis = by_kind["misconfig"][0]
    for url in mis.details["endpoints"]:
        assert endpoint_behaviour(scenario, url, mis.start_at).http_status == 401
    rl = by_kind["ratelimit"][0]
    answers = [endpoint_behaviour(scenario, rl.target, rl.start_at + timedelta(seconds=s))
               for s in range(60)]
    limited = [a for a in answers if a.http_status == 429]
    assert len(limited) > 30
    assert all(a.headers["Retry-After"] == str(rl.details["retry_after_s"]) for a in limited)
    gone = by_kind["profile_gone"][0]
    assert endpoint_behaviour(scenario, gone.target, end + timedelta(days=1)).http_status == 410
    missing = by_kind["profile_not_found"][0]
    assert endpoint_behaviour(scenario, missing.target, end).http_status == 404
