"""Each rule's multiple and minimum count come from one table of typed settings."""

from __future__ import annotations

import pytest

from intel.detect.rules import RULES, RULES_BY_TYPE
from intel.settings import Settings
from intel.settings.detector import RuleThresholds

DEFAULTS = Settings().detector

THRESHOLD_CASES = [
    # (rule type, settings changed, expected thresholds)
    ("burst", {}, RuleThresholds(multiple=1.5, min_failures=10)),
    ("endpoint_spike", {}, RuleThresholds(multiple=10.0, min_failures=3)),
    ("tenant_spike", {}, RuleThresholds(multiple=5.0, min_failures=3)),
    ("burst", {"burst_ratio": 2.5, "burst_min_failures": 4},
     RuleThresholds(multiple=2.5, min_failures=4)),
    # the spikes share min_failures; the burst has its own
    ("endpoint_spike", {"min_failures": 7}, RuleThresholds(multiple=10.0, min_failures=7)),
    ("tenant_spike", {"min_failures": 7, "tenant_spike_ratio": 3.0},
     RuleThresholds(multiple=3.0, min_failures=7)),
    ("burst", {"min_failures": 7}, RuleThresholds(multiple=1.5, min_failures=10)),
    ("endpoint_spike", {"burst_min_failures": 2, "tenant_spike_ratio": 2.0},
     RuleThresholds(multiple=10.0, min_failures=3)),
]


@pytest.mark.parametrize(("rule_type", "update", "expected"), THRESHOLD_CASES)
def test_each_rule_reads_its_own_settings(rule_type, update, expected):
    settings = DEFAULTS.model_copy(update=update)
    assert settings.thresholds(rule_type) == expected
    assert RULES_BY_TYPE[rule_type].thresholds(settings) == expected


def test_every_rule_has_thresholds_of_the_declared_types():
    for rule in RULES:
        limits = rule.thresholds(DEFAULTS)
        assert type(limits.multiple) is float and type(limits.min_failures) is int


def test_an_unknown_rule_is_named():
    with pytest.raises(KeyError, match="'nope'"):
        DEFAULTS.thresholds("nope")


def test_the_description_shows_the_configured_numbers():
    settings = DEFAULTS.model_copy(update={"endpoint_spike_ratio": 4.0, "min_failures": 6})
    text = RULES_BY_TYPE["endpoint_spike"].describe(settings)
    assert "at least 4x" in text and "at least 6 failures" in text
