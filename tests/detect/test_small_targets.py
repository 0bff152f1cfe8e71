"""Small targets (issue 11): low-traffic endpoints, small tenants, small platforms.

Table-driven window counts for the decisions that made them slow: a third failure that
arrives 20 minutes after the first, a small tenant's few failures spread over its
endpoints, a burst whose first minutes ride on one busy endpoint, a platform too quiet
for five minutes to decide, and a burst that must end when its excess does.
"""

from __future__ import annotations

import pytest

from intel.detect.evaluate import evaluate
from intel.detect.signals import Baseline
from intel.settings import Settings
from tests.detect.builders import counts, normal_endpoint, snapshot, with_windows

GUARDED = Settings().detector
E1 = "https://a.small.example/hooks/1"
E2 = "https://b.small.example/hooks/2"
E3 = "https://c.other.example/hooks/3"
T = "small"


def opened(signals) -> set[str]:
    return {s.dedup_key for s in signals if s.opens}


def low_traffic(**windows) -> dict:
    """An endpoint with ~0.3 deliveries/min (100 in 5 h... 430 a day) at 1 % failures."""
    base = {"5m": counts(0, 1), "15m": counts(0, 4), "60m": counts(0, 18),
            "prev_1h": counts(0, 18), "prev_24h": counts(4, 430, {"timeout": 2, "http_503": 2})}
    return with_windows(base, **windows)


LOW_TRAFFIC = [
    # (id, windows, opens?)
    ("3 refused spread over 20 min: the 60-min window holds them",
     low_traffic(m5=counts(1, 1, "refused"), m15=counts(2, 3, "refused"),
                 m60=counts(3, 6, "refused")), True),
    ("3 of 3 within 15 min", low_traffic(m5=counts(1, 2, "http_503"),
                                         m15=counts(3, 3, "http_503"),
                                         m60=counts(3, 10, "http_503")), True),
    ("429s on 3 of 7 in an hour, the last one now",
     low_traffic(m5=counts(1, 1, "http_429"), m15=counts(2, 3, "http_429"),
                 m60=counts(3, 7, "http_429")), True),
    ("3 failures in the hour, none lately: gone", low_traffic(
        m5=counts(0, 1), m15=counts(0, 4), m60=counts(3, 18, "refused")), False),
    ("2 failures: not yet", low_traffic(m5=counts(1, 1, "refused"),
                                        m15=counts(2, 3, "refused"),
                                        m60=counts(2, 6, "refused")), False),
    ("usual failures: 3 of 18, the usual shapes", low_traffic(
        m5=counts(1, 1, "timeout"), m15=counts(1, 4, "timeout"),
        m60=counts(3, 18, {"timeout": 2, "http_503": 1})), False),
]


@pytest.mark.parametrize(("name", "windows", "opens"), LOW_TRAFFIC,
                         ids=[c[0] for c in LOW_TRAFFIC])
def test_low_traffic_endpoint_opens_on_its_third_failure(name, windows, opens):
    snap = snapshot(endpoints={E1: windows}, owners={E1: T})
    assert ("endpoint_spike|" + E1 in opened(evaluate(snap, GUARDED))) is opens


def small_tenant(failures: int) -> dict:
    return {"5m": counts(0, 2), "15m": counts(failures, failures, "http_auth"),
            "60m": counts(failures, 10, "http_auth"),
            "prev_1h": counts(0, 10), "prev_24h": counts(3, 240, {"timeout": 3})}


SPREAD = [
    # (id, failures on E1, on E2, what opens)
    ("3 on one endpoint: that endpoint", 3, 0, {"endpoint_spike|" + E1}),
    ("2 + 1: the tenant (no endpoint can be judged alone)", 2, 1, {"tenant_spike|small"}),
    ("1 + 1: not yet", 1, 1, set()),
]


@pytest.mark.parametrize(("name", "on_e1", "on_e2", "expected"), SPREAD,
                         ids=[c[0] for c in SPREAD])
def test_a_small_tenants_failures_spread_over_its_endpoints(name, on_e1, on_e2, expected):
    def ep(k: int) -> dict:
        return low_traffic(m5=counts(min(k, 1), 1, "http_auth"),
                           m15=counts(k, k, "http_auth"), m60=counts(k, 5, "http_auth"))

    tenant = small_tenant(on_e1 + on_e2)
    tenant["5m"] = counts(min(on_e1, 1) + min(on_e2, 1), 2, "http_auth")
    snap = snapshot(endpoints={E1: ep(on_e1), E2: ep(on_e2)}, tenants={T: tenant},
                    owners={E1: T, E2: T})
    assert opened(evaluate(snap, GUARDED)) == expected


def small_platform(c5: int, n5: int, c15: int, n15: int, base: tuple = (9, 720)) -> dict:
    """A platform of ~12 deliveries/min at 1.25 %."""
    return {
        "5m": counts(c5, n5, {"timeout": c5}), "15m": counts(c15, n15, {"timeout": c15}),
        "60m": counts(c15 + 6, 720, {"timeout": c15 + 6}),
        "prev_1h": counts(base[0], base[1], {"timeout": base[0]}),
        "prev_24h": counts(216, 17280, {"timeout": 216}),
    }


BURSTS = [
    # (id, platform, opens?)
    ("12 of 60 in 5 min", small_platform(12, 60, 14, 180), True),
    ("night: 5 min too quiet to decide, 15 min holds 14 of 80 and the last 5 are bad",
     small_platform(5, 25, 14, 80), True),
    ("15 min up but the last 5 min normal again", small_platform(0, 25, 14, 80), False),
    ("a bad minute: 4 of 60", small_platform(4, 60, 6, 180), False),
]


@pytest.mark.parametrize(("name", "platform", "opens"), BURSTS, ids=[c[0] for c in BURSTS])
def test_bursts_on_a_small_platform(name, platform, opens):
    assert ("burst|*" in opened(evaluate(snapshot(platform=platform), GUARDED))) is opens


def busy(failures: int) -> dict:
    """The platform's busiest endpoint (2.5/min) with ``failures`` in the last 5 min."""
    return with_windows(normal_endpoint(rate_per_5m=12, failure_ratio=0.0125),
                        m5=counts(failures, 12, "dns"), m15=counts(failures, 36, "dns"))


@pytest.mark.parametrize(
    ("rest_failures", "burst"),
    [
        (5, True),  # the rest of the platform is up too: a burst riding on the busiest
        (0, False),  # only the busy endpoint: its own outage
    ],
)
def test_a_burst_carried_by_its_busiest_endpoint(rest_failures, burst):
    """The rest of the platform is five tenants, each with at most one of the rest's
    failures: none of them spikes on its own, so only the platform's count can say the
    trouble is broad. (Were the rest one tenant with all five, that tenant would spike
    itself, and two spikes explaining the platform's excess are two local problems.)"""
    tenants = {
        T: {"5m": counts(7, 14, "dns"), "15m": counts(7, 40, "dns"),
            "60m": counts(8, 160, "dns"), "prev_1h": counts(2, 160),
            "prev_24h": counts(48, 3840, {"timeout": 48})},
    }
    for k in range(5):
        hit = int(k < rest_failures)
        tenants[f"other-{k}"] = {
            "5m": counts(hit, 9 + (k == 4), "dns"), "15m": counts(hit, 28, "dns"),
            "60m": counts(hit + 1, 112), "prev_1h": counts(1 + (k < 2), 112),
            "prev_24h": counts(34, 2688, {"timeout": 34})}
    platform = small_platform(7 + rest_failures, 60, 7 + rest_failures, 180)
    snap = snapshot(platform=platform, endpoints={E1: busy(7)}, tenants=tenants,
                    owners={E1: T})
    keys = opened(evaluate(snap, GUARDED))
    assert ("burst|*" in keys) is burst
    assert ("endpoint_spike|" + E1 in keys) is not burst  # folded into the burst


@pytest.mark.parametrize(
    ("c5", "n5", "abnormal"),
    [
        (30, 140, True),  # still bursting
        (3, 140, False),  # 2.1 % against a frozen 1.2 %: the night's mix, not the burst
    ],
)
def test_a_burst_ends_with_its_excess(c5, n5, abnormal):
    platform = small_platform(c5, n5, c5 * 3, n5 * 3, base=(9, 720))
    frozen = {"burst|*": Baseline(ratio=0.012, rate=0.0025, window="5m")}
    signal = next(s for s in evaluate(snapshot(platform=platform), GUARDED, frozen)
                  if s.type == "burst")
    assert signal.active and signal.abnormal is abnormal


def test_spikes_in_three_tenants_at_once_are_a_burst():
    def spiking(failures: int) -> dict:
        return with_windows(normal_endpoint(rate_per_5m=10), m5=counts(failures, 10, "dns"),
                            m15=counts(failures, 30, "dns"))

    endpoints = {E1: spiking(4), E2: spiking(4), E3: spiking(4)}
    owners = {E1: "t1", E2: "t2", E3: "t3"}
    snap = snapshot(platform=small_platform(13, 60, 14, 180), endpoints=endpoints,
                    owners=owners)
    signals = evaluate(snap, GUARDED)
    assert opened(signals) == {"burst|*"}  # one incident, not three spikes and a burst
