"""Each key's baseline for one rule: what its failures in a short window are measured
against (the first step of ``intel.detect.evaluate.evaluate_rule``).

Live, from the rule's baseline window; frozen, for a key whose incident is open, as it was
when the incident opened — otherwise the incident's own failures, creeping into the
baseline window, would slowly make it look normal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from intel.detect.counts import ScopeCounts, Snapshot
from intel.detect.families import N_FAMILIES
from intel.detect.rules import Rule, dedup_key
from intel.detect.signals import Baseline
from intel.detect.stats import concentration
from intel.settings.detector import DetectorSettings


@dataclass(frozen=True)
class RuleBaseline:
    """Per key (arrays of the scope's K keys), for one rule at one instant."""

    fb: np.ndarray  # failures in the baseline window
    nb: np.ndarray  # finished deliveries in it
    p0: np.ndarray  # live failure ratio, leaning on the platform's (``baseline_ratio``)
    conc: np.ndarray  # beta-binomial concentration: short history plus natural variation
    rate: np.ndarray  # live failures per second (the seed's literal rule)
    warm: bool  # the baseline window holds enough history to judge on
    fam_prior: np.ndarray  # (K, N_FAMILIES): the platform's failure mix, in prior failures
    active: np.ndarray  # bool: an incident of this rule is open on the key
    frozen_ratio: np.ndarray  # p0, replaced by the frozen ratio where active
    frozen_rate: np.ndarray  # rate, replaced by the frozen rate where active
    frozen_window: dict[int, str]  # key index -> the window its open incident reports on
    ratio_used: np.ndarray  # the ratio an active key is held to (frozen) or p0
    rate_used: np.ndarray  # the same for the rate

    def own_window(self, name: str) -> np.ndarray:
        """Keys whose open incident reports on ``name``: that window always holds it, even
        where a longer window alone would not."""
        out = np.zeros(len(self.active), dtype=bool)
        for i, w in self.frozen_window.items():
            out[i] = w == name
        return out


def platform_ratio(platform: ScopeCounts, window: str) -> float:
    """The platform's failure ratio over ``window``, with half a failure in one delivery
    added so an empty or failure-free platform still gives a small positive prior."""
    pf = float(platform.fail[window].sum()) if platform.keys else 0.0
    pn = float(platform.total[window].sum()) if platform.keys else 0.0
    return (pf + 0.5) / (pn + 1.0)


def baseline_ratio(fb: np.ndarray, nb: np.ndarray, p_ref: float, weight: float) -> np.ndarray:
    """``(fb + w p_ref) / (nb + w)``: ``w`` deliveries' worth of the platform's ratio mixed
    into each key's own, so a target with little history is not judged on noise. With no
    weight, a key with no history at all takes the platform's ratio."""
    if weight > 0:
        return (fb + weight * p_ref) / np.maximum(nb + weight, 1e-9)
    return np.where(nb > 0, fb / np.maximum(nb, 1), p_ref)


def family_prior(platform: ScopeCounts, window: str, k_count: int, beta: float) -> np.ndarray:
    """``beta`` failures of the platform's failure mix per key, (K, N_FAMILIES): a key with
    few failures of its own leans on the platform's shapes, so its first timeout is not
    a surprise just because it never timed out before. Column 0 (delivered) is zero."""
    plat_fam = (platform.fam[window].sum(axis=0).astype(np.float64)
                if platform.keys else np.zeros(N_FAMILIES))
    plat_fam[0] = 0.0
    mix_ref = (plat_fam + 0.5) / (plat_fam.sum() + 0.5 * (N_FAMILIES - 1))
    mix_ref[0] = 0.0
    return np.broadcast_to(beta * mix_ref, (k_count, N_FAMILIES))


def rule_baseline(rule: Rule, snapshot: Snapshot, settings: DetectorSettings,
                  active: Mapping[str, Baseline]) -> RuleBaseline:
    """The live baseline of every key of the rule's scope, and the frozen one of each key
    with an open incident (``active``: dedup key -> the baseline frozen at opening)."""
    counts = snapshot.scope(rule.scope)
    keys = counts.keys
    platform = snapshot.scope("platform")
    dispersion = settings.burst_dispersion if rule.scope == "platform" else settings.dispersion
    weight = settings.prior_weight

    fb = counts.fail[rule.baseline].astype(np.float64)
    nb = counts.total[rule.baseline].astype(np.float64)
    p0 = baseline_ratio(fb, nb, platform_ratio(platform, rule.baseline), weight)
    conc = concentration(nb, weight, dispersion)
    span = counts.span[rule.baseline]
    rate = fb / span if span > 0 else np.zeros(len(keys))
    warm = span >= min(rule.baseline_s, settings.min_history_s)

    is_active = np.zeros(len(keys), dtype=bool)
    frozen_ratio = p0.copy()
    frozen_rate = rate.copy()
    frozen_window: dict[int, str] = {}
    if active:
        for i, key in enumerate(keys):
            base = active.get(dedup_key(rule.type, key))
            if base is not None:
                is_active[i] = True
                frozen_ratio[i] = base.ratio
                frozen_rate[i] = base.rate
                frozen_window[i] = base.window
    return RuleBaseline(
        fb=fb, nb=nb, p0=p0, conc=conc, rate=rate, warm=warm,
        fam_prior=family_prior(platform, rule.baseline, len(keys), settings.family_prior),
        active=is_active, frozen_ratio=frozen_ratio, frozen_rate=frozen_rate,
        frozen_window=frozen_window,
        ratio_used=np.where(is_active, frozen_ratio, p0),
        rate_used=np.where(is_active, frozen_rate, rate),
    )
