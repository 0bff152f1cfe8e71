"""One rule's verdict in one short window, per key, as boolean masks (the middle step of
``intel.detect.evaluate.evaluate_rule``): does it open there, is it elevated, does an open
incident still hold there. ``literal_mask`` is the seed's bare ratio; ``guarded_mask`` the
default decision described in ``intel.detect.evaluate``.

The short windows are judged shortest first, and the guarded form of a longer window
depends on what the shorter one said (``ShorterWindow``): that is what keeps failures
long gone from opening or holding an incident on the 60-min window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intel.detect.baseline import RuleBaseline
from intel.detect.counts import ScopeCounts
from intel.detect.rules import Rule
from intel.detect.stats import betabinom_tail, opening_ratio, tail_probability
from intel.settings.detector import DetectorSettings, RuleThresholds


@dataclass(frozen=True)
class WindowVerdict:
    expected: np.ndarray  # failures the baseline (frozen where active) predicts here
    pvals: np.ndarray  # tail probabilities; NaN where not computed (literal, no effect)
    fire: np.ndarray  # the rule opens on this window
    elevated: np.ndarray  # effect size and significance hold, minimum counts aside
    abnormal: np.ndarray  # an open incident still holds on this window


@dataclass(frozen=True)
class ShorterWindow:
    """What the last shorter window said, per key (the shortest window has none: all
    true)."""

    recent: np.ndarray  # still bad: at least halfway to the opening threshold
    quiet: np.ndarray  # too few deliveries there to say anything
    held: np.ndarray  # a burst: its incident still held there

    @classmethod
    def first(cls, k_count: int) -> ShorterWindow:
        ones = np.ones(k_count, dtype=bool)
        return cls(recent=ones, quiet=ones.copy(), held=ones.copy())


def literal_mask(c: np.ndarray, window_s: int, multiple: float, base: RuleBaseline,
                 fires_here: bool, holds_here: bool) -> WindowVerdict:
    """The seed's rule, kept for comparison: more than ``multiple`` times the baseline's
    failures per second over the window; an open incident holds while that is still
    true against its frozen rate. No significance, no minimum, no traffic."""
    expected = base.rate_used * window_s
    fire = (c > multiple * base.rate * window_s) & fires_here & base.warm
    abnormal = base.active & (c > multiple * expected) & holds_here
    return WindowVerdict(expected=expected, pvals=np.full(len(c), np.nan), fire=fire,
                         elevated=fire, abnormal=abnormal)


def guarded_mask(rule: Rule, name: str, counts: ScopeCounts, c: np.ndarray, n: np.ndarray,
                 base: RuleBaseline, limits: RuleThresholds, settings: DetectorSettings,
                 fires_here: bool, holds_here: bool, shorter: ShorterWindow
                 ) -> tuple[WindowVerdict, ShorterWindow]:
    """The default decision in window ``name`` (``c`` failures of ``n``), and what it
    tells the next longer window."""
    r_open = opening_ratio(base.p0, limits.multiple, settings.saturation_ratio)
    fire, elevated, pvals = guarded_opens(rule, name, counts, c, n, base, limits, settings,
                                          fires_here, shorter.recent, r_open)
    expected = n * base.ratio_used
    abnormal = guarded_holds(rule, name, c, n, expected, base, limits, settings, holds_here,
                             shorter)
    # the next window fires only while this one is still bad (halfway to the threshold)
    r_live = base.p0 + settings.clear_fraction * (r_open - base.p0)
    after = ShorterWindow(
        recent=(c >= 1) & (c >= r_live * n),
        quiet=n < max(limits.min_failures, 1),
        held=abnormal.copy() if rule.scope == "platform" else shorter.held,
    )
    verdict = WindowVerdict(expected=expected, pvals=pvals, fire=fire, elevated=elevated,
                            abnormal=abnormal)
    return verdict, after


def guarded_opens(rule: Rule, name: str, counts: ScopeCounts, c: np.ndarray, n: np.ndarray,
                  base: RuleBaseline, limits: RuleThresholds, settings: DetectorSettings,
                  fires_here: bool, recent: np.ndarray, r_open: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fire, elevated, pvals)``: the effect size against the live baseline first (cheap,
    vectorised), the significance test only for the keys that pass it (costly), then the
    minimum count, the warm-up and, for a burst, the absolute excess — so a few failures
    on a quiet key, or a small wobble on a quiet platform, never open an incident."""
    burst = rule.scope == "platform"
    pvals = np.full(len(c), np.nan)
    effect = (c > 0) & (c >= r_open * n) & fires_here & recent
    candidates = np.flatnonzero(effect)
    significant = np.zeros(len(c), dtype=bool)
    if len(candidates) and burst:  # platform-wide: many shapes; counts suffice
        pvals[candidates] = tail_probability(c[candidates], n[candidates],
                                             base.p0[candidates], base.conc[candidates])
    elif len(candidates):
        fam_base = counts.fam[rule.baseline][candidates].astype(np.float64)
        fam_base[:, 0] = 0.0
        pvals[candidates] = significance(
            c[candidates], n[candidates], base.p0[candidates], base.conc[candidates],
            counts.fam[name][candidates], fam_base, base.nb[candidates],
            base.fam_prior[candidates],
        )
    if len(candidates):
        significant[candidates] = pvals[candidates] <= settings.p_value
    elevated = effect & significant
    fire = elevated & (c >= limits.min_failures) & base.warm
    if burst:
        fire &= (c - n * base.p0) >= settings.burst_min_excess
    return fire, elevated, pvals


def guarded_holds(rule: Rule, name: str, c: np.ndarray, n: np.ndarray, expected: np.ndarray,
                  base: RuleBaseline, limits: RuleThresholds, settings: DetectorSettings,
                  holds_here: bool, shorter: ShorterWindow) -> np.ndarray:
    """Open incidents still abnormal here: hysteresis, ``clear_fraction`` of the way from
    the frozen ratio to its opening threshold, so an incident does not flap at the
    threshold. A longer window than the incident's own holds it only for a quiet target
    (a busy endpoint's incident ends with its outage, not an hour later); a burst's only
    while the shorter window still does, and only on ``clear_fraction`` of its minimum
    excess (the platform's ratio drifts with the mix of tenants awake)."""
    r_open_f = np.minimum(
        opening_ratio(base.frozen_ratio, limits.multiple, settings.saturation_ratio), 1.0)
    r_clear = base.frozen_ratio + settings.clear_fraction * (r_open_f - base.frozen_ratio)
    abnormal = base.active & (c >= 1) & (c >= r_clear * n) & holds_here
    if rule.scope == "platform":
        abnormal &= (c - expected) >= settings.clear_fraction * settings.burst_min_excess
        abnormal &= shorter.held | base.own_window(name)
    else:
        abnormal &= shorter.quiet | base.own_window(name)
    return abnormal


def significance(c, n, p0, conc, fam, fam_base, base_total, fam_prior) -> np.ndarray:
    """Posterior-predictive tail probabilities (``intel.detect.stats``), the smaller of:

    * all ``c`` failures, the ratio ~ Beta(p0 k, (1 - p0) k);
    * the likeliest-to-surprise single family's failures, its rate ~ Beta(f + a, nb' - f - a)
      from its own baseline count ``f`` plus ``a`` prior failures of the platform's mix
      (``fam_prior``), times the number of families that could have clustered — those
      in its baseline or in the window (Bonferroni).
      A rare family seen once in the baseline is uncertain, and the exact beta-binomial
      says so: three of a kind is evidence only against a well-measured rarity.
    """
    k = np.where(np.isfinite(conc), conc, 1e12)
    p_all = betabinom_tail(c, n, p0 * k, (1.0 - p0) * k)
    rows, fams = np.nonzero(fam[:, 1:] > 0)
    if not len(rows):
        return p_all
    fams = fams + 1
    a = fam_base[rows, fams] + fam_prior[rows, fams]
    b = np.maximum(base_total[rows] + fam_prior[rows].sum(axis=1) / np.maximum(p0[rows], 1e-9)
                   - a, 1e-9)
    p_fam = betabinom_tail(fam[rows, fams], n[rows], a, b)
    best = np.ones(len(c))
    np.minimum.at(best, rows, p_fam)
    possible = ((fam_base[:, 1:] > 0) | (fam[:, 1:] > 0)).sum(axis=1)
    return np.minimum(p_all, np.minimum(best * np.maximum(possible, 1), 1.0))
