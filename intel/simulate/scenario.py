"""Injected incidents, harmless confounders and chronic endpoint profiles (ground truth).

Every event becomes a ``sim_events`` row. Anomalies (``is_anomaly=1``) carry the incident
type the detector should raise; confounders and profiles (``is_anomaly=0``) must not
raise one. Placement is deterministic from the seed and the simulated period.

Event ``details`` hold everything the sandbox needs to answer like the simulated
endpoint (see ``intel.simulate.behaviour``): the affected endpoint URLs, the mode
(``refuse`` | ``502`` | ``503`` | ``504`` | ``401`` | ``429`` | ``410`` | ``404``), the
share of failing requests, the cause each endpoint's failures are written with, and
``Retry-After`` for rate limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from intel.simulate import texts
from intel.simulate.world import Endpoint, World

# kind -> (expected incident type, events per simulated day, duration range in minutes)
ANOMALIES = {
    "outage": ("endpoint_spike", 0.7, (20, 75)),
    "misconfig": ("tenant_spike", 0.45, (30, 120)),
    "burst": ("burst", 0.6, (10, 20)),
    "ratelimit": ("endpoint_spike", 0.45, (15, 45)),
}
CONFOUNDERS = {"surge": (0.45, (60, 180))}
PROFILE_KINDS = ("profile_flaky", "profile_gone", "profile_not_found", "profile_sparse")
SCENARIOS = ("default", "calm")

_OUTAGE_MODES = ("refuse", "503", "502", "504")


@dataclass
class SimEvent:
    id: str
    kind: str
    is_anomaly: int
    expected_type: str | None
    target: str
    start_at: datetime
    end_at: datetime
    description: str
    details: dict = field(default_factory=dict)

    def row(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "is_anomaly": self.is_anomaly,
            "expected_type": self.expected_type, "target": self.target,
            "start_at": self.start_at, "end_at": self.end_at,
            "description": self.description, "details": self.details,
        }


@dataclass
class Overlay:
    """How one event changes traffic: which endpoints fail, with which cause, how often."""

    event: SimEvent
    start_us: int
    end_us: int
    endpoints: np.ndarray  # endpoint indexes
    causes: list[str]  # cause per endpoint (parallel to ``endpoints``)
    share: float  # probability that a delivery in the window fails this way


def event_prefix(seed: int) -> str:
    return f"sim{seed}-"


def history_event_prefix(seed: int) -> str:
    return f"sim{seed}-h-"


def _us(dt: datetime) -> int:
    return int(dt.timestamp() * 1_000_000)


def profile_events(world: World, start: datetime, end: datetime) -> list[SimEvent]:
    """One event per chronic endpoint, covering the whole period."""
    events = []
    counts: dict[str, int] = {}
    for ep in world.endpoints:
        if not ep.profile:
            continue
        kind = f"profile_{ep.profile}"
        counts[kind] = counts.get(kind, 0) + 1
        details = _endpoint_details(ep)
        if ep.profile == "flaky":
            details.update(mode=_proxy_mode(ep), share=round(ep.fail_rate, 3),
                           cause=texts.PROXY_DOWN[ep.target.proxy]["502"],
                           causes=sorted(ep.mix))
            desc = f"chronically flaky endpoint: ~{ep.fail_rate:.0%} transient failures"
        elif ep.profile == "gone":
            details.update(mode="410", share=1.0, cause="http_410")
            desc = "endpoint removed by the customer: 410 Gone on every delivery"
        elif ep.profile == "not_found":
            details.update(mode="404", share=1.0, cause="http_404")
            desc = "endpoint path no longer routed: 404 Not Found on every delivery"
        else:
            details.update(mode="200", share=round(ep.fail_rate, 3),
                           per_day=round(ep.sparse_per_day, 2))
            desc = f"sparse endpoint: ~{ep.sparse_per_day:.0f} deliveries a day"
        events.append(SimEvent(
            id=f"sim{world.seed}-{kind}-{counts[kind]:02d}", kind=kind, is_anomaly=0,
            expected_type=None, target=ep.url, start_at=start, end_at=end, description=desc,
            details=details,
        ))
    return events


def _endpoint_details(ep: Endpoint) -> dict:
    return {"endpoint": ep.url, "tenant": ep.tenant, "client": ep.target.client,
            "proxy": ep.target.proxy}


def _proxy_mode(ep: Endpoint) -> str:
    return str(texts.status_of(texts.PROXY_DOWN[ep.target.proxy]["502"]))


def plan_history(world: World, start: datetime, end: datetime, scenario: str) -> list[SimEvent]:
    """The injected incidents and confounders of a history run (no profiles)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r} (known: {', '.join(SCENARIOS)})")
    rng = np.random.default_rng([world.seed, 3, int(start.timestamp()), int(end.timestamp())])
    period_s = (end - start).total_seconds()
    days = period_s / 86400
    kinds: list[str] = []
    if scenario == "default":
        for kind, (_, per_day, _) in ANOMALIES.items():
            kinds += [kind] * max(1, round(per_day * days))
    for kind, (per_day, _) in CONFOUNDERS.items():
        kinds += [kind] * max(1, round(per_day * days))
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    warmup = min(12 * 3600.0, 0.15 * period_s)
    tail = min(3600.0, 0.05 * period_s)
    slot = (period_s - warmup - tail) / len(kinds)
    pickers = TargetPicker(world, rng)
    events = []
    counters: dict[str, int] = {}
    for i, kind in enumerate(kinds):
        lo, hi = ANOMALIES[kind][2] if kind in ANOMALIES else CONFOUNDERS[kind][1]
        duration = min(float(rng.uniform(lo, hi)) * 60, 0.6 * slot)
        offset = float(rng.uniform(0.1 * slot, max(0.1 * slot, slot - duration - 0.1 * slot)))
        s = start + timedelta(seconds=warmup + i * slot + offset)
        s = s.replace(microsecond=0)
        e = s + timedelta(seconds=max(1, round(duration)))
        counters[kind] = counters.get(kind, 0) + 1
        eid = f"{history_event_prefix(world.seed)}{kind}-{counters[kind]:02d}"
        events.append(make_event(world, rng, kind, eid, s, e, pickers))
    return events


class TargetPicker:
    """Distinct, detectable targets: busy endpoints and mid-size tenants."""

    def __init__(self, world: World, rng, *, busiest: bool = False):
        """``busiest``: always the busiest endpoint / second-busiest tenant (live demo)."""
        self.world = world
        self.rng = rng
        self.busiest = busiest
        w = world.endpoint_rate_weight()
        regular = [e.index for e in world.endpoints if not e.profile]
        regular.sort(key=lambda i: -w[i])
        self.busy = regular[:1] if busiest else regular[: max(4, len(regular) // 3)]
        self.used_endpoints: list[int] = []
        self.used_tenants: list[int] = []

    def endpoint(self) -> Endpoint:
        free = [i for i in self.busy if i not in self.used_endpoints] or list(self.busy)
        w = self.world.endpoint_rate_weight()[free]
        pick = int(self.rng.choice(np.array(free), p=w / w.sum()))
        self.used_endpoints.append(pick)
        return self.world.endpoints[pick]

    def tenant(self, ranks: range) -> int:
        if self.busiest:
            ranks = range(1, 2)
        candidates = [t for t in ranks if t < len(self.world.tenants)]
        free = [t for t in candidates if t not in self.used_tenants] or candidates
        pick = int(self.rng.choice(np.array(free)))
        self.used_tenants.append(pick)
        return pick


def make_event(world: World, rng, kind: str, eid: str, s: datetime, e: datetime,
               picker: TargetPicker | None = None) -> SimEvent:
    """One event of ``kind`` in [s, e), targets chosen with ``rng``."""
    picker = picker or TargetPicker(world, rng)
    expected = ANOMALIES[kind][0] if kind in ANOMALIES else None
    minutes = round((e - s).total_seconds() / 60)
    if kind == "outage":
        ep = picker.endpoint()
        mode = str(rng.choice(np.array(_OUTAGE_MODES)))
        if mode == "refuse":
            cause = f"conn_refused_{ep.target.client}"
        else:
            cause = texts.PROXY_DOWN[ep.target.proxy][mode]
            mode = str(texts.status_of(cause))  # e.g. Cloudflare says 521 for a down origin
        details = _endpoint_details(ep) | {"mode": mode, "share": 1.0, "cause": cause,
                                           "endpoints": [ep.url]}
        how = "refuses connections" if mode == "refuse" else f"answers {mode} ({cause})"
        return SimEvent(eid, kind, 1, expected, ep.url, s, e,
                        f"endpoint outage for {minutes} min: {how}, then recovers", details)
    if kind == "ratelimit":
        ep = picker.endpoint()
        retry_after = int(rng.choice(np.array([15, 30, 60, 120])))
        details = _endpoint_details(ep) | {"mode": "429", "share": 0.75,
                                           "cause": "rate_limit_429", "retry_after_s": retry_after,
                                           "endpoints": [ep.url]}
        return SimEvent(eid, kind, 1, expected, ep.url, s, e,
                        f"rate-limit storm for {minutes} min: 429 with Retry-After "
                        f"{retry_after}s on ~75% of deliveries", details)
    if kind == "misconfig":
        ti = picker.tenant(range(1, 12))
        tenant = world.tenants[ti]
        # A removed endpoint (410/404 profile) keeps answering as removed.
        urls = [world.endpoints[i].url for i in tenant.endpoints
                if world.endpoints[i].profile not in ("gone", "not_found")]
        details = {"tenant": tenant.name, "mode": "401", "share": 1.0, "cause": "misconfig_401",
                   "endpoints": urls}
        return SimEvent(eid, kind, 1, expected, tenant.name, s, e,
                        f"tenant misconfiguration for {minutes} min: every endpoint of "
                        f"{tenant.name} answers 401 (rotated signing secret)", details)
    if kind == "burst":
        regular = [ep for ep in world.endpoints if not ep.profile]
        k = max(1, round(len(regular) * float(rng.uniform(0.75, 0.95))))
        picks = sorted(int(i) for i in rng.choice(len(regular), size=k, replace=False))
        family = str(rng.choice(np.array(["dns_eai_again", "timeout", "reset"])))
        share = round(float(rng.uniform(0.45, 0.7)), 2)
        mode = "504" if family == "timeout" else "refuse"
        details = {"mode": mode, "share": share, "family": family,
                   "endpoints": [regular[i].url for i in picks],
                   "causes": [f"{family}_{regular[i].target.client}" for i in picks]}
        return SimEvent(eid, kind, 1, expected, "*", s, e,
                        f"platform-wide burst for {minutes} min: {family} failures on "
                        f"{k} endpoints (~{share:.0%} of their deliveries)", details)
    if kind == "surge":
        ti = picker.tenant(range(0, 10))
        tenant = world.tenants[ti]
        mult = round(float(rng.uniform(2.5, 4.0)), 2)
        details = {"tenant": tenant.name, "multiplier": mult,
                   "endpoints": [world.endpoints[i].url for i in tenant.endpoints
                                 if world.endpoints[i].profile != "sparse"]}
        return SimEvent(eid, kind, 0, None, tenant.name, s, e,
                        f"traffic surge for {minutes} min: {tenant.name} sends x{mult} "
                        "deliveries, failure ratio unchanged", details)
    raise ValueError(f"unknown event kind {kind!r}")


def overlays(world: World, events: list[SimEvent]) -> list[Overlay]:
    """The failure-injecting events (not surges, not profiles), as index arrays."""
    url_index = {ep.url: ep.index for ep in world.endpoints}
    out = []
    for ev in events:
        if ev.kind not in ANOMALIES:
            continue
        urls = ev.details.get("endpoints") or [ev.target]
        idx = [url_index[u] for u in urls if u in url_index]
        if not idx:
            continue
        if ev.kind == "burst":
            causes = [c for u, c in zip(urls, ev.details["causes"], strict=True)
                      if u in url_index]
        else:
            causes = [ev.details["cause"]] * len(idx)
        out.append(Overlay(ev, _us(ev.start_at), _us(ev.end_at), np.array(idx, dtype=np.int64),
                           causes, float(ev.details.get("share", 1.0))))
    return out
