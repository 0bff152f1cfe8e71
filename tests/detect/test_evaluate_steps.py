"""The steps of one rule's decision, each on its own: the baseline, the literal and the
guarded masks of a window, and the choices the signals are built on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from intel.detect.baseline import (
    RuleBaseline,
    baseline_ratio,
    family_prior,
    platform_ratio,
    rule_baseline,
)
from intel.detect.evaluate import emitted, failure_multiple, fires_on, reported_window
from intel.detect.families import FAMILY_INDEX, N_FAMILIES
from intel.detect.masks import ShorterWindow, guarded_holds, guarded_mask, literal_mask
from intel.detect.rules import RULES_BY_TYPE
from intel.detect.signals import Baseline
from intel.settings import Settings
from tests.detect.builders import counts, normal_endpoint, scope, snapshot, with_windows

SETTINGS = Settings().detector
BURST = RULES_BY_TYPE["burst"]
ENDPOINT = RULES_BY_TYPE["endpoint_spike"]
TENANT = RULES_BY_TYPE["tenant_spike"]
E1 = "https://api.customer.example/webhooks/billing"


def base_of(p0, *, rate=None, active=None, frozen_ratio=None, frozen_rate=None,
            frozen_window=None, warm=True) -> RuleBaseline:
    """A baseline of hand-picked arrays (one entry per key)."""
    p0 = np.asarray(p0, dtype=np.float64)
    k = len(p0)
    rate = np.zeros(k) if rate is None else np.asarray(rate, dtype=np.float64)
    is_active = np.zeros(k, bool) if active is None else np.asarray(active, dtype=bool)
    frozen_ratio = p0.copy() if frozen_ratio is None else np.asarray(frozen_ratio, np.float64)
    frozen_rate = rate.copy() if frozen_rate is None else np.asarray(frozen_rate, np.float64)
    return RuleBaseline(
        fb=np.zeros(k), nb=np.full(k, 1e6), p0=p0, conc=np.full(k, np.inf), rate=rate,
        warm=warm, fam_prior=np.zeros((k, N_FAMILIES)), active=is_active,
        frozen_ratio=frozen_ratio, frozen_rate=frozen_rate,
        frozen_window=dict(frozen_window or {}),
        ratio_used=np.where(is_active, frozen_ratio, p0),
        rate_used=np.where(is_active, frozen_rate, rate),
    )


# --- the baseline -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("fb", "nb", "p_ref", "weight", "expected"),
    [
        (0, 0, 0.02, 10.0, 0.02),  # no history: the platform's ratio
        (10, 1000, 0.02, 10.0, 10.2 / 1010),  # plenty: barely moved by the prior
        (1, 2, 0.02, 10.0, 1.2 / 12),  # one failure in two: leans on the platform
        (10, 1000, 0.02, 0.0, 0.01),  # no prior: its own ratio
        (0, 0, 0.02, 0.0, 0.02),  # no prior, no history: still the platform's
    ],
)
def test_baseline_ratio(fb, nb, p_ref, weight, expected):
    got = baseline_ratio(np.array([fb], float), np.array([nb], float), p_ref, weight)
    assert got[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ({"*": {"prev_1h": counts(10, 500)}}, 10.5 / 501),
        ({"*": {}}, 0.5),  # nothing yet: a cautious positive prior, never zero
        ({}, 0.5),  # no platform row at all
    ],
)
def test_platform_ratio(platform, expected):
    assert platform_ratio(scope(platform), "prev_1h") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("platform", "beta", "commonest"),
    [
        ({"*": {"prev_24h": counts(90, 1000, {"timeout": 80, "http_503": 10})}}, 10.0,
         "timeout"),
        ({"*": {"prev_24h": counts(9, 1000, {"http_429": 9})}}, 3.0, "http_429"),
        ({}, 10.0, None),  # no platform: every family alike
        ({"*": {"prev_24h": counts(9, 1000, {"http_429": 9})}}, 0.0, None),  # no prior
    ],
)
def test_family_prior_is_beta_failures_of_the_platform_mix(platform, beta, commonest):
    prior = family_prior(scope(platform), "prev_24h", 2, beta)
    assert prior.shape == (2, N_FAMILIES)
    assert np.all(prior[:, 0] == 0)  # "delivered" is no failure shape
    assert prior.sum(axis=1) == pytest.approx([beta, beta])
    if commonest is None:
        assert np.allclose(prior[0, 1:], prior[0, 1])
    else:
        assert int(np.argmax(prior[0])) == FAMILY_INDEX[commonest]


@pytest.mark.parametrize(
    ("active", "span", "is_active", "ratio_used", "warm"),
    [
        ({}, None, False, None, True),
        ({f"endpoint_spike|{E1}": Baseline(ratio=0.001, rate=0.0, window="5m")}, None, True,
         0.001, True),
        ({f"tenant_spike|{E1}": Baseline(ratio=0.001, rate=0.0, window="5m")}, None, False,
         None, True),  # another rule's incident does not freeze this one
        ({}, {"prev_24h": 3600}, False, None, False),  # one hour of history: too little
    ],
)
def test_rule_baseline_freezes_only_this_rule_s_incidents(active, span, is_active,
                                                         ratio_used, warm):
    spans = None if span is None else {"5m": 300, "15m": 900, "60m": 3600,
                                        "prev_1h": 3600, **span}
    snap = snapshot(endpoints={E1: normal_endpoint()}, span=spans)
    base = rule_baseline(ENDPOINT, snap, SETTINGS, active)
    assert bool(base.active[0]) is is_active
    assert base.warm is warm
    live = base.p0[0]
    assert base.ratio_used[0] == pytest.approx(live if ratio_used is None else ratio_used)
    assert bool(base.own_window("5m")[0]) is is_active


# --- the literal mask -------------------------------------------------------------------

LITERAL_CASES = [
    # (id, failures, live rate/s, active, frozen rate, fires here, warm, fire, abnormal)
    ("above 1.5x the baseline per 5 min", 4, 2 / 300, False, None, True, True, True, False),
    ("at 1.5x exactly: not above", 3, 2 / 300, False, None, True, True, False, False),
    ("not a window it fires on", 4, 2 / 300, False, None, False, True, False, False),
    ("baseline too short", 4, 2 / 300, False, None, True, False, False, False),
    ("open, above its frozen rate", 4, 9 / 300, True, 2 / 300, True, True, False, True),
    ("open, back under its frozen rate", 3, 2 / 300, True, 2 / 300, True, True, False,
     False),
]


@pytest.mark.parametrize(
    ("name", "c", "rate", "active", "frozen_rate", "fires_here", "warm", "fire", "abnormal"),
    LITERAL_CASES, ids=[case[0] for case in LITERAL_CASES])
def test_literal_mask(name, c, rate, active, frozen_rate, fires_here, warm, fire, abnormal):
    base = base_of([0.01], rate=[rate], active=[active],
                   frozen_rate=None if frozen_rate is None else [frozen_rate], warm=warm)
    verdict = literal_mask(np.array([c], float), 300, 1.5, base, fires_here, True)
    assert bool(verdict.fire[0]) is fire
    assert bool(verdict.elevated[0]) is fire
    assert bool(verdict.abnormal[0]) is abnormal
    assert math.isnan(verdict.pvals[0])


# --- the guarded mask -------------------------------------------------------------------

GUARDED_CASES = [
    # (id, endpoint's 5-min window, the shorter window still bad?, opens?, next is recent?)
    ("an outage: 3 refused of 3", counts(3, 3, "refused"), True, True, True),
    ("two failures: under the minimum", counts(2, 2, "refused"), True, False, True),
    ("a surge at its usual ratio", counts(4, 300, "timeout"), True, False, False),
    ("an outage, but the shorter window is over", counts(3, 3, "refused"), False, False,
     True),
    ("nothing", counts(0, 10), True, False, False),
]


@pytest.mark.parametrize(("name", "window", "recent", "opens", "next_recent"), GUARDED_CASES,
                         ids=[case[0] for case in GUARDED_CASES])
def test_guarded_mask_opens(name, window, recent, opens, next_recent):
    snap = snapshot(endpoints={E1: with_windows(normal_endpoint(), m5=window)})
    counts_ = snap.scope("endpoint")
    base = rule_baseline(ENDPOINT, snap, SETTINGS, {})
    c = counts_.fail["5m"].astype(float)
    n = np.maximum(counts_.total["5m"].astype(float), c)
    shorter = ShorterWindow(recent=np.array([recent]), quiet=np.array([True]),
                            held=np.array([True]))
    verdict, after = guarded_mask(ENDPOINT, "5m", counts_, c, n, base,
                                  ENDPOINT.thresholds(SETTINGS), SETTINGS, True, True, shorter)
    assert bool(verdict.fire[0]) is opens
    assert bool(after.recent[0]) is next_recent
    assert bool(after.quiet[0]) is bool(n[0] < 3)
    if verdict.fire[0]:
        assert verdict.pvals[0] <= SETTINGS.p_value


# frozen ratio 1 %, the endpoint's multiple 10: opens at 10 %, clears under 5.5 %
HOLD_CASES = [
    # (id, rule, failures of 100, own window?, shorter quiet?, shorter held?, holds?)
    ("spike above the clearing ratio", ENDPOINT, 6, True, False, False, True),
    ("spike under it", ENDPOINT, 5, True, False, False, False),
    ("spike on a longer window, busy target", ENDPOINT, 6, False, False, True, False),
    ("spike on a longer window, quiet target", ENDPOINT, 6, False, True, False, True),
    # the burst's multiple 1.5: clears under 1.25 %, and under half its 5 excess failures
    ("burst with excess", BURST, 9, False, False, True, True),
    ("burst over the ratio, excess too small", BURST, 3, False, False, True, False),
    ("burst, the shorter window let go", BURST, 9, False, False, False, False),
    ("burst on its own window", BURST, 9, True, False, False, True),
]


@pytest.mark.parametrize(("name", "rule", "c", "own", "quiet", "held", "holds"), HOLD_CASES,
                         ids=[case[0] for case in HOLD_CASES])
def test_guarded_holds(name, rule, c, own, quiet, held, holds):
    base = base_of([0.01], active=[True], frozen_window={0: "15m" if own else "5m"})
    shorter = ShorterWindow(recent=np.array([True]), quiet=np.array([quiet]),
                            held=np.array([held]))
    n = np.array([100.0])
    abnormal = guarded_holds(rule, "15m", np.array([float(c)]), n, n * base.ratio_used, base,
                             rule.thresholds(SETTINGS), SETTINGS, True, shorter)
    assert bool(abnormal[0]) is holds


def test_guarded_holds_nothing_that_is_not_open():
    base = base_of([0.01])
    shorter = ShorterWindow.first(1)
    abnormal = guarded_holds(ENDPOINT, "5m", np.array([90.0]), np.array([100.0]),
                             np.array([1.0]), base, ENDPOINT.thresholds(SETTINGS), SETTINGS,
                             True, shorter)
    assert not abnormal[0]


# --- the signals ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("rule", "window", "literal", "fires"),
    [
        (ENDPOINT, "5m", False, True),
        (ENDPOINT, "60m", False, True),
        (ENDPOINT, "60m", True, False),  # the seed looked at 5 min only
        (BURST, "15m", False, True),
        (BURST, "60m", False, False),
        (BURST, "15m", True, False),
    ],
)
def test_fires_on(rule, window, literal, fires):
    assert fires_on(rule, window, literal) is fires


@pytest.mark.parametrize(
    ("rule", "fire", "active", "failures_5m", "expected"),
    [
        (ENDPOINT, [1, 0, 0], [0, 1, 0], [9, 9, 9], [1, 1, 0]),
        (BURST, [0], [0], [0], [1]),  # the platform's signal is always there
        (TENANT, [0, 0, 1], [0, 0, 0], [3, 2, 0], [1, 0, 1]),  # 3 failures: may be raised
    ],
)
def test_emitted(rule, fire, active, failures_5m, expected):
    failures = {w: np.zeros(len(fire)) for w in rule.windows}
    failures["5m"] = np.array(failures_5m, dtype=float)
    got = emitted(rule, np.array(fire, bool), np.array(active, bool), failures, 3)
    assert got.tolist() == [bool(e) for e in expected]


@pytest.mark.parametrize(
    ("rule", "active", "frozen", "first_fire", "window"),
    [
        (ENDPOINT, True, "60m", 0, "60m"),  # an open incident keeps its own window
        (ENDPOINT, False, "60m", 1, "15m"),  # not open: the first window it fires on
        (ENDPOINT, True, "prev_24h", 2, "60m"),  # not a short window: ignored
        (ENDPOINT, False, None, -1, "5m"),  # fires nowhere: the shortest
        (BURST, False, None, 1, "15m"),
    ],
)
def test_reported_window(rule, active, frozen, first_fire, window):
    assert reported_window(rule, active, frozen, first_fire) == window


@pytest.mark.parametrize(
    ("failures", "expected", "multiple"),
    [(10.0, 2.0, 5.0), (3.0, 0.0, math.inf), (0.0, 0.0, 0.0), (1.0, 1e-12, math.inf)],
)
def test_failure_multiple(failures, expected, multiple):
    assert failure_multiple(failures, expected) == multiple
