"""The simulator without a database: determinism, world, scenario placement, ground truth."""

from __future__ import annotations

import base64
import itertools
import json
import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from intel.simulate import SimulationConfig, generate, iter_batches, make_plan, texts
from intel.simulate.scenario import ANOMALIES
from intel.simulate.world import build_world

END = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
SMALL = SimulationConfig(seed=7, end=END, days=2, deliveries=5_000)


def _all(config):
    return [r for batch in generate(config) for r in batch]


def test_same_seed_same_records_other_seed_other_records():
    first, again = _all(SMALL), _all(SMALL)
    assert len(first) == 5_000
    assert first == again
    other = _all(SimulationConfig(seed=8, end=END, days=2, deliveries=5_000))
    assert [(r["tenant"], r["endpoint"], r["status"]) for r in first] != [
        (r["tenant"], r["endpoint"], r["status"]) for r in other]


def test_generate_needs_an_end():
    with pytest.raises(ValueError, match="end"):
        next(generate(SimulationConfig(deliveries=10)))
    records = next(generate(SimulationConfig(deliveries=10, days=1), now=END))
    assert len(records) == 10 and max(r["last_attempt_at"] for r in records) <= END


@pytest.mark.parametrize("field, value", [
    ("seed", -1), ("days", 0), ("days", 400), ("deliveries", -3), ("deliveries", 10**9),
    ("endpoint_base", "ftp://x"), ("endpoint_base", "not a url"), ("scenario", "chaos"),
    ("live_interval_s", 0), ("live_incident", "meteor"), ("end", datetime(2026, 1, 1)),
])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SimulationConfig(**{field: value})


def test_records_follow_the_import_contract():
    statuses = Counter()
    for r in _all(SMALL):
        statuses[r["status"]] += 1
        assert r["id"].startswith("sim7-")
        assert r["created_at"].tzinfo is not None and r["created_at"] <= r["last_attempt_at"]
        assert r["attempts"] >= 1
        assert isinstance(r["payload"], dict) and r["payload"]["type"] == r["event_type"]
        if r["status"] == "delivered":
            assert 200 <= r["http_status"] < 300 and r["error"] is None
        elif r["status"] == "pending":
            assert r["http_status"] is None and r["error"] is None
        else:
            assert r["error"] or r["http_status"] is not None
        assert r["response_headers"] is None or all(
            isinstance(k, str) and isinstance(v, str) for k, v in r["response_headers"].items())
    assert statuses["delivered"] > 0.9 * 5_000
    assert 0 < statuses["pending"] < 0.02 * 5_000
    assert statuses["failed"] > 0


def test_payload_text_is_what_json_dumps_writes():
    batch = next(iter_batches(make_plan(SMALL)))
    for text in batch.payload_json[:500]:
        assert json.dumps(json.loads(text)) == text
    for text in batch.headers_json[:500]:
        assert json.dumps(json.loads(text)) == text


def test_world_is_deterministic_with_standard_webhooks_secrets():
    world, again = build_world(42), build_world(42)
    assert [(e.url, e.secret) for e in world.endpoints] == [
        (e.url, e.secret) for e in again.endpoints]
    assert len(world.tenants) == 25
    for tenant in world.tenants:
        regular = [i for i in tenant.endpoints if world.endpoints[i].profile != "sparse"]
        assert 2 <= len(regular) <= 6
    for ep in world.endpoints:
        assert ep.secret.startswith("whsec_")
        assert len(base64.b64decode(ep.secret.removeprefix("whsec_"))) == 24
        assert ep.url.startswith("https://") and ".example" in ep.url
    assert len({e.url for e in world.endpoints}) == len(world.endpoints)
    assert [e.secret for e in build_world(43).endpoints] != [e.secret for e in world.endpoints]
    profiles = Counter(e.profile for e in world.endpoints)
    assert profiles["flaky"] == 1 and profiles["gone"] == 1 and profiles["not_found"] == 1
    assert profiles["sparse"] == 3


def test_endpoint_base_points_every_endpoint_at_the_sandbox():
    world = build_world(42, "http://127.0.0.1:8701")
    for ep in world.endpoints:
        assert ep.url == f"http://127.0.0.1:8701/hooks/{ep.tenant}/{ep.slug}"
    cfg = SimulationConfig(seed=7, end=END, days=1, deliveries=300,
                           endpoint_base="http://127.0.0.1:8701/")
    assert all(r["endpoint"].startswith("http://127.0.0.1:8701/hooks/") for r in _all(cfg))


def test_a_week_holds_several_of_each_incident_and_confounder():
    plan = make_plan(SimulationConfig(seed=42, end=END, days=7, deliveries=1_000))
    kinds = Counter(ev.kind for ev in plan.all_events)
    for kind in ANOMALIES:
        assert kinds[kind] >= 3, kind
    assert kinds["surge"] >= 2
    for kind in ("profile_flaky", "profile_gone", "profile_not_found", "profile_sparse"):
        assert kinds[kind] >= 1
    windows = sorted((ev.start_at, ev.end_at) for ev in plan.events)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(windows):
        assert e1 <= s2  # incidents and surges never overlap
    for ev in plan.all_events:
        assert plan.start <= ev.start_at < ev.end_at <= plan.end
        if ev.kind in ANOMALIES:
            assert ev.is_anomaly == 1 and ev.expected_type == ANOMALIES[ev.kind][0]
        else:
            assert ev.is_anomaly == 0 and ev.expected_type is None
    again = make_plan(SimulationConfig(seed=42, end=END, days=7, deliveries=1_000))
    assert [e.row() for e in again.all_events] == [e.row() for e in plan.all_events]
    other = make_plan(SimulationConfig(seed=5, end=END, days=7, deliveries=1_000))
    assert [e.start_at for e in other.events] != [e.start_at for e in plan.events]


def test_calm_scenario_has_no_incidents():
    plan = make_plan(SimulationConfig(seed=42, end=END, days=3, deliveries=100, scenario="calm"))
    assert plan.events and all(ev.is_anomaly == 0 for ev in plan.all_events)


@pytest.mark.parametrize("cause", sorted(texts.CAUSES))
def test_every_cause_renders_a_plausible_attempt(cause):
    rnd = random.Random(cause)
    target = texts.target_from_url("https://hooks.acme.example:8443/webhooks/billing",
                                   client="go", proxy="nginx", ip="203.0.113.7", tenant="acme")
    out = texts.render(cause, rnd, target, END.timestamp())
    assert texts.category_of(cause) in texts.CATEGORIES
    assert out.duration_ms > 0
    if out.http_status is None:
        assert out.error and out.body is None and out.headers is None
    else:
        assert out.error is None and out.body is not None and out.headers
        assert 400 <= out.http_status < 600
        if texts.status_of(cause):
            assert out.http_status == texts.status_of(cause)
    if out.http_status == 429:
        assert int(out.headers["Retry-After"]) > 0
        assert any(k.lower().startswith(("x-ratelimit", "ratelimit")) for k in out.headers)


@pytest.mark.parametrize("family, needles", [
    ("conn_refused", ["connection refused", "ECONNREFUSED", "Connection refused",
                      "connection attempts failed", "Connect call failed"]),
    ("dns_nxdomain", ["no such host", "ENOTFOUND", "Name or service not known",
                      "UnknownHostException", "Could not resolve host"]),
    ("dns_eai_again", ["EAI_AGAIN", "Temporary failure in name resolution", "i/o timeout",
                       "server misbehaving", "Resolving timed out"]),
    ("tls_cert", ["certificate", "x509", "PKIX", "SSL", "NotAfter"]),
    ("timeout", ["timeout", "timed out", "Timeout", "deadline", "ETIMEDOUT"]),
    ("reset", ["reset", "ECONNRESET", "EPIPE", "hang up", "EOF", "disconnect", "Disconnected",
               "Empty reply", "pipe", "GOAWAY", "IncompleteRead", "closed", "respond"]),
])
def test_transport_families_speak_every_client(family, needles):
    for client in texts.CLIENTS:
        rnd = random.Random(client)
        target = texts.target_from_url("https://hooks.initech.example/aetherlink/orders",
                                       client=client, ip="198.51.100.4")
        seen = {texts.render(f"{family}_{client}", rnd, target, END.timestamp()).error
                for _ in range(30)}
        assert all(any(n in text for n in needles) for text in seen), (client, seen)


@pytest.fixture(scope="module")
def week():
    """A week at 60k deliveries: enough volume to check the ground truth statistically."""
    plan = make_plan(SimulationConfig(seed=42, end=END, days=7, deliveries=60_000))
    batches = list(iter_batches(plan))
    records = [r for b in batches for r in b.records()]
    truth = {t[0]: t for b in batches for t in b.truth}
    return plan, records, truth


def test_every_failure_has_its_truth_and_nothing_else_does(week):
    plan, records, truth = week
    failed = {r["id"] for r in records if r["status"] == "failed"}
    assert failed == set(truth)
    event_ids = {ev.id for ev in plan.all_events}
    for _id, cause, category, event in truth.values():
        assert cause in texts.CAUSES and category == texts.category_of(cause)
        assert category in texts.CATEGORIES
        assert event is None or event in event_ids
    categories = Counter(t[2] for t in truth.values())
    assert set(categories) == set(texts.CATEGORIES)


def _window(records, ev, urls):
    inside = [r for r in records if r["endpoint"] in urls
              and ev.start_at <= r["last_attempt_at"] < ev.end_at]
    outside = [r for r in records if r["endpoint"] in urls
               and not ev.start_at <= r["last_attempt_at"] < ev.end_at]
    return inside, outside


def _ratio(rows):
    return sum(r["status"] == "failed" for r in rows) / max(1, len(rows))


def test_outage_failures_are_concentrated_in_the_window_then_recover(week):
    plan, records, truth = week
    for ev in (e for e in plan.events if e.kind == "outage"):
        inside, outside = _window(records, ev, {ev.target})
        assert inside and _ratio(inside) == 1.0
        assert all(truth[r["id"]][3] == ev.id for r in inside)
        assert _ratio(outside) < 0.1
        if ev.details["mode"] == "refuse":
            assert all(r["http_status"] is None and r["error"] for r in inside)
        else:
            assert all(r["http_status"] == int(ev.details["mode"]) for r in inside)


def test_misconfiguration_answers_401_on_every_endpoint_of_the_tenant(week):
    plan, records, truth = week
    for ev in (e for e in plan.events if e.kind == "misconfig"):
        inside, _ = _window(records, ev, set(ev.details["endpoints"]))
        assert inside and all(r["http_status"] == 401 for r in inside)
        assert {truth[r["id"]][1:] for r in inside} == {("misconfig_401", "permanent-4xx", ev.id)}
        assert {r["tenant"] for r in inside} == {ev.target}


def test_rate_limit_storm_answers_429_with_retry_after(week):
    plan, records, truth = week
    for ev in (e for e in plan.events if e.kind == "ratelimit"):
        inside, outside = _window(records, ev, {ev.target})
        limited = [r for r in inside if r["http_status"] == 429]
        assert len(limited) >= 0.5 * len(inside)
        assert all(int(r["response_headers"]["Retry-After"]) > 0 for r in limited)
        assert all(truth[r["id"]][2] == "rate-limited" for r in limited)
        assert _ratio(outside) < 0.1


def test_burst_hits_many_endpoints_at_once(week):
    plan, records, truth = week
    for ev in (e for e in plan.events if e.kind == "burst"):
        window = [r for r in records if ev.start_at <= r["last_attempt_at"] < ev.end_at]
        assert _ratio(window) > 0.3  # platform-wide, against ~2 % outside incidents
        hit = {r["endpoint"] for r in window if r["id"] in truth and truth[r["id"]][3] == ev.id}
        assert len(hit) >= 5 and len({ep.split("/")[2] for ep in hit}) >= 5
        assert len(ev.details["endpoints"]) > 0.6 * len(plan.world.endpoints)
        assert ev.target == "*" and ev.expected_type == "burst"


def test_surge_keeps_the_failure_ratio(week):
    plan, records, truth = week
    anomalies = {ev.id for ev in plan.events if ev.is_anomaly}

    def baseline(rows):  # what the incidents injected is not the surge's doing
        return [r for r in rows if not (r["id"] in truth and truth[r["id"]][3] in anomalies)]

    for ev in (e for e in plan.events if e.kind == "surge"):
        inside, outside = _window(records, ev, set(ev.details["endpoints"]))
        inside, outside = baseline(inside), baseline(outside)
        hours_in = (ev.end_at - ev.start_at).total_seconds() / 3600
        hours_out = 7 * 24 - hours_in
        assert len(inside) / hours_in > len(outside) / hours_out  # more traffic ...
        p = _ratio(outside)
        tolerance = 4 * (p * (1 - p) / len(inside)) ** 0.5 + 0.01
        assert abs(_ratio(inside) - p) <= tolerance  # ... same share of failures


def test_chronic_profiles(week):
    plan, records, truth = week
    by_kind = {}
    for ev in plan.profiles:
        by_kind.setdefault(ev.kind, []).append(ev)
    flaky = by_kind["profile_flaky"][0]
    rows = [r for r in records if r["endpoint"] == flaky.target]
    assert 0.15 <= _ratio(rows) <= 0.35
    for kind, status in (("profile_gone", 410), ("profile_not_found", 404)):
        ev = by_kind[kind][0]
        rows = [r for r in records if r["endpoint"] == ev.target]
        assert rows and all(r["http_status"] == status for r in rows)
        assert all(truth[r["id"]][3] == ev.id for r in rows)
    for ev in by_kind["profile_sparse"]:
        rows = [r for r in records if r["endpoint"] == ev.target]
        assert 0 < len(rows) / 7 <= 12  # a few deliveries a day


def test_seasonality_has_busy_days_and_quiet_nights(week):
    plan, records, _truth = week
    biggest = plan.world.tenants[0]  # Zipf rank 1
    mine = [r for r in records if r["tenant"] == biggest.name]
    local_hour = Counter((r["last_attempt_at"].hour + round(biggest.tz_hours)) % 24 for r in mine)
    assert max(local_hour.values()) > 2.5 * min(local_hour.values())
    assert max(local_hour, key=local_hour.get) in range(11, 19)  # afternoon peak
    by_hour = Counter(r["last_attempt_at"].hour for r in records)  # platform, all zones
    assert max(by_hour.values()) > 1.5 * min(by_hour.values())
    by_day = Counter(r["last_attempt_at"].weekday() for r in records)
    assert min(by_day[d] for d in range(5)) > 1.3 * max(by_day[5], by_day[6])
