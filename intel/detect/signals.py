"""What one evaluation says about one (rule, target): the detector's output."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from intel.detect.rules import dedup_key, headline


@dataclass(frozen=True)
class Baseline:
    """A target's normal, frozen when its incident opens (the anomaly must not become its
    own baseline while it lasts)."""

    ratio: float  # failure ratio (failures / finished deliveries)
    rate: float  # failures per second (the seed's count baseline)
    window: str  # the short window the incident reports on

    def to_dict(self) -> dict:
        return {"base_ratio": self.ratio, "base_rate": self.rate, "window": self.window}

    @classmethod
    def from_dict(cls, data: dict) -> Baseline | None:
        try:
            return cls(float(data["base_ratio"]), float(data["base_rate"]), str(data["window"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Signal:
    type: str
    target: str
    window: str  # "5m" | "15m"
    window_s: int
    failures: int  # in the window
    total: int  # finished deliveries in the window
    expected: float  # failures the baseline predicts for this window (the reported baseline)
    ratio: float  # failures / expected
    p_value: float  # tail probability (NaN in literal mode)
    base_ratio: float
    base_rate: float  # failures per second over the baseline window
    base_failures: int
    base_total: int
    firing: bool  # the rule's opening condition holds (before inhibition)
    abnormal: bool  # an active incident's continuing condition holds
    severity: str  # warning | critical
    excess: float  # failures - expected in the reported window
    active: bool = False  # an incident with this key is open
    elevated: bool = False  # effect size and significance hold, minimum counts aside
    family: str | None = None  # the commonest failure family in the window
    # every short window: name -> (failures, finished deliveries, expected failures)
    windows: dict = field(default_factory=dict, compare=False)
    inhibited_by: str | None = None

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.type, self.target)

    @property
    def opens(self) -> bool:
        return self.firing and not self.active and self.inhibited_by is None

    @property
    def present(self) -> bool:
        """Open, or about to open: what inhibition weighs against other signals."""
        return self.active or (self.firing and self.inhibited_by is None)

    def excess_in(self, window: str) -> float:
        c, _n, expected = self.windows.get(window, (self.failures, self.total, self.expected))
        return max(c - expected, 0.0)

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.total if self.total else 0.0

    @property
    def headline(self) -> str:
        return headline(self.type, self.target, self.failures, self.window_s, self.ratio)

    def inhibit(self, by: str) -> Signal:
        return replace(self, inhibited_by=by)

    def fire(self) -> Signal:
        return replace(self, firing=True)

    def baseline(self) -> Baseline:
        return Baseline(self.base_ratio, self.base_rate, self.window)

    def facts(self) -> dict:
        """The numbers behind the decision, kept with the incident."""
        return {
            "window": self.window,
            "window_s": self.window_s,
            "failures": self.failures,
            "total": self.total,
            "expected": round(self.expected, 4),
            "ratio": round(self.ratio, 3) if self.ratio == self.ratio else None,
            "p_value": self.p_value if self.p_value == self.p_value else None,
            "failure_ratio": round(self.failure_ratio, 4),
            "family": self.family,
            "base_ratio": round(self.base_ratio, 6),
            "base_failures": self.base_failures,
            "base_total": self.base_total,
            "headline": self.headline,
        }
