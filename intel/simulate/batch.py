"""Turning (time, endpoint) skeletons into delivery records, columnar.

Sampling is vectorised with numpy; only failures (a few per cent) and the payload text
go through a per-row Python step. A ``Batch`` holds the columns ready for the bulk writer
(JSON already serialised, times as integers) and can produce CONTRACTS §1 record dicts.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from intel.simulate import texts
from intel.simulate.scenario import Overlay
from intel.simulate.world import World

US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUSES = np.array(["delivered", "failed", "pending"], dtype=object)
DELIVERED, FAILED, PENDING = 0, 1, 2
# Cumulative seconds from the first attempt to attempt k (retry schedule of the sender).
BACKOFF_S = np.array([0, 10, 70, 370, 2170, 9370], dtype=np.float64)
_FAILED_ATTEMPTS_P = np.array([0.35, 0.2, 0.15, 0.12, 0.1, 0.08])
PENDING_SHARE = 0.003
_CURRENCIES = np.array(["usd", "eur", "gbp", "usd", "usd", "eur", "jpy", "cad"], dtype=object)
JSON_NULL = "null"  # how the store keeps a None JSON document (SQLAlchemy JSON default)


def to_datetime(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


def to_us(dt: datetime) -> int:
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * US + delta.microseconds


def db_times(us: np.ndarray) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC): how the store writes a UTCDateTime on SQLite."""
    text = np.datetime_as_string(us.astype("datetime64[us]"), unit="us")
    return [s.replace("T", " ") for s in text.tolist()]


class WorldArrays:
    """Per-endpoint lookup arrays for vectorised sampling."""

    def __init__(self, world: World, profile_event_ids: dict[int, str]):
        self.world = world
        eps = world.endpoints
        self.fail_rate = np.array([e.fail_rate for e in eps])
        self.tenant = np.array([e.tenant_index for e in eps], dtype=np.int32)
        self.latency = np.array([e.latency_ms for e in eps])
        self.causes = sorted({c for e in eps for c in e.mix} | set(texts.CAUSES))
        self.cause_index = {c: i for i, c in enumerate(self.causes)}
        mix = np.zeros((len(eps), len(self.causes)))
        for e in eps:
            for c, w in e.mix.items():
                mix[e.index, self.cause_index[c]] = w
        self.mix_cum = np.cumsum(mix, axis=1)
        k = max(len(e.event_types) for e in eps)
        self.et_cum = np.ones((len(eps), k))
        self.et_names = np.empty((len(eps), k), dtype=object)
        for e in eps:
            cum = np.cumsum(e.event_weights)
            self.et_cum[e.index, : len(cum)] = cum
            self.et_names[e.index, : len(cum)] = e.event_types
            self.et_names[e.index, len(cum):] = e.event_types[-1]
        variants = [texts.SUCCESS_VARIANTS[e.success] for e in eps]
        self.ok_status = np.array([v[0] for v in variants], dtype=object)
        self.ok_headers = np.array([json.dumps(v[1]) if v[1] is not None else JSON_NULL
                                    for v in variants], dtype=object)
        self.ok_body = np.array([v[2] for v in variants], dtype=object)
        self.tenant_name = np.array([e.tenant for e in eps], dtype=object)
        self.url = np.array([e.url for e in eps], dtype=object)
        self.profile_event = profile_event_ids
        self.templates = world.payload_templates


@dataclass
class Batch:
    """One batch of simulated deliveries (columns) and the ground truth of its failures."""

    ids: list[str]
    tenant: list[str]
    endpoint: list[str]
    event_type: list[str]
    status: list[str]
    http_status: list[int | None]
    error: list[str | None]
    headers_json: list[str]
    body: list[str | None]
    attempts: list[int]
    created_us: np.ndarray
    last_us: np.ndarray
    duration_ms: list[float | None]
    payload_json: list[str]
    truth: list[tuple[str, str, str, str | None]]  # (delivery_id, cause, category, event)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def failures(self) -> int:
        return len(self.truth)

    def records(self) -> list[dict]:
        """CONTRACTS §1 records (aware UTC datetimes, JSON fields as objects)."""
        created = [to_datetime(u) for u in self.created_us.tolist()]
        last = [to_datetime(u) for u in self.last_us.tolist()]
        out = []
        for i in range(len(self.ids)):
            h = self.headers_json[i]
            out.append({
                "id": self.ids[i], "tenant": self.tenant[i], "endpoint": self.endpoint[i],
                "event_type": self.event_type[i], "status": self.status[i],
                "http_status": self.http_status[i], "error": self.error[i],
                "response_headers": None if h == JSON_NULL else json.loads(h),
                "response_body": self.body[i], "attempts": self.attempts[i],
                "created_at": created[i], "last_attempt_at": last[i],
                "duration_ms": self.duration_ms[i], "payload": json.loads(self.payload_json[i]),
            })
        return out

    def truth_records(self) -> list[dict]:
        return [{"delivery_id": d, "cause": c, "category": k, "scenario_event": e}
                for d, c, k, e in self.truth]


def materialise(wa: WorldArrays, overlays: list[Overlay], t_us: np.ndarray, ep: np.ndarray,
                ids: list[str], rng: np.random.Generator, prnd: random.Random) -> Batch:
    """Outcomes, texts and payloads for deliveries whose latest attempt ends at ``t_us``."""
    n = len(t_us)
    ep = ep.astype(np.int64)
    u = rng.random((n, 8))
    # 1. baseline failures from each endpoint's own mix
    fail = u[:, 0] < wa.fail_rate[ep]
    cause = np.full(n, -1, dtype=np.int64)
    fi = np.flatnonzero(fail)
    if fi.size:
        cum = wa.mix_cum[ep[fi]]
        cause[fi] = np.minimum((u[fi, 1][:, None] > cum).sum(axis=1), cum.shape[1] - 1)
    event = np.full(n, -1, dtype=np.int64)
    ev_ids: list[str] = []
    # 2. injected incidents override inside their windows
    pos = np.full(len(wa.world.endpoints), -1, dtype=np.int64)
    for ov in overlays:
        in_win = (t_us >= ov.start_us) & (t_us < ov.end_us)
        if not in_win.any():
            continue
        pos[:] = -1
        pos[ov.endpoints] = np.arange(len(ov.endpoints))
        p = pos[ep]
        hit = in_win & (p >= 0) & (u[:, 2] < ov.share)
        if not hit.any():
            continue
        ov_cause = np.array([wa.cause_index[c] for c in ov.causes], dtype=np.int64)
        fail |= hit
        cause[hit] = ov_cause[p[hit]]
        event[hit] = len(ev_ids)
        ev_ids.append(ov.event.id)
    status = np.where(fail, FAILED, DELIVERED)
    status[(~fail) & (u[:, 3] < PENDING_SHARE)] = PENDING
    # 3. attempts so far, and when the first one started
    attempts = np.ones(n, dtype=np.int64)
    ok = status == DELIVERED
    attempts[ok] += (u[ok, 4] < 0.04).astype(np.int64) * (1 + (u[ok, 5] < 0.3))
    failed = status == FAILED
    attempts[failed] = 1 + np.searchsorted(np.cumsum(_FAILED_ATTEMPTS_P), u[failed, 4] * 0.9999)
    duration = np.round(wa.latency[ep] * np.exp(0.5 * rng.standard_normal(n)), 1)
    # 4. response fields: success replies per endpoint, failures rendered one by one
    http = wa.ok_status[ep].copy()
    headers = wa.ok_headers[ep].copy()
    body = wa.ok_body[ep].copy()
    error = np.full(n, None, dtype=object)
    dur = duration.astype(object)
    pend = np.flatnonzero(status == PENDING)
    http[pend] = None
    headers[pend] = JSON_NULL
    body[pend] = None
    dur[pend] = None
    attempts_l = attempts.tolist()
    truth = []
    fail_idx = np.flatnonzero(failed).tolist()
    for i in fail_idx:
        e = int(ep[i])
        name = wa.causes[cause[i]]
        out = texts.render(name, prnd, wa.world.endpoints[e].target, t_us[i] / US)
        http[i] = out.http_status
        error[i] = out.error
        headers[i] = json.dumps(out.headers) if out.headers is not None else JSON_NULL
        body[i] = out.body
        dur[i] = out.duration_ms
        duration[i] = out.duration_ms
        ev = ev_ids[event[i]] if event[i] >= 0 else wa.profile_event.get(e)
        truth.append((ids[i], name, texts.category_of(name), ev))
    backoff_us = BACKOFF_S[attempts - 1] * US + (u[:, 7] * 2 * US) * (attempts > 1)
    created = t_us - (duration * 1000).astype(np.int64) - backoff_us.astype(np.int64)
    created[pend] = t_us[pend]
    # 5. event types and payloads
    et_idx = (u[:, 6][:, None] > wa.et_cum[ep]).sum(axis=1)
    et_idx = np.minimum(et_idx, wa.et_cum.shape[1] - 1)
    event_type = wa.et_names[ep, et_idx].tolist()
    tenant_i = wa.tenant[ep].tolist()
    evt = rng.integers(0, 2**62, n).tolist()
    obj = rng.integers(0, 16**12, n).tolist()
    cus = rng.integers(0, 16**10, n).tolist()
    amount = np.round(rng.lognormal(8.0, 1.2, n)).astype(np.int64).tolist()
    cur = _CURRENCIES[rng.integers(0, len(_CURRENCIES), n)].tolist()
    qty = rng.integers(1, 6, n).tolist()
    created_s = (created // US).tolist()
    templates = wa.templates
    payload = [
        templates[(ti, et)].format(f"{a:016x}", c, f"{b:012x}", f"{d:010x}", m, cu, q)
        for ti, et, a, c, b, d, m, cu, q in zip(
            tenant_i, event_type, evt, created_s, obj, cus, amount, cur, qty, strict=True)
    ]
    return Batch(
        ids=ids, tenant=wa.tenant_name[ep].tolist(), endpoint=wa.url[ep].tolist(),
        event_type=event_type, status=STATUSES[status].tolist(), http_status=http.tolist(),
        error=error.tolist(), headers_json=headers.tolist(), body=body.tolist(),
        attempts=attempts_l, created_us=created, last_us=t_us.astype(np.int64),
        duration_ms=dur.tolist(), payload_json=payload, truth=truth,
    )
