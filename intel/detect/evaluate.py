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
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np

from intel.detect.counts import Snapshot
from intel.detect.families import FAMILIES, N_FAMILIES
from intel.detect.inhibit import inhibit
from intel.detect.rules import RULES, SHORT_WINDOWS, Rule, dedup_key
from intel.detect.signals import Baseline, Signal
from intel.detect.stats import betabinom_tail, concentration, opening_ratio, tail_probability


def evaluate(
    snapshot: Snapshot,
    settings,
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


def _severity(settings, rule_ratio: float, c: np.ndarray, n: np.ndarray, ratio: np.ndarray):
    share = np.divide(c, n, out=np.zeros(len(c)), where=n > 0)
    critical = (c >= settings.critical_min_failures) & (
        (share >= settings.critical_failure_ratio)
        | (ratio >= settings.critical_multiple * rule_ratio)
    )
    return critical


def _significance(c, n, p0, conc, fam, fam_base, base_total, fam_prior) -> np.ndarray:
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


def evaluate_rule(
    rule: Rule, snapshot: Snapshot, settings, active: Mapping[str, Baseline]
) -> tuple[list[Signal], dict[str, np.ndarray]]:
    """This rule's signals, and every key's excess failures per short window (live
    baseline), which inhibition weighs."""
    counts = snapshot.scope(rule.scope)
    keys = counts.keys
    if not keys:
        return [], {}
    literal = settings.mode == "literal"
    multiple = float(getattr(settings, rule.ratio_setting))
    min_failures = int(getattr(settings, rule.min_failures_setting))
    burst = rule.scope == "platform"
    dispersion = settings.burst_dispersion if burst else settings.dispersion
    saturation = settings.saturation_ratio
    alpha = settings.p_value

    platform = snapshot.scope("platform")
    pf = float(platform.fail[rule.baseline].sum()) if platform.keys else 0.0
    pn = float(platform.total[rule.baseline].sum()) if platform.keys else 0.0
    p_ref = (pf + 0.5) / (pn + 1.0)

    fb = counts.fail[rule.baseline].astype(np.float64)
    nb = counts.total[rule.baseline].astype(np.float64)
    weight = settings.prior_weight
    p0 = (fb + weight * p_ref) / np.maximum(nb + weight, 1e-9) if weight > 0 else np.where(
        nb > 0, fb / np.maximum(nb, 1), p_ref
    )
    conc = concentration(nb, weight, dispersion)
    span = counts.span[rule.baseline]
    rate = fb / span if span > 0 else np.zeros(len(keys))
    warm = span >= min(rule.baseline_s, settings.min_history_s)

    # Active incidents of this rule: their frozen baselines replace the live ones.
    k_count = len(keys)
    is_active = np.zeros(k_count, dtype=bool)
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
    ratio_used = np.where(is_active, frozen_ratio, p0)

    # Failure shapes: each key's share of failures per family over its baseline, leaning
    # on the platform's mix when it has few failures of its own.
    plat_fam = (platform.fam[rule.baseline].sum(axis=0).astype(np.float64)
                if platform.keys else np.zeros(N_FAMILIES))
    plat_fam[0] = 0.0
    mix_ref = (plat_fam + 0.5) / (plat_fam.sum() + 0.5 * (N_FAMILIES - 1))
    mix_ref[0] = 0.0
    beta = settings.family_prior
    fam_prior = np.broadcast_to(beta * mix_ref, (len(keys), N_FAMILIES))
    rate_used = np.where(is_active, frozen_rate, rate)

    per_window = {}
    excess_table: dict[str, np.ndarray] = {}
    fire_any = np.zeros(k_count, dtype=bool)
    elevated_any = np.zeros(k_count, dtype=bool)
    abnormal_any = np.zeros(k_count, dtype=bool)
    first_fire = np.full(k_count, -1)
    recent = np.ones(k_count, dtype=bool)  # the shorter window is still bad
    quiet = np.ones(k_count, dtype=bool)  # the shorter window had too few deliveries
    held = np.ones(k_count, dtype=bool)  # a burst: the shorter window still holds it

    def own_window(name: str) -> np.ndarray:
        """Active incidents that report on this window."""
        out = np.zeros(k_count, dtype=bool)
        for i, w in frozen_window.items():
            out[i] = w == name
        return out

    for name in SHORT_WINDOWS:
        c = counts.fail[name].astype(np.float64)
        n = np.maximum(counts.total[name].astype(np.float64), c)
        window_s = rule.window_s(name)
        pvals = np.full(k_count, np.nan)
        # literal: the seed's 5-min window only
        fires_here = name in rule.windows and not (literal and name != rule.windows[0])
        holds_here = name in rule.hold_windows
        if literal:
            expected = rate_used * window_s
            fire = (c > multiple * rate * window_s) & fires_here & warm
            elevated = fire
            abnormal = is_active & (c > multiple * expected) & holds_here
        else:
            expected = n * ratio_used
            live_expected = n * p0
            r_open = opening_ratio(p0, multiple, saturation)
            effect = (c > 0) & (c >= r_open * n) & fires_here & recent
            candidates = np.flatnonzero(effect)
            significant = np.zeros(k_count, dtype=bool)
            if len(candidates) and burst:  # platform-wide: many shapes; counts suffice
                pvals[candidates] = tail_probability(c[candidates], n[candidates],
                                                     p0[candidates], conc[candidates])
            elif len(candidates):
                fam_base = counts.fam[rule.baseline][candidates].astype(np.float64)
                fam_base[:, 0] = 0.0
                pvals[candidates] = _significance(
                    c[candidates], n[candidates], p0[candidates], conc[candidates],
                    counts.fam[name][candidates], fam_base, nb[candidates],
                    fam_prior[candidates],
                )
            if len(candidates):
                significant[candidates] = pvals[candidates] <= alpha
            elevated = effect & significant
            fire = elevated & (c >= min_failures) & warm
            if burst:
                fire &= (c - live_expected) >= settings.burst_min_excess
            r_open_f = np.minimum(opening_ratio(frozen_ratio, multiple, saturation), 1.0)
            r_clear = frozen_ratio + settings.clear_fraction * (r_open_f - frozen_ratio)
            abnormal = is_active & (c >= 1) & (c >= r_clear * n) & holds_here
            if burst:  # and at least that fraction of its opening excess, too: the
                # platform's ratio drifts with the mix of tenants awake; a longer window
                # holds only while the shorter one still does
                abnormal &= (c - expected) >= settings.clear_fraction * (
                    settings.burst_min_excess)
                abnormal &= held | own_window(name)
                held = abnormal.copy()
            else:  # its own window, and a longer one only for a quiet target
                abnormal &= quiet | own_window(name)
            # a longer window fires only while the last shorter one is still bad
            # (halfway to the threshold): no incident from failures long gone
            r_live = p0 + settings.clear_fraction * (r_open - p0)
            quiet = n < max(min_failures, 1)
            recent = (c >= 1) & (c >= r_live * n)
        per_window[name] = (c, n, expected, pvals)
        excess_table[name] = c - n * p0
        if fires_here:
            newly = fire & (first_fire < 0)
            first_fire[newly] = rule.windows.index(name)
        fire_any |= fire
        elevated_any |= elevated
        abnormal_any |= abnormal

    emit = fire_any | is_active
    if burst:
        emit[:] = True  # the platform's signal is always there: inhibition weighs it
    elif rule.scope == "tenant":
        # a tenant with some failures: spikes on two of its endpoints may raise it
        for name in rule.windows:
            emit |= per_window[name][0] >= min_failures
    out: list[Signal] = []
    for i in np.flatnonzero(emit).tolist():
        if is_active[i] and frozen_window.get(i) in per_window:
            name = frozen_window[i]
        elif first_fire[i] >= 0:
            name = rule.windows[first_fire[i]]
        else:
            name = rule.windows[0]
        c, n, expected, pvals = per_window[name]
        ci, ni, exp_i = float(c[i]), float(n[i]), float(expected[i])
        pval = float(pvals[i])
        if not literal and pval != pval and ci > 0 and (is_active[i] or fire_any[i]):
            pval = float(tail_probability(np.array([ci]), np.array([ni]),
                                          np.array([ratio_used[i]]), conc[i])[0])
        ratio = ci / exp_i if exp_i > 1e-9 else (float("inf") if ci > 0 else 0.0)
        critical = bool(
            _severity(settings, multiple, np.array([ci]), np.array([ni]), np.array([ratio]))[0]
        )
        out.append(
            Signal(
                type=rule.type,
                target=keys[i],
                window=name,
                window_s=rule.window_s(name),
                failures=int(ci),
                total=int(ni),
                expected=exp_i,
                ratio=ratio,
                p_value=pval,
                base_ratio=float(ratio_used[i]),
                base_rate=float(rate_used[i]),
                base_failures=int(fb[i]),
                base_total=int(nb[i]),
                firing=bool(fire_any[i]),
                abnormal=bool(abnormal_any[i]),
                severity="critical" if critical else "warning",
                excess=max(ci - exp_i, 0.0),
                active=bool(is_active[i]),
                elevated=bool(elevated_any[i]),
                family=FAMILIES[int(np.argmax(counts.fam[name][i][1:])) + 1]
                if counts.fam[name][i][1:].any() else None,
                windows={
                    w: (int(per_window[w][0][i]), int(per_window[w][1][i]),
                        float(per_window[w][2][i]))
                    for w in SHORT_WINDOWS
                },
            )
        )
    return out, excess_table
