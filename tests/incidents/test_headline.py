"""An incident's headline at its peak, now, recovering and resolved (issue 11).

Never "0 failures … 0.0x normal": the figures are the peak's; "now" is a count.
"""

from __future__ import annotations

import importlib.util
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from intel.detect.signals import Signal
from intel.incidents.headline import incident_headline, incident_state, peak_ratio
from intel.incidents.lifecycle import advance
from intel.incidents.queries import incident_body

EP = "https://api.customer.example/webhooks"
CRED = "https://user:secret@api.customer.example/webhooks"
T0 = datetime(2026, 11, 5, 16, 0, tzinfo=UTC)

HEADLINES = [
    # (id, type, target, state, peak, window_s, ratio, now, expected)
    ("at its peak", "endpoint_spike", EP, "active", 45, 300, 15.0, 45,
     "45 failures to api.customer.example/webhooks in 5 min — 15x normal"),
    ("past its peak, still abnormal", "endpoint_spike", EP, "active", 45, 300, 15.0, 12,
     "api.customer.example/webhooks: peak 45 failures in 5 min, 15x normal; now 12"),
    ("recovering", "endpoint_spike", EP, "recovering", 45, 300, 15.0, 3,
     "api.customer.example/webhooks recovering: peak 45 failures in 5 min, 15x normal; now 3"),
    ("recovering with nothing now", "endpoint_spike", EP, "recovering", 45, 300, 15.0, 0,
     "api.customer.example/webhooks recovering: peak 45 failures in 5 min, 15x normal; now 0"),
    ("resolved: no 'now'", "endpoint_spike", EP, "resolved", 45, 300, 15.0, 0,
     "api.customer.example/webhooks resolved: peak 45 failures in 5 min, 15x normal"),
    ("a burst past its peak", "burst", "*", "active", 220, 900, 4.2, 150,
     "Platform-wide burst: peak 220 failures in 15 min, 4.2x normal; now 150"),
    ("a tenant recovering, one failure", "tenant_spike", "acme", "recovering", 1, 3600, 8.0,
     1, "Tenant acme recovering: peak 1 failure in 1 h, 8.0x normal; now 1"),
    ("nothing expected: 100x+", "endpoint_spike", EP, "active", 5, 300, math.inf, 5,
     "5 failures to api.customer.example/webhooks in 5 min — 100x+ normal"),
    ("ratio unknown (stored before peaks)", "endpoint_spike", EP, "active", 12, 300, None, 4,
     "api.customer.example/webhooks: peak 12 failures in 5 min; now 4"),
    ("window unknown: type and target", "endpoint_spike", EP, "active", 12, None, None, 4,
     "endpoint_spike on https://api.customer.example/webhooks: peak 12 failures; now 4"),
    ("window unknown, resolved", "tenant_spike", "acme", "resolved", 7, None, 3.0, 0,
     "tenant_spike on acme resolved: peak 7 failures, 3.0x normal"),
    ("no failures known: the state in words", "endpoint_spike", EP, "active", 0, 300, None,
     0, "api.customer.example/webhooks: anomaly detected"),
    ("no failures known, recovering", "burst", "*", "recovering", 0, 300, None, 0,
     "Platform-wide burst: recovering"),
    ("credentials never shown", "endpoint_spike", CRED, "recovering", 9, 300, 12.0, 2,
     "api.customer.example/webhooks recovering: peak 9 failures in 5 min, 12x normal; now 2"),
    ("credentials never shown, window unknown", "endpoint_spike", CRED, "active", 9, None,
     None, 2, "endpoint_spike on https://***@api.customer.example/webhooks: peak 9 failures; "
     "now 2"),
]


@pytest.mark.parametrize(
    ("name", "kind", "target", "state", "peak", "window_s", "ratio", "now", "expected"),
    HEADLINES, ids=[h[0] for h in HEADLINES])
def test_headline(name, kind, target, state, peak, window_s, ratio, now, expected):
    text = incident_headline(kind, target, state=state, peak=peak, window_s=window_s,
                             peak_ratio=ratio, now=now)
    assert text == expected
    assert not re.search(r"\b0 failures|\b0\.0x", text)
    assert "secret" not in text


def test_unknown_state_is_refused():
    with pytest.raises(ValueError, match="unknown incident state 'open'"):
        incident_headline("burst", "*", state="open", peak=3, window_s=300, peak_ratio=2.0,
                          now=1)


@pytest.mark.parametrize(("status", "normal_since", "state"), [
    ("active", None, "active"),
    ("active", T0, "recovering"),
    ("resolved", T0, "resolved"),
    ("resolved", None, "resolved"),
])
def test_state(status, normal_since, state):
    assert incident_state(status, normal_since) == state


@pytest.mark.parametrize(("peak", "baseline", "ratio"), [
    (45, 3.0, 15.0), (5, 0.0, math.inf), (0, 0.0, None), (4, None, None),
])
def test_peak_ratio(peak, baseline, ratio):
    assert peak_ratio(peak, baseline) == ratio


def _signal(failures: int, *, abnormal: bool = True, window: str = "5m",
            window_s: int = 300, expected: float = 3.0) -> Signal:
    return Signal(
        type="endpoint_spike", target=EP, window=window, window_s=window_s,
        failures=failures, total=max(failures, 10), expected=expected,
        ratio=failures / expected, p_value=1e-9, base_ratio=0.01, base_rate=0.0001,
        base_failures=10, base_total=1000, firing=abnormal, abnormal=abnormal,
        severity="critical" if failures >= 10 else "warning", excess=failures - expected)


def test_an_incidents_headline_through_its_life():
    """Opened at 9, peaks at 45, falls to 12, recovers at 0 (the tick that used to read
    "0 failures … 0.0x normal"), resolves — the API's ``headline`` says the same."""
    ticks = [(_signal(9), "9 failures to api.customer.example/webhooks in 5 min — 3.0x normal"),
             (_signal(45), "45 failures to api.customer.example/webhooks in 5 min — 15x normal"),
             (_signal(12), "api.customer.example/webhooks: peak 45 failures in 5 min, 15x "
                           "normal; now 12"),
             (_signal(0, abnormal=False, expected=1.0),
              "api.customer.example/webhooks recovering: peak 45 failures in 5 min, 15x "
              "normal; now 0"),
             (None, "api.customer.example/webhooks resolved: peak 45 failures in 5 min, 15x "
                    "normal")]
    active: dict = {}
    for k, (signal, expected) in enumerate(ticks):
        step = advance(active, [signal] if signal else [], T0 + timedelta(minutes=k), 60)
        (incident,) = [t.incident for t in step.transitions][-1:]
        assert incident.headline == expected
        assert incident_body(incident, T0 + timedelta(minutes=k))["headline"] == expected
        active = step.active
    assert incident.state == "resolved" and incident.peak_failures == 45
    assert incident.peak_at == T0 + timedelta(minutes=1)


def test_a_peak_in_a_longer_window_keeps_its_window():
    """The peak's window is the one its count was taken in: 60 min for a quiet target."""
    step = advance({}, [_signal(3, window="60m", window_s=3600, expected=0.2)], T0, 300)
    step = advance(step.active, [replace(_signal(2, window="60m", window_s=3600,
                                                 expected=0.2))], T0 + timedelta(minutes=1),
                   300)
    (incident,) = step.active.values()
    assert incident.headline == ("api.customer.example/webhooks: peak 3 failures in 1 h, "
                                 "15x normal; now 2")


def _migration():
    path = (Path(__file__).resolve().parents[2] / "intel" / "store" / "migrations" / "versions"
            / "0008_incident_peaks.py")
    spec = importlib.util.spec_from_file_location("migration_0008", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BACKFILL = [
    # (id, peak, details, expected columns)
    ("opened at its peak", 9, {"opened": {"window_s": 300, "failures": 9, "expected": 0.6},
                               "last": {"window_s": 300, "failures": 2, "expected": 0.5}},
     {"peak_window_s": 300, "peak_at": T0, "peak_baseline": 0.6}),
    ("the last tick was its peak", 20, {"opened": {"window_s": 900, "failures": 4},
                                        "last": {"window_s": 900, "failures": 20,
                                                 "expected": 2.0}},
     {"peak_window_s": 900, "peak_at": T0 + timedelta(minutes=9), "peak_baseline": 2.0}),
    ("peak between them: window only", 30, {"opened": {"window_s": 300, "failures": 5,
                                                       "expected": 1.0},
                                            "last": {"window_s": 300, "failures": 0,
                                                     "expected": 1.0}},
     {"peak_window_s": 300}),
    ("no facts", 5, {}, {}),
]


@pytest.mark.parametrize(("name", "peak", "details", "expected"), BACKFILL,
                         ids=[b[0] for b in BACKFILL])
def test_migration_backfills_what_the_facts_tell(name, peak, details, expected):
    values = _migration().backfill(peak, T0, T0 + timedelta(minutes=9), details)
    assert values == expected
