"""How a simulated endpoint answers at a given time: the sandbox behaviour contract.

The sandbox HTTP server answers a request to a simulated endpoint the way the simulation
says that endpoint behaved at that moment, using only the database:

    scenario = load_scenario(engine)           # reads sim_events once; reload to refresh
    b = endpoint_behaviour(scenario, url, now)
    # b.http_status None: fail the connection (close without answering)
    # otherwise sleep b.delay_s, then answer b.http_status with b.headers and b.body

Rules, first match wins:
1. an injected incident whose window [start_at, end_at) contains ``at`` and lists the
   endpoint: outage (refuse, 502, 503 or a slow 504, then 200 once the window is over),
   tenant misconfiguration (401 on every endpoint of the tenant), rate-limit storm (429
   with ``Retry-After`` and rate-limit headers), platform burst. Events failing only a share
   of deliveries (rate limits ~75 %, bursts ~50 %) pick the failing requests
   deterministically from (event, endpoint, second);
2. a chronic profile, whatever the time: ``profile_gone`` 410, ``profile_not_found`` 404,
   ``profile_flaky`` a 5xx page on its share of requests;
3. otherwise healthy: 200 ``{"received": true}``.

Headers a server sets itself (Date, Content-Length, Connection) are left out.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine, select

from intel.simulate import texts
from intel.simulate.scenario import SimEvent
from intel.store.schema import sim_events
from intel.timeutil import ensure_utc

SLOW_DELAY_S = 2.0  # how long a "504" endpoint hangs before its gateway gives up
_SLOW_STATUSES = {504, 522, 524}
_PRIORITY = {"outage": 0, "misconfig": 1, "ratelimit": 2, "burst": 3}
_PROFILE_PRIORITY = {"profile_gone": 0, "profile_not_found": 1, "profile_flaky": 2}
_SERVER_SET = {"date", "content-length", "connection"}
HEALTHY_BODY = '{"received": true}'


@dataclass(frozen=True)
class Behaviour:
    http_status: int | None  # None: the connection fails (refuse / reset)
    headers: dict[str, str]
    body: str
    delay_s: float = 0.0  # answer this much later (slow endpoint)
    reason: str = ""  # the scenario event or profile that explains the answer


@dataclass(frozen=True)
class Scenario:
    events: tuple[SimEvent, ...]
    by_endpoint: dict[str, tuple[SimEvent, ...]] = field(default_factory=dict)
    by_path: dict[str, str] = field(default_factory=dict)  # URL path -> stored URL

    def endpoint_url(self, url: str) -> str | None:
        """The stored URL for ``url``; matches on the path when the host differs
        (``localhost`` vs ``127.0.0.1``)."""
        url = url.rstrip("/")
        if url in self.by_endpoint:
            return url
        return self.by_path.get(urlsplit(url).path.rstrip("/"))


def scenario_from_events(events: list[SimEvent] | tuple[SimEvent, ...]) -> Scenario:
    by_endpoint: dict[str, list[SimEvent]] = {}
    for ev in events:
        if ev.kind in _PRIORITY:
            urls = ev.details.get("endpoints") or [ev.target]
        elif ev.kind in _PROFILE_PRIORITY or ev.kind.startswith("profile_"):
            urls = [ev.target]
        else:
            continue  # surges change volume only
        for url in urls:
            by_endpoint.setdefault(url.rstrip("/"), []).append(ev)
    paths: dict[str, list[str]] = {}
    for url in by_endpoint:
        paths.setdefault(urlsplit(url).path.rstrip("/"), []).append(url)
    by_path = {p: urls[0] for p, urls in paths.items() if len(urls) == 1}
    return Scenario(
        events=tuple(events),
        by_endpoint={k: tuple(sorted(v, key=lambda e: e.start_at)) for k, v in
                     by_endpoint.items()},
        by_path=by_path,
    )


def load_scenario(engine: Engine, *, seed: int | None = None) -> Scenario:
    """Every simulated event in the database (or only those of ``seed``)."""
    stmt = select(sim_events).order_by(sim_events.c.start_at, sim_events.c.id)
    if seed is not None:
        stmt = stmt.where(sim_events.c.id.like(f"sim{seed}-%"))
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    events = [SimEvent(id=r["id"], kind=r["kind"], is_anomaly=r["is_anomaly"],
                       expected_type=r["expected_type"], target=r["target"],
                       start_at=r["start_at"], end_at=r["end_at"],
                       description=r["description"] or "", details=r["details"] or {})
              for r in rows]
    return scenario_from_events(events)


def endpoint_behaviour(scenario: Scenario, endpoint_url: str, at: datetime) -> Behaviour:
    """What the simulated endpoint at ``endpoint_url`` answers at ``at`` (pure)."""
    at = ensure_utc(at)
    url = scenario.endpoint_url(endpoint_url)
    events = scenario.by_endpoint.get(url, ()) if url else ()
    active = sorted((ev for ev in events if ev.kind in _PRIORITY
                     and ev.start_at <= at < ev.end_at),
                    key=lambda ev: (_PRIORITY[ev.kind], ev.start_at))
    for ev in active:
        share = float(ev.details.get("share", 1.0))
        if share >= 1.0 or _fraction(ev.id, url, at) < share:
            return _incident(ev, url, at)
    profiles = sorted((ev for ev in events if ev.kind in _PROFILE_PRIORITY),
                      key=lambda ev: _PROFILE_PRIORITY[ev.kind])
    for ev in profiles:
        share = float(ev.details.get("share", 1.0))
        if share >= 1.0 or _fraction(ev.id, url, at) < share:
            return _incident(ev, url, at)
    return healthy()


def healthy(reason: str = "healthy") -> Behaviour:
    return Behaviour(200, {"Content-Type": "application/json"}, HEALTHY_BODY, 0.0, reason)


def _fraction(event_id: str, url: str, at: datetime) -> float:
    digest = hashlib.blake2b(f"{event_id}|{url}|{int(at.timestamp())}".encode(),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _target(ev: SimEvent, url: str) -> texts.Target:
    d = ev.details
    return texts.target_from_url(url, client=d.get("client", "go"),
                                 proxy=d.get("proxy", "nginx"), tenant=d.get("tenant", ""))


def _rendered(cause: str, ev: SimEvent, url: str, at: datetime, reason: str,
              delay_s: float = 0.0) -> Behaviour:
    rnd = random.Random(f"{ev.id}|{url}|{int(at.timestamp())}")
    out = texts.render(cause, rnd, _target(ev, url), at.timestamp())
    if out.http_status is None:
        return Behaviour(None, {}, "", 0.0, reason)
    headers = {k: v for k, v in (out.headers or {}).items() if k.lower() not in _SERVER_SET}
    return Behaviour(out.http_status, headers, out.body or "", delay_s, reason)


def _incident(ev: SimEvent, url: str, at: datetime) -> Behaviour:
    d = ev.details
    mode = str(d.get("mode", ""))
    reason = f"{ev.id}: {ev.description}" if ev.description else ev.id
    if mode == "refuse":
        return Behaviour(None, {}, "", 0.0, reason)
    if ev.kind == "ratelimit":
        retry_after = int(d.get("retry_after_s", 30))
        rnd = random.Random(f"{ev.id}|{url}|{int(at.timestamp())}")
        headers = {k: v for k, v in texts.rate_limit_headers(rnd, at.timestamp(),
                                                              retry_after).items()
                   if k.lower() not in _SERVER_SET}
        headers["Retry-After"] = str(retry_after)
        headers.setdefault("X-RateLimit-Remaining", "0")
        body = f'{{"error": "rate_limited", "retry_after": {retry_after}}}'
        return Behaviour(429, headers, body, 0.0, reason)
    if ev.kind == "misconfig":
        return _rendered("misconfig_401", ev, url, at, reason)
    if ev.kind == "burst":
        return Behaviour(504, {"Content-Type": "text/plain", "Server": "envoy"},
                         "upstream request timeout", SLOW_DELAY_S, reason)
    if ev.kind == "profile_gone":
        return _rendered("http_410", ev, url, at, reason)
    if ev.kind == "profile_not_found":
        return _rendered("http_404", ev, url, at, reason)
    cause = d.get("cause")
    if cause not in texts.CAUSES and mode.isdigit():
        # Events written without a cause: the page the endpoint's proxy shows for ``mode``.
        fallback = texts.PROXY_DOWN.get(d.get("proxy", "nginx"), texts.PROXY_DOWN["nginx"])
        if texts.status_of(fallback.get(mode, "")) == int(mode):
            cause = fallback[mode]
    if cause in texts.CAUSES and texts.status_of(cause):
        status = texts.status_of(cause)
        delay = SLOW_DELAY_S if status in _SLOW_STATUSES else 0.0
        return _rendered(cause, ev, url, at, reason, delay)
    if mode.isdigit() and int(mode) >= 500:
        return Behaviour(int(mode), {"Content-Type": "text/plain"}, "upstream unavailable",
                         0.0, reason)
    return healthy(reason)
