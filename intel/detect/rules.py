"""The detection rules, as data: one row per rule, read by the evaluator and by the UI.

A rule names the scope it looks at, the short windows it counts failures in, the baseline
window it compares with, and the sentences that describe it to a person; its multiple and
minimum count are settings (``Rule.thresholds``). Adding a rule is adding a row here and
its settings to ``DetectorSettings.thresholds``.

Windows are ``(start, end)`` offsets in seconds before the evaluation instant ``now``:
``(300, 0)`` is ``[now - 5 min, now)``. A baseline ends where the rule's longest short
window starts, so the anomaly being measured never inflates its own baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from intel.settings.detector import DetectorSettings, RuleThresholds

PLATFORM_TARGET = "*"

# name -> (start offset, end offset) in seconds before now
WINDOWS: dict[str, tuple[int, int]] = {
    "5m": (300, 0),
    "15m": (900, 0),
    "60m": (3600, 0),
    "prev_1h": (900 + 3600, 900),  # the hour before the 15-min window
    "prev_24h": (3600 + 86400, 3600),  # the day before the 60-min window
}
SHORT_WINDOWS = ("5m", "15m", "60m")  # counted for every key of every rule
# how long an incident's failures can stay inside some window after it resolved
LONGEST_SHORT_S = max(WINDOWS[w][0] - WINDOWS[w][1] for w in SHORT_WINDOWS)
LONGEST_LOOKBACK_S = max(start for start, _ in WINDOWS.values())


@dataclass(frozen=True)
class Rule:
    type: str  # incident type: burst | endpoint_spike | tenant_spike
    scope: str  # platform | endpoint | tenant
    windows: tuple[str, ...]  # short windows it fires on; the first firing one is reported
    baseline: str  # the baseline window
    literal: str  # the seed's rule, in words
    guarded: str  # what the guarded form checks, in words
    headline: str  # the sentence at its peak; fields: failures, where, window, ratio
    subject: str  # what an incident's headline is about; field: where

    @property
    def hold_windows(self) -> tuple[str, ...]:
        """Windows an open incident stays abnormal on: its own, and at least 15 min, so a
        burst outlives the failures still inside the spikes' 15-min windows."""
        return tuple(w for w in SHORT_WINDOWS if w in self.windows or w == "15m")

    def window_s(self, name: str) -> int:
        start, end = WINDOWS[name]
        return start - end

    @property
    def baseline_s(self) -> int:
        start, end = WINDOWS[self.baseline]
        return start - end

    def thresholds(self, settings: DetectorSettings) -> RuleThresholds:
        """This rule's multiple over its baseline and minimum failures in a window."""
        return settings.thresholds(self.type)

    def describe(self, settings: DetectorSettings) -> str:
        """The rule with its configured numbers, for the Anomalies page and docs."""
        limits = self.thresholds(settings)
        return self.guarded.format(ratio=f"{limits.multiple:g}", min=limits.min_failures,
                                   p=f"{settings.p_value:g}")


RULES: tuple[Rule, ...] = (
    Rule(
        type="burst",
        scope="platform",
        windows=("5m", "15m"),
        baseline="prev_1h",
        literal="failures in the last 5 min more than 50 % above the 1-h baseline",
        guarded=(
            "platform-wide failures in 5 min (or 15 min, while the last 5 are still bad) at "
            "least {ratio}x what the 1-h failure ratio predicts for the current traffic, at "
            "least {min} failures, tail probability at most {p}; not opened when one or two "
            "endpoint/tenant spikes explain it"
        ),
        headline="{failures} failures platform-wide in {window} — {ratio} normal",
        subject="Platform-wide burst",
    ),
    Rule(
        type="endpoint_spike",
        scope="endpoint",
        windows=("5m", "15m", "60m"),
        baseline="prev_24h",
        literal="an endpoint's failures more than 10x its 24-h baseline",
        guarded=(
            "an endpoint's failures in 5, 15 or 60 min at least {ratio}x what its 24-h failure "
            "ratio predicts for its current traffic (or the endpoint is effectively down), "
            "at least {min} failures, tail probability at most {p}"
        ),
        headline="{failures} failures to {where} in {window} — {ratio} normal",
        subject="{where}",
    ),
    Rule(
        type="tenant_spike",
        scope="tenant",
        windows=("5m", "15m", "60m"),
        baseline="prev_24h",
        literal="a tenant's failures more than 5x its 24-h baseline",
        guarded=(
            "a tenant's failures in 5, 15 or 60 min at least {ratio}x what its 24-h failure "
            "ratio predicts for its current traffic, at least {min} failures, tail "
            "probability at most {p}; folded into one endpoint's spike when that endpoint "
            "carries most of it; raised when spikes hit two of its endpoints at once"
        ),
        headline="{failures} failures for tenant {where} in {window} — {ratio} normal",
        subject="Tenant {where}",
    ),
)

RULES_BY_TYPE: dict[str, Rule] = {rule.type: rule for rule in RULES}
INCIDENT_TYPES = tuple(RULES_BY_TYPE)


def dedup_key(incident_type: str, target: str) -> str:
    return f"{incident_type}|{target}"


def target_label(incident_type: str, target: str) -> str:
    """How a target reads in a sentence: an endpoint's host and path (one host often
    serves several endpoints), a tenant id, the platform."""
    if target == PLATFORM_TARGET:
        return "the platform"
    if incident_type == "endpoint_spike":
        parts = urlsplit(target)
        if not parts.netloc:
            return target
        host = parts.netloc.rpartition("@")[2]  # never the URL's user:password
        return host + (parts.path.rstrip("/") or "")
    return target


def format_window(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def format_ratio(ratio: float) -> str:
    if ratio != ratio or ratio >= 100:  # NaN or huge: a near-zero baseline
        return "100x+"
    if ratio >= 10:
        return f"{ratio:.0f}x"
    return f"{ratio:.1f}x"


def headline(incident_type: str, target: str, failures: int, window_s: int, ratio: float) -> str:
    """``45 failures to api.customer.com in 5 min — 15x normal``."""
    rule = RULES_BY_TYPE[incident_type]
    return rule.headline.format(
        failures=failures,
        where=target_label(incident_type, target),
        window=format_window(window_s),
        ratio=format_ratio(ratio),
    )
