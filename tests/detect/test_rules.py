"""Each rule on table-driven window counts: what fires, what must not, and why."""

from __future__ import annotations

import pytest

from intel.detect.evaluate import evaluate
from intel.detect.rules import RULES, format_ratio, headline
from intel.settings import Settings
from tests.detect.builders import counts, normal_endpoint, snapshot, with_windows

GUARDED = Settings().detector
LITERAL = GUARDED.model_copy(update={"mode": "literal"})
E1 = "https://api.customer.example/webhooks/billing"
E2 = "https://hooks.customer.example/orders"
T = "customer"


def opened(signals) -> set[str]:
    return {s.dedup_key for s in signals if s.opens}


def endpoint_case(**windows) -> dict:
    return {E1: with_windows(normal_endpoint(), **windows)}


SPIKE_CASES = [
    # (id, endpoint windows, guarded opens?, literal opens?)
    ("outage: 3 refused in 3 deliveries", endpoint_case(m5=counts(3, 3, "refused")), True, True),
    ("outage at night: 3 in 60 min, quiet endpoint",
     endpoint_case(m5=counts(1, 1, "refused"), m15=counts(2, 2, "refused"),
                   m60=counts(3, 4, "refused")), True, False),
    ("one failure against a baseline of 0.05",
     {E1: with_windows(normal_endpoint(failure_ratio=0.005), m5=counts(1, 10))}, False, True),
    ("two failures", endpoint_case(m5=counts(2, 2, "refused")), False, True),
    ("surge: 10x traffic, same 1 % ratio", endpoint_case(m5=counts(4, 300, "timeout")), False,
     True),
    ("mixed noise: 3 failures of 40, usual shapes",
     endpoint_case(m5=counts(3, 40, {"timeout": 1, "http_503": 1, "reset": 1})), False, True),
    ("stale: the 60-min window alone, nothing recent, busy endpoint",
     endpoint_case(m5=counts(0, 10), m15=counts(0, 30), m60=counts(20, 120, "http_503")),
     False, False),
    ("rate-limit storm: 75 % 429", endpoint_case(m5=counts(8, 10, "http_429")), True, True),
]


@pytest.mark.parametrize(("name", "endpoints", "guarded", "literal"), SPIKE_CASES,
                         ids=[c[0] for c in SPIKE_CASES])
def test_endpoint_spike_rule(name, endpoints, guarded, literal):
    snap = snapshot(endpoints=endpoints, tenants={}, owners={E1: T})
    assert ("endpoint_spike|" + E1 in opened(evaluate(snap, GUARDED))) is guarded
    assert ("endpoint_spike|" + E1 in opened(evaluate(snap, LITERAL))) is literal


def _sparse(base_total: int, base_failures: int) -> dict:
    return {
        "5m": counts(1, 1, "timeout"), "15m": counts(2, 2, {"timeout": 1, "reset": 1}),
        "60m": counts(3, 3, {"timeout": 1, "reset": 1, "http_500": 1}),
        "prev_24h": counts(base_failures, base_total, {"timeout": base_failures}),
    }


@pytest.mark.parametrize(
    ("base_total", "base_failures", "fires"),
    [
        (20, 1, False),  # a sparse endpoint: 3 odd failures say little about it
        (5000, 1, True),  # the same three against a long, clean history
    ],
)
def test_short_baselines_are_judged_by_their_uncertainty(base_total, base_failures, fires):
    snap = snapshot(endpoints={E1: _sparse(base_total, base_failures)}, owners={E1: T})
    assert ("endpoint_spike|" + E1 in opened(evaluate(snap, GUARDED))) is fires


@pytest.mark.parametrize(
    ("failure_ratio", "now", "fires"),
    [
        (0.25, counts(5, 10, "http_503"), False),  # a flaky endpoint having a bad minute
        (0.25, counts(40, 40, "http_503"), True),  # ... going completely down
        (0.98, counts(10, 10, "http_gone"), False),  # a removed endpoint (410) stays removed
    ],
)
def test_chronic_endpoints(failure_ratio, now, fires):
    ep = with_windows(normal_endpoint(rate_per_5m=40, failure_ratio=failure_ratio), m5=now)
    snap = snapshot(endpoints={E1: ep}, owners={E1: T})
    assert ("endpoint_spike|" + E1 in opened(evaluate(snap, GUARDED))) is fires


def test_no_incident_without_history():
    snap = snapshot(endpoints=endpoint_case(m5=counts(3, 3, "refused")), owners={E1: T},
                    span={"5m": 300, "15m": 900, "60m": 3600, "prev_1h": 600,
                          "prev_24h": 600})
    assert not opened(evaluate(snap, GUARDED))


def _tenant(**windows) -> dict:
    base = {
        "5m": counts(0, 40), "15m": counts(0, 120), "60m": counts(0, 480),
        "prev_1h": counts(5, 480), "prev_24h": counts(115, 11520, {"timeout": 115}),
    }
    return with_windows(base, **windows)


def test_tenant_spike_over_several_endpoints_folds_them():
    bad = {"5m": counts(6, 6, "http_auth")}
    endpoints = {E1: with_windows(normal_endpoint(), m5=bad["5m"]),
                 E2: with_windows(normal_endpoint(), m5=bad["5m"])}
    tenants = {T: _tenant(m5=counts(12, 40, "http_auth"))}
    signals = evaluate(snapshot(endpoints=endpoints, tenants=tenants,
                                owners={E1: T, E2: T}), GUARDED)
    assert opened(signals) == {"tenant_spike|customer"}
    folded = {s.dedup_key: s.inhibited_by for s in signals if s.type == "endpoint_spike"}
    assert set(folded.values()) == {"tenant_spike|customer"}


def test_tenant_spike_explained_by_one_endpoint_is_that_endpoint():
    endpoints = {E1: with_windows(normal_endpoint(), m5=counts(6, 6, "refused")),
                 E2: normal_endpoint()}
    tenants = {T: _tenant(m5=counts(6, 40, "refused"))}
    signals = evaluate(snapshot(endpoints=endpoints, tenants=tenants,
                                owners={E1: T, E2: T}), GUARDED)
    assert opened(signals) == {"endpoint_spike|" + E1}
    tenant = next(s for s in signals if s.type == "tenant_spike")
    assert tenant.inhibited_by == "endpoint_spike|" + E1


def _platform(c5: int, n5: int = 500, new_shape: str = "dns") -> dict:
    return {
        "5m": counts(c5, n5, {"timeout": c5 // 2, new_shape: c5 - c5 // 2}),
        "15m": counts(c5 + 20, 1500, {"timeout": c5 // 2 + 10, "dns": c5 - c5 // 2 + 10}),
        "60m": counts(c5 + 110, 6000, {"timeout": 60, "dns": c5 + 50}),
        "prev_1h": counts(120, 6000, {"timeout": 60, "http_503": 60}),
        "prev_24h": counts(2880, 144000, {"timeout": 1440, "http_503": 1440}),
    }


@pytest.mark.parametrize(
    ("c5", "shape", "guarded", "literal"),
    [
        (10, "http_503", False, False),  # normal: 2 %, the usual shapes
        (16, "http_503", False, True),  # +60 %: the seed's burst, but noise for 500 deliveries
        (60, "http_503", True, True),  # 12 %: a burst
        (16, "dns", False, True),  # platform-wide the counts decide, not a new shape
        (40, "dns", True, True),
    ],
)
def test_burst_rule(c5, shape, guarded, literal):
    snap = snapshot(platform=_platform(c5, new_shape=shape))
    assert ("burst|*" in opened(evaluate(snap, GUARDED))) is guarded
    assert ("burst|*" in opened(evaluate(snap, LITERAL))) is literal


def test_burst_inhibits_the_spikes_it_explains():
    # the burst's 50 % failure ratio everywhere: each endpoint at ~50 % is explained
    endpoints = {f"https://e{i}.example/h": with_windows(
        normal_endpoint(), m5=counts(5, 10, "dns")) for i in range(6)}
    owners = {url: f"t{i % 3}" for i, url in enumerate(endpoints)}
    snap = snapshot(platform=_platform(250), endpoints=endpoints, owners=owners)
    signals = evaluate(snap, GUARDED)
    assert opened(signals) == {"burst|*"}
    assert all(s.inhibited_by == "burst|*" for s in signals
               if s.type == "endpoint_spike" and s.firing)


def test_a_big_endpoint_outage_is_not_a_burst():
    # one endpoint carries the whole platform excess: it opens, the "burst" does not
    endpoints = {E1: with_windows(normal_endpoint(rate_per_5m=100), m5=counts(100, 100,
                                                                            "refused"))}
    tenants = {T: _tenant(m5=counts(100, 140, "refused"))}
    platform = _platform(110)
    platform["5m"] = counts(110, 600, {"refused": 100, "timeout": 10})
    snap = snapshot(platform=platform, endpoints=endpoints, tenants=tenants, owners={E1: T})
    assert opened(evaluate(snap, GUARDED)) == {"endpoint_spike|" + E1}


@pytest.mark.parametrize(
    ("now", "severity"),
    [
        (counts(3, 3, "refused"), "warning"),  # too few failures to be critical
        (counts(12, 12, "refused"), "critical"),  # most deliveries fail
        (counts(12, 60, "http_503"), "warning"),  # 20 % vs 1 %: 20x, under 3 x the 10x rule
        (counts(20, 60, "http_503"), "critical"),  # 33 %: 33x, over 3 x the 10x rule
    ],
)
def test_severity_rule(now, severity):
    snap = snapshot(endpoints=endpoint_case(m5=now), owners={E1: T})
    signal = next(s for s in evaluate(snap, GUARDED) if s.type == "endpoint_spike")
    assert signal.severity == severity


def test_active_incident_stays_abnormal_against_its_frozen_baseline():
    from intel.detect.signals import Baseline

    # the outage has lasted hours: the live 24-h baseline is now high, the frozen one not
    ep = with_windows(normal_endpoint(failure_ratio=0.3), m5=counts(10, 10, "refused"))
    snap = snapshot(endpoints={E1: ep}, owners={E1: T})
    frozen = {"endpoint_spike|" + E1: Baseline(ratio=0.01, rate=0.0001, window="5m")}
    signal = next(s for s in evaluate(snap, GUARDED, frozen) if s.type == "endpoint_spike")
    assert signal.active and signal.abnormal and not signal.opens
    recovered = snapshot(endpoints={E1: with_windows(ep, m5=counts(0, 10), m15=counts(0, 30),
                                                        m60=counts(0, 120))}, owners={E1: T})
    signal = next(s for s in evaluate(recovered, GUARDED, frozen) if s.type == "endpoint_spike")
    assert signal.active and not signal.abnormal


def test_rules_table_describes_itself():
    for rule in RULES:
        text = rule.describe(GUARDED)
        assert "{" not in text and rule.literal
    assert headline("endpoint_spike", E1, 45, 300, 15.0) == (
        "45 failures to api.customer.example/webhooks/billing in 5 min — 15x normal")
    assert headline("burst", "*", 45, 300, 1.6) == (
        "45 failures platform-wide in 5 min — 1.6x normal")
    assert format_ratio(float("inf")) == "100x+"


def test_leftovers_of_a_resolved_incident_do_not_reopen():
    from datetime import timedelta

    from tests.detect.builders import AT

    quiet_ep = {"5m": counts(1, 1, "http_auth"), "15m": counts(2, 2, "http_auth"),
                "60m": counts(6, 6, "http_auth"),
                "prev_24h": counts(2, 2000, {"timeout": 2})}
    snap = snapshot(endpoints={E1: quiet_ep}, owners={E1: T})
    assert opened(evaluate(snap, GUARDED)) == {"endpoint_spike|" + E1}
    # its tenant's incident resolved 10 min ago: those failures are its leftovers
    recent = {"tenant_spike|customer": AT - timedelta(minutes=10)}
    signal = next(s for s in evaluate(snap, GUARDED, None, recent)
                  if s.type == "endpoint_spike")
    assert signal.inhibited_by == "tenant_spike|customer"
    # resolved before the window started: a new problem
    recent = {"tenant_spike|customer": AT - timedelta(minutes=90)}
    assert opened(evaluate(snap, GUARDED, None, recent)) == {"endpoint_spike|" + E1}
