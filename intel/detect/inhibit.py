"""Inhibition (Alertmanager style): a signal explained by another does not open its own
incident. Only *opening* is inhibited; an incident already open keeps being tracked.

A signal is *present* when its incident is open, or when it fires and is not inhibited.
Its *excess* in a window is ``failures - expected``; explanations compare excesses in
the same window (the tenant's reported one for tenant vs endpoint).

0. Aftermath. A signal whose window reaches back before a related incident resolved
   (the same key; a tenant and its endpoints; a burst and anything) is counting that
   incident's failures, which are still inside its window: it does not open.
1. Tenant vs endpoint. A firing tenant spike whose excess one of its endpoints carries
   (at least ``explain_share`` of it, in the tenant's window, whether that endpoint fires
   yet or not) is that endpoint's problem — when the endpoint has at least its minimum
   failures in that window to be judged on its own: the tenant spike is inhibited, and
   the endpoint's own spike opens when it crosses its own threshold. (Below the minimum,
   the evidence is spread over the tenant's endpoints — three 401s from a small tenant,
   two on one endpoint — and the tenant spike opens.) When spikes are present
   on two or more of a tenant's endpoints at once, the problem is the tenant's: its spike
   opens (even below its own threshold), and a firing endpoint spike carrying less than
   that share of it is folded into it; once the tenant's incident is open, every new
   spike of its endpoints is folded into it.
2. Burst vs the rest. Per tenant, the excess its present spikes account for (the tenant
   spike's, or the sum of its endpoints'). When the two largest of those carry at least
   ``explain_share`` of the platform's excess (in the burst's window) and the rest of the
   platform (without those two tenants) is not up as well, the problem is local and the
   burst is inhibited. When spikes are present in at least ``burst_breadth`` tenants at
   once and the platform's failures are up, the problem is platform-wide and the burst
   fires (minimum counts aside). "Up" is the burst's multiple at ``burst_spread_p_value``,
   looser than ``p_value``: it decides between two explanations of failures already
   known to be abnormal (on a small platform a burst's first minutes are carried by its
   busiest endpoint by chance). While a burst is present, a spike opens only if it
   stands out from the burst as well: its multiple, minimum and significance hold against
   its baseline ratio scaled by the burst's multiplier (or the platform's current ratio,
   if higher) in the same window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np

from intel.detect.counts import Snapshot
from intel.detect.rules import PLATFORM_TARGET, RULES_BY_TYPE, dedup_key
from intel.detect.signals import Signal
from intel.detect.stats import concentration, opening_ratio, tail_probability
from intel.settings.detector import DetectorSettings

BURST_KEY = dedup_key("burst", PLATFORM_TARGET)


def inhibit(
    signals: list[Signal],
    snapshot: Snapshot,
    settings: DetectorSettings,
    endpoint_excess: dict[str, np.ndarray] | None = None,
    recent: Mapping[str, datetime] | None = None,
) -> list[Signal]:
    """Mark the signals that must not open (``inhibited_by``). ``endpoint_excess``: every
    endpoint's excess failures per window (aligned with the snapshot's endpoint keys),
    firing or not; ``recent``: incidents resolved lately (dedup key -> resolved at)."""
    share = settings.explain_share
    by_key = {s.dedup_key: s for s in signals}
    endpoint_tenants = snapshot.endpoint_tenants
    if recent:
        _aftermath(by_key, snapshot, recent)
    endpoint_keys = snapshot.scope("endpoint").keys
    endpoint_excess = endpoint_excess or {}

    # 1. tenant vs endpoint
    endpoints_of: dict[str, list[int]] = defaultdict(list)
    for i, url in enumerate(endpoint_keys):
        for tenant in endpoint_tenants.get(url, ()):
            endpoints_of[tenant].append(i)
    for t in [s for s in signals if s.type == "tenant_spike"]:
        window = t.window
        t_excess = t.excess_in(window)
        mine = endpoints_of.get(t.target, [])
        spikes = [by_key.get(dedup_key("endpoint_spike", endpoint_keys[i])) for i in mine]
        spikes = [e for e in spikes if e is not None]
        present = [e for e in spikes if e.present]
        if t.opens:
            table = endpoint_excess.get(window)
            carried = max((float(table[i]) for i in mine), default=0.0) if (
                table is not None) else 0.0
            if len(present) >= 2:
                pass  # spikes on two of its endpoints at once: a tenant-wide problem
            elif t_excess > 0 and carried >= share * t_excess:
                cause = max(mine, key=lambda i: float(table[i]))
                if _judged_alone(snapshot, cause, window, settings):
                    t = by_key[t.dedup_key] = t.inhibit(dedup_key("endpoint_spike",
                                                                  endpoint_keys[cause]))
        elif (not t.active and not t.inhibited_by
              and len([e for e in present if e.abnormal or e.opens]) >= 2):
            t = by_key[t.dedup_key] = t.fire()  # breadth: spikes on two of its endpoints
        if not t.present:
            continue
        for e in spikes:
            if e.opens and (t.active or e.excess_in(window) < share * t_excess):
                by_key[e.dedup_key] = e.inhibit(t.dedup_key)

    # 2. burst vs the rest
    burst = by_key.get(BURST_KEY)
    if burst is None:
        return list(by_key.values())
    window = burst.window  # compared in the burst's window
    per_tenant_e: dict[str, float] = defaultdict(float)
    per_tenant_t: dict[str, float] = {}
    top_key: dict[str, str] = {}
    for s in by_key.values():
        if s.type == "burst" or not s.present:
            continue
        if s.type == "tenant_spike":
            per_tenant_t[s.target] = s.excess_in(window)
            top_key.setdefault(s.target, s.dedup_key)
        else:
            owner = (endpoint_tenants.get(s.target) or (s.target,))[0]
            per_tenant_e[owner] += s.excess_in(window)
            top_key.setdefault(owner, s.dedup_key)
    contributions = {
        tenant: max(per_tenant_t.get(tenant, 0.0), per_tenant_e.get(tenant, 0.0))
        for tenant in set(per_tenant_t) | set(per_tenant_e)
    }
    ranked = sorted(contributions.items(), key=lambda kv: -kv[1])
    broad = len(contributions) >= settings.burst_breadth and _spread(burst, settings)
    if not burst.active and (burst.firing or burst.elevated or broad):
        top = [tenant for tenant, _ in ranked[:2]]
        top_two = sum(v for _, v in ranked[:2])
        local = bool(top) and not broad and top_two >= share * burst.excess_in(window) and (
            not _rest_elevated(snapshot, burst, top, settings)
        )
        if burst.firing and local:
            burst = by_key[BURST_KEY] = burst.inhibit(top_key[ranked[0][0]])
        elif not burst.firing and not local and broad:
            burst = by_key[BURST_KEY] = burst.fire()
    if burst.present:
        _fold_into_burst(by_key, burst, settings)
    return list(by_key.values())


def _judged_alone(snapshot: Snapshot, endpoint: int, window: str,
                  settings: DetectorSettings) -> bool:
    """Has this endpoint enough failures in ``window`` to open its own spike (the rule's
    minimum)? Below it, a tenant's evidence is spread over several endpoints: the tenant
    spike is what can open now."""
    minimum = RULES_BY_TYPE["endpoint_spike"].thresholds(settings).min_failures
    return int(snapshot.scope("endpoint").fail[window][endpoint]) >= minimum


def _aftermath(by_key: dict[str, Signal], snapshot: Snapshot,
               recent: Mapping[str, datetime]) -> None:
    """A signal whose window reaches back into a related incident that resolved since is
    that incident's leftovers, not a new problem: the same key, a tenant and its
    endpoints, or any target and a burst."""
    owners = snapshot.endpoint_tenants
    for key, s in list(by_key.items()):
        if not s.opens:
            continue
        window_start = snapshot.at - timedelta(seconds=s.window_s)
        related = [key, BURST_KEY]
        if s.type == "endpoint_spike":
            related += [dedup_key("tenant_spike", t) for t in owners.get(s.target, ())]
        elif s.type == "tenant_spike":
            related += [dedup_key("endpoint_spike", e) for e, ts in owners.items()
                        if s.target in ts]
        for other in related:
            resolved_at = recent.get(other)
            if resolved_at is not None and resolved_at > window_start:
                by_key[key] = s.inhibit(other)
                break


def _rest_elevated(snapshot: Snapshot, burst: Signal, tenants: list[str],
                   settings: DetectorSettings) -> bool:
    """Is the platform, without these tenants, still failing significantly more than its
    baseline (the burst's multiple, significance, a few failures)? Then the burst is not
    just their doing."""
    scope = snapshot.scope("tenant")
    platform = snapshot.scope("platform")
    rule = RULES_BY_TYPE["burst"]
    index = {k: i for i, k in enumerate(scope.keys)}
    rows = [index[t] for t in tenants if t in index]
    window, base = burst.window, rule.baseline

    def rest(table: dict, name: str) -> float:
        return float(table[name].sum()) if platform.keys else 0.0

    c = rest(platform.fail, window) - float(scope.fail[window][rows].sum())
    n = rest(platform.total, window) - float(scope.total[window][rows].sum())
    fb = rest(platform.fail, base) - float(scope.fail[base][rows].sum())
    nb = rest(platform.total, base) - float(scope.total[base][rows].sum())
    if c < 3 or n <= 0:
        return False
    p0 = (fb + 0.5) / (nb + 1.0)
    if c < rule.thresholds(settings).multiple * n * p0:
        return False
    conc = concentration(np.array([nb]), settings.prior_weight, settings.burst_dispersion)
    pval = tail_probability(np.array([c]), np.array([n]), np.array([p0]), conc)[0]
    return bool(pval <= settings.burst_spread_p_value)


def _spread(burst: Signal, settings: DetectorSettings) -> bool:
    """Is the platform's failure count up (the burst's multiple over its baseline) at the
    looser ``burst_spread_p_value``? Asked only when spikes already show in several
    tenants: whether the trouble is broad, not whether there is any."""
    p = burst.p_value
    return p == p and p <= settings.burst_spread_p_value


def _fold_into_burst(by_key: dict[str, Signal], burst: Signal,
                     settings: DetectorSettings) -> None:
    for key, s in list(by_key.items()):
        if s.type == "burst" or not s.opens:
            continue
        rule = RULES_BY_TYPE[s.type]
        limits = rule.thresholds(settings)
        multiple, minimum = limits.multiple, limits.min_failures
        stands_out = False
        for window in rule.windows:
            c, n, _expected = s.windows[window]
            pc, pn, pexp = burst.windows[window]
            multiplier = max(pc / pexp, 1.0) if pexp > 0 else 1.0
            platform_now = pc / pn if pn else 0.0
            p_burst = min(max(s.base_ratio * multiplier, platform_now), 1.0)
            r_open = float(opening_ratio(p_burst, multiple, settings.saturation_ratio))
            if c < minimum or c < r_open * n or p_burst >= 1.0:
                continue
            conc = concentration(np.array([s.base_total]), settings.prior_weight,
                                 settings.dispersion)
            pval = tail_probability(np.array([c]), np.array([n]), np.array([p_burst]),
                                    conc)[0]
            if pval <= settings.p_value:
                stands_out = True
                break
        if not stands_out:
            by_key[key] = s.inhibit(burst.dedup_key)
