"""When deliveries happen and to which endpoint: volumes, seasonality, surges (numpy).

Times are int64 microseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import numpy as np

from intel.simulate.scenario import SimEvent
from intel.simulate.world import World

US = 1_000_000
_WEEK_S = 7 * 86400


def seasonality(t_s: np.ndarray, tz_hours: float) -> np.ndarray:
    """Relative intensity at epoch seconds ``t_s`` for a tenant living at ``tz_hours``.

    Diurnal (peak mid-afternoon local time, quiet at night) times weekly (weekends lighter).
    """
    local = np.asarray(t_s, dtype=np.float64) + tz_hours * 3600.0
    hour = (local % 86400.0) / 3600.0
    dow = ((local // 86400.0).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    diurnal = (0.62 + 0.35 * np.cos(2 * np.pi * (hour - 14.5) / 24)
               + 0.05 * np.cos(4 * np.pi * (hour - 11.0) / 24))
    weekly = np.where(dow == 5, 0.55, np.where(dow == 6, 0.45, 1.0))
    return diurnal * weekly


def mean_seasonality(tz_hours: float) -> float:
    t = np.arange(0, _WEEK_S, 300, dtype=np.float64)
    return float(seasonality(t, tz_hours).mean())


def history_skeleton(world: World, events: list[SimEvent], start_us: int, end_us: int,
                     total: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(times, endpoint indexes) of ``total`` deliveries in [start, end), sorted by time."""
    rng = np.random.default_rng([seed, 0])
    period_s = (end_us - start_us) / US
    n_bins = max(1, round(period_s / 60))
    width_us = (end_us - start_us) / n_bins
    edges_us = start_us + width_us * np.arange(n_bins)
    mids_s = (edges_us + width_us / 2) / US
    days = period_s / 86400
    tenant_p = []
    for tenant in world.tenants:
        w = seasonality(mids_s, tenant.tz_hours)
        tenant_p.append(w / w.sum())

    times: list[np.ndarray] = []
    eps: list[np.ndarray] = []
    budget = total

    # Sparse endpoints: a few deliveries a day each.
    for ep in world.endpoints:
        if ep.profile != "sparse":
            continue
        n = min(budget, int(rng.poisson(ep.sparse_per_day * days)))
        budget -= n
        t = _sample_bins(rng, tenant_p[ep.tenant_index], n, edges_us, width_us)
        times.append(t)
        eps.append(np.full(n, ep.index, dtype=np.int32))

    regular = [ep for ep in world.endpoints if ep.profile != "sparse"]
    weights = np.array([world.tenants[ep.tenant_index].weight * ep.share for ep in regular])
    weights = weights / weights.sum()

    # Surges: extra deliveries of one tenant inside the window, same endpoint mix.
    extras = []
    for ev in events:
        if ev.kind != "surge":
            continue
        tenant = next(t for t in world.tenants if t.name == ev.target)
        s_us, e_us = int(ev.start_at.timestamp() * US), int(ev.end_at.timestamp() * US)
        in_window = (edges_us + width_us > s_us) & (edges_us < e_us)
        frac = float(tenant_p[tenant.index][in_window].sum())
        mine = [i for i, ep in enumerate(regular) if ep.tenant_index == tenant.index]
        tenant_w = float(weights[mine].sum())
        n = round((ev.details["multiplier"] - 1) * total * tenant_w * frac)
        n = min(budget, n)
        budget -= n
        extras.append((tenant, s_us, e_us, in_window, mine, n))

    # Regular traffic: per endpoint counts, times shaped by the tenant's local day.
    counts = rng.multinomial(budget, weights)
    for tenant in world.tenants:
        mine = [i for i, ep in enumerate(regular) if ep.tenant_index == tenant.index]
        n = int(counts[mine].sum())
        if n == 0:
            continue
        t = _sample_bins(rng, tenant_p[tenant.index], n, edges_us, width_us)
        labels = np.repeat(np.array([regular[i].index for i in mine], dtype=np.int32),
                           counts[mine])
        times.append(t)
        eps.append(rng.permutation(labels))

    for tenant, s_us, e_us, in_window, mine, n in extras:
        p = np.where(in_window, tenant_p[tenant.index], 0.0)
        if n == 0 or p.sum() <= 0:
            continue
        t = _sample_bins(rng, p / p.sum(), n, edges_us, width_us)
        t = np.clip(t, s_us, e_us - 1)
        w = weights[mine] / weights[mine].sum()
        labels = rng.choice(np.array([regular[i].index for i in mine], dtype=np.int32), size=n,
                            p=w)
        times.append(t)
        eps.append(labels)

    t_all = np.concatenate(times) if times else np.zeros(0, dtype=np.int64)
    ep_all = np.concatenate(eps) if eps else np.zeros(0, dtype=np.int32)
    order = np.argsort(t_all, kind="stable")
    return t_all[order], ep_all[order]


def _sample_bins(rng, p: np.ndarray, n: int, edges_us: np.ndarray, width_us: float) -> np.ndarray:
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    per_bin = rng.multinomial(n, p)
    starts = np.repeat(edges_us, per_bin)
    return (starts + rng.random(n) * width_us).astype(np.int64)


def live_skeleton(world: World, seed: int, slot_start_us: int, slot_end_us: int,
                  per_second: float, rates_cache: dict | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Deliveries whose latest attempt falls in one live slot (Poisson per endpoint)."""
    rng = np.random.default_rng([seed, 7, slot_start_us])
    span_s = (slot_end_us - slot_start_us) / US
    mid_s = np.array([(slot_start_us + slot_end_us) / 2 / US])
    weights = _live_weights(world, rates_cache)
    times: list[np.ndarray] = []
    eps: list[np.ndarray] = []
    for ep in world.endpoints:
        tenant = world.tenants[ep.tenant_index]
        season = float(seasonality(mid_s, tenant.tz_hours)[0]) / _mean(tenant.tz_hours,
                                                                        rates_cache)
        if ep.profile == "sparse":
            lam = ep.sparse_per_day / 86400 * span_s * season
        else:
            lam = per_second * weights[ep.index] * span_s * season
        n = int(rng.poisson(lam))
        if n:
            times.append(slot_start_us + (rng.random(n) * (slot_end_us - slot_start_us))
                         .astype(np.int64))
            eps.append(np.full(n, ep.index, dtype=np.int32))
    if not times:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    t_all = np.concatenate(times)
    ep_all = np.concatenate(eps)
    order = np.argsort(t_all, kind="stable")
    return t_all[order], ep_all[order]


def _live_weights(world: World, cache: dict | None) -> np.ndarray:
    if cache is not None and "weights" in cache:
        return cache["weights"]
    w = np.array([0.0 if ep.profile == "sparse"
                  else world.tenants[ep.tenant_index].weight * ep.share
                  for ep in world.endpoints])
    w = w / w.sum()
    if cache is not None:
        cache["weights"] = w
    return w


def _mean(tz: float, cache: dict | None) -> float:
    if cache is None:
        return mean_seasonality(tz)
    key = ("mean", tz)
    if key not in cache:
        cache[key] = mean_seasonality(tz)
    return cache[key]
