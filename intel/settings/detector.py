"""Anomaly detector thresholds (owned by the detector).

The three seed rules (``burst_ratio``, ``endpoint_spike_ratio``, ``tenant_spike_ratio``) are
the effect sizes. Taken alone they fire on sparse counts, so ``mode: guarded`` (the
default) adds minimum counts, a significance test, traffic-normalised failure ratios and
inhibition; ``mode: literal`` runs exactly the seed's ratios (for comparison only).
See ``intel/detect/__init__.py`` for the full decision rule.
"""

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from intel.settings._base import Section


@dataclass(frozen=True)
class RuleThresholds:
    """One rule's opening numbers, read from ``DetectorSettings.thresholds``."""

    multiple: float  # over the baseline: the seed's ratio
    min_failures: int  # in a window, before anything opens


class DetectorSettings(Section):
    mode: Literal["guarded", "literal"] = Field(
        "guarded",
        description="'guarded': seed ratios plus minimum counts, significance, failure ratios "
        "and inhibition. 'literal': the seed's bare ratios (noisy; for comparison).",
    )
    burst_ratio: float = Field(
        1.5, gt=1, description="Burst: 5-min failures above this multiple of the 1-h baseline."
    )
    endpoint_spike_ratio: float = Field(
        10.0, gt=1, description="Endpoint spike: failures above this multiple of its 24-h baseline."
    )
    tenant_spike_ratio: float = Field(
        5.0, gt=1, description="Tenant spike: failures above this multiple of its 24-h baseline."
    )
    min_failures: int = Field(
        3, ge=1,
        description="Endpoint/tenant spike: no incident on fewer failures than this in the "
        "window (3: the earliest anyone could know a target is in trouble).",
    )
    burst_min_failures: int = Field(
        10, ge=1, description="Burst: no platform-wide incident on fewer failures in 5 min."
    )
    burst_min_excess: int = Field(
        5, ge=0,
        description="Burst: failures above the expected count needed (absolute), so a small "
        "relative wobble on a quiet platform is not a burst.",
    )
    p_value: float = Field(
        3e-6, gt=0, lt=1,
        description="Significance: the tail probability of the current failures under the "
        "baseline failure ratio must be at most this.",
    )
    dispersion: float = Field(
        1000.0, ge=0,
        description="Endpoint/tenant: beta-binomial concentration of the failure ratio's "
        "natural variation (over-dispersion, negative-binomial style; combined with the "
        "uncertainty of a short baseline, see intel/detect/stats.py); lower tolerates more "
        "naturally bursty targets; 0 means no extra variation.",
    )
    burst_dispersion: float = Field(
        0.0, ge=0,
        description="The same concentration for the platform-wide ratio (an aggregate of many "
        "targets, far steadier than one endpoint); 0 means plain binomial.",
    )
    family_prior: float = Field(
        10.0, ge=0,
        description="Failures' worth of the platform-wide failure mix mixed into a target's "
        "own mix of failure families (see intel/detect/families.py).",
    )
    prior_weight: float = Field(
        10.0, ge=0,
        description="Deliveries' worth of the platform-wide failure ratio mixed into a "
        "target's baseline ratio, so a target with little history is not judged on noise.",
    )
    saturation_ratio: float = Field(
        0.8, gt=0, le=1,
        description="A target whose failure ratio reaches this (it is effectively down) meets "
        "the effect-size part of its rule even when ratio x baseline would exceed 100 %.",
    )
    clear_fraction: float = Field(
        0.5, gt=0, le=1,
        description="Hysteresis: an active incident stays abnormal while its failures are at "
        "least this fraction of the rule's multiple of the baseline frozen at opening.",
    )
    settle_s: int = Field(
        300, ge=0,
        description="Seconds back to normal (every window of its rule) before an incident "
        "resolves itself.",
    )
    critical_min_failures: int = Field(
        10, ge=1, description="Severity: no 'critical' on fewer failures than this."
    )
    critical_failure_ratio: float = Field(
        0.5, gt=0, le=1,
        description="Severity: 'critical' when at least this share of the target's deliveries "
        "fail (with critical_min_failures), or ...",
    )
    critical_multiple: float = Field(
        3.0, ge=1,
        description="... when failures reach this many times the rule's threshold over the "
        "baseline; otherwise 'warning'. Severity only escalates.",
    )
    explain_share: float = Field(
        0.6, gt=0, le=1,
        description="Inhibition: a tenant spike (or a burst) is folded into the endpoint (or "
        "endpoint/tenant) spikes when they explain at least this share of its excess failures.",
    )
    burst_spread_p_value: float = Field(
        1e-3, gt=0, lt=1,
        description="Burst vs local: the significance at which the platform's failures "
        "outside the one or two spiking tenants (or, with spikes in burst_breadth tenants, "
        "all of them) count as up. Looser than p_value: it only decides which explanation "
        "fits (a broad burst or local spikes) once something is already wrong.",
    )
    burst_breadth: int = Field(
        3, ge=2,
        description="Burst: spikes present in at least this many tenants at once, with the "
        "platform's failures significantly up, make a burst even below its minimum counts.",
    )
    min_history_s: int = Field(
        10800, ge=0,
        description="No incident until the rule's baseline window holds at least this much "
        "history (or all of it, if shorter): a few minutes of data cannot say what is normal.",
    )
    inhibit: bool = Field(
        True,
        description="Inhibit spikes explained by a broader or narrower active anomaly "
        "(Alertmanager-style); false opens every rule independently.",
    )

    def thresholds(self, rule_type: str) -> RuleThresholds:
        """The multiple and minimum count of the rule for this incident type
        (``intel.detect.rules``). The one table pairing rules with their settings: the
        rules, inhibition and the backtest all read it, so they cannot disagree, and each
        setting is named as an attribute a type checker and a rename see, not a string."""
        table = {
            "burst": (self.burst_ratio, self.burst_min_failures),
            "endpoint_spike": (self.endpoint_spike_ratio, self.min_failures),
            "tenant_spike": (self.tenant_spike_ratio, self.min_failures),
        }
        if rule_type not in table:
            raise KeyError(f"detector settings have no thresholds for rule {rule_type!r}")
        multiple, minimum = table[rule_type]
        return RuleThresholds(multiple=float(multiple), min_failures=int(minimum))
