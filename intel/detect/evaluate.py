"""The decision: window counts at ``now`` in, signals out. Pure: no clock, no database.

For each rule (``intel.detect.rules.RULES``) and each key of its scope, in each of the
rule's short windows (``c`` failures of ``n`` finished deliveries):

``mode: literal`` (the seed): fires when, in the 5-min window,
``c > multiple x (baseline failures per 5 min)``.

``mode: guarded`` (default):

* the baseline failure ratio ``p0`` = (baseline failures + w x platform ratio) /
  (baseline deliveries + w), ``w = prior_weight``: a target with little history leans on
  the platform's ratio instead of on noise;
* ``expected = n x p0``: what the baseline predicts *for the current traffic*, so a surge
  of traffic with an unchanged failure ratio expects proportionally more failures and is
  not an incident (the reported ``baseline``);
* it fires when ``c >= min failures``, ``c >= min(multiple x p0, saturation_ratio) x n``
  (the seed's multiple on the failure ratio; a target that is effectively down counts
  even if its normal ratio is high), and the tail probability of ``c`` under the baseline
  (beta-binomial, ``intel.detect.stats``) is at most ``p_value``; a burst also needs
  ``c - expected >= burst_min_excess``; a longer window (15 or 60 min; a burst's 15 min)
  fires only while the next shorter one is still at least halfway to the threshold — no
  incident from failures long gone — so a low-traffic target, whose third failure may
  come 20 minutes after its first, opens on the window that holds all three;
* an active incident stays *abnormal* while, in one of its windows, ``c >= 1`` and the
  failure ratio is at least ``clear_fraction`` of the way from its frozen baseline ratio
  to its opening threshold (hysteresis: no flapping at the threshold); a longer window
  than the one it reports on counts only for a quiet target (fewer deliveries than the
  minimum in the next shorter window), so a busy endpoint's incident ends with its
  outage, not an hour later; a burst also holds on its 15-min window (the one it reports
  on, or while its 5-min window still holds too), and only while its excess is at least
  ``clear_fraction`` of ``burst_min_excess`` (the platform's normal ratio drifts with the
  mix of tenants awake, so a night's 2 % against a frozen 1.2 % is not the burst going
  on) (literal mode: while the bare ratio holds against the frozen baseline).

Severity: ``critical`` when ``c >= critical_min_failures`` and either at least
``critical_failure_ratio`` of the deliveries fail or ``c / expected`` reaches
``critical_multiple`` x the rule's multiple; ``warning`` otherwise.

Then ``intel.detect.inhibit`` folds spikes that a broader or narrower one explains.

``evaluate_rule`` runs in steps, each in its own place: the baseline
(``intel.detect.baseline``), the mask of each short window, literal or guarded
(``intel.detect.masks``), then the signals (here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from intel.detect.baseline import RuleBaseline, rule_baseline
from intel.detect.counts import ScopeCounts, Snapshot
from intel.detect.families import FAMILIES
from intel.detect.inhibit import inhibit
from intel.detect.masks import ShorterWindow, guarded_mask, literal_mask
from intel.detect.rules import RULES, SHORT_WINDOWS, Rule
from intel.detect.signals import Baseline, Signal
from intel.detect.stats import tail_probability
from intel.settings.detector import DetectorSettings


def evaluate(
    snapshot: Snapshot,
    settings: DetectorSettings,
    active: Mapping[str, Baseline] | None = None,
    recent: Mapping[str, datetime] | None = None,
) -> list[Signal]:
    """Signals for every (rule, key) that fires or has an active incident (``active``:
    dedup key -> the baseline frozen when it opened), plus the platform's, always.
    ``recent``: dedup key -> when its incident resolved, for incidents resolved within
    the longest short window (their failures may still be inside a window)."""
    active = active or {}
    signals: list[Signal] = []
    excess: dict[str, dict[str, np.ndarray]] = {}
    for rule in RULES:
        found, excess[rule.scope] = evaluate_rule(rule, snapshot, settings, active)
        signals.extend(found)
    if settings.mode == "guarded" and settings.inhibit:
        signals = inhibit(signals, snapshot, settings, excess.get("endpoint", {}), recent)
    return signals


@dataclass
class RuleVerdict:
    """The rule's masks over all its short windows, per key: what the signals are built
    from. ``per_window``: window -> (failures, deliveries, expected, p-values)."""

    per_window: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    fire: np.ndarray  # opens on some window
    elevated: np.ndarray
    abnormal: np.ndarray  # an open incident holds on some window
    first_fire: np.ndarray  # index in ``rule.windows`` of the first window it opens on; -1


def evaluate_rule(
    rule: Rule, snapshot: Snapshot, settings: DetectorSettings, active: Mapping[str, Baseline]
) -> tuple[list[Signal], dict[str, np.ndarray]]:
    """This rule's signals, and every key's excess failures per short window (live
    baseline), which inhibition weighs."""
    counts = snapshot.scope(rule.scope)
    if not counts.keys:
        return [], {}
    limits = rule.thresholds(settings)
    literal = settings.mode == "literal"
    base = rule_baseline(rule, snapshot, settings, active)
    k_count = len(counts.keys)
    verdict = RuleVerdict(
        per_window={}, fire=np.zeros(k_count, dtype=bool),
        elevated=np.zeros(k_count, dtype=bool), abnormal=np.zeros(k_count, dtype=bool),
        first_fire=np.full(k_count, -1),
    )
    excess: dict[str, np.ndarray] = {}
    shorter = ShorterWindow.first(k_count)
    for name in SHORT_WINDOWS:
        c = counts.fail[name].astype(np.float64)
        n = np.maximum(counts.total[name].astype(np.float64), c)
        fires_here = fires_on(rule, name, literal)
        holds_here = name in rule.hold_windows
        if literal:
            window = literal_mask(c, rule.window_s(name), limits.multiple, base, fires_here,
                                  holds_here)
        else:
            window, shorter = guarded_mask(rule, name, counts, c, n, base, limits, settings,
                                           fires_here, holds_here, shorter)
        verdict.per_window[name] = (c, n, window.expected, window.pvals)
        excess[name] = c - n * base.p0
        if fires_here:
            newly = window.fire & (verdict.first_fire < 0)
            verdict.first_fire[newly] = rule.windows.index(name)
        verdict.fire |= window.fire
        verdict.elevated |= window.elevated
        verdict.abnormal |= window.abnormal
    emit = emitted(rule, verdict.fire, base.active,
                   {w: verdict.per_window[w][0] for w in rule.windows}, limits.min_failures)
    signals = [build_signal(rule, counts, i, base, verdict, limits.multiple, settings)
               for i in np.flatnonzero(emit).tolist()]
    return signals, excess


def fires_on(rule: Rule, window: str, literal: bool) -> bool:
    """Can the rule open on this window? Its own windows; in literal mode only the first,
    the seed's 5 min."""
    return window in rule.windows and not (literal and window != rule.windows[0])


def emitted(rule: Rule, fire: np.ndarray, active: np.ndarray,
            failures: Mapping[str, np.ndarray], min_failures: int) -> np.ndarray:
    """Keys that get a signal: those opening or with an open incident; the platform always
    (inhibition weighs the burst's figures against the spikes'); a tenant with at least
    ``min_failures`` in one of its windows (``failures``: window -> per key), as spikes
    on two of its endpoints may raise it."""
    emit = fire | active
    if rule.scope == "platform":
        emit[:] = True
    elif rule.scope == "tenant":
        for name in rule.windows:
            emit |= failures[name] >= min_failures
    return emit


def reported_window(rule: Rule, active: bool, frozen_window: str | None,
                    first_fire: int) -> str:
    """The window a signal reports: an open incident's own (so its figures stay comparable
    tick to tick), else the first the rule opens on, else the rule's shortest."""
    if active and frozen_window in SHORT_WINDOWS:
        return frozen_window
    if first_fire >= 0:
        return rule.windows[first_fire]
    return rule.windows[0]


def failure_multiple(failures: float, expected: float) -> float:
    """Failures over expected failures; a near-zero expectation is infinitely exceeded by
    any failure (and not at all by none)."""
    if expected > 1e-9:
        return failures / expected
    return float("inf") if failures > 0 else 0.0


def _severity(settings: DetectorSettings, rule_ratio: float, c: np.ndarray, n: np.ndarray,
              ratio: np.ndarray):
    share = np.divide(c, n, out=np.zeros(len(c)), where=n > 0)
    critical = (c >= settings.critical_min_failures) & (
        (share >= settings.critical_failure_ratio)
        | (ratio >= settings.critical_multiple * rule_ratio)
    )
    return critical


def build_signal(rule: Rule, counts: ScopeCounts, i: int, base: RuleBaseline,
                 verdict: RuleVerdict, multiple: float, settings: DetectorSettings) -> Signal:
    """Key ``i``'s signal, with the figures of its reported window. A key that opens or
    holds but was never tested for significance (its window had no effect-size hit) gets
    its tail probability now, so every incident shows one."""
    is_active = bool(base.active[i])
    name = reported_window(rule, is_active, base.frozen_window.get(i),
                           int(verdict.first_fire[i]))
    c, n, expected, pvals = verdict.per_window[name]
    ci, ni, exp_i = float(c[i]), float(n[i]), float(expected[i])
    pval = float(pvals[i])
    if (settings.mode != "literal" and pval != pval and ci > 0
            and (is_active or verdict.fire[i])):
        pval = float(tail_probability(np.array([ci]), np.array([ni]),
                                      np.array([base.ratio_used[i]]), base.conc[i])[0])
    ratio = failure_multiple(ci, exp_i)
    critical = bool(
        _severity(settings, multiple, np.array([ci]), np.array([ni]), np.array([ratio]))[0]
    )
    fam = counts.fam[name][i][1:]
    return Signal(
        type=rule.type,
        target=counts.keys[i],
        window=name,
        window_s=rule.window_s(name),
        failures=int(ci),
        total=int(ni),
        expected=exp_i,
        ratio=ratio,
        p_value=pval,
        base_ratio=float(base.ratio_used[i]),
        base_rate=float(base.rate_used[i]),
        base_failures=int(base.fb[i]),
        base_total=int(base.nb[i]),
        firing=bool(verdict.fire[i]),
        abnormal=bool(verdict.abnormal[i]),
        severity="critical" if critical else "warning",
        excess=max(ci - exp_i, 0.0),
        active=is_active,
        elevated=bool(verdict.elevated[i]),
        family=FAMILIES[int(np.argmax(fam)) + 1] if fam.any() else None,
        windows={
            w: (int(verdict.per_window[w][0][i]), int(verdict.per_window[w][1][i]),
                float(verdict.per_window[w][2][i]))
            for w in SHORT_WINDOWS
        },
    )
