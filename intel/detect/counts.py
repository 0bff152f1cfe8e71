"""Window counts: what the detector decides on.

Deliveries are counted in fixed buckets of ``bucket_s`` seconds per (tenant, endpoint,
failure family — ``intel.detect.families``; family 0 is "delivered"): every finished
delivery (failed or delivered; pending ones have no outcome yet) counts once, at its
``last_attempt_at``. From those counts a *snapshot* at an instant ``now`` (a bucket
boundary) holds, for each scope (platform, endpoint, tenant) and each window of
``intel.detect.rules.WINDOWS``, the failures, the finished deliveries and the failures
per family of every key.

Two stores compute window sums: ``CumulativeCounts`` (all of history as cumulative sums,
for the backtest) and ``intel.worker.counts.RollingCounts`` (a ring the worker keeps up to
date). Both feed ``snapshot_at``, so the worker and the backtest decide on the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from intel.detect.families import N_FAMILIES
from intel.detect.rules import PLATFORM_TARGET, WINDOWS

SCOPES = ("platform", "endpoint", "tenant")


def bucket_size_for(step_s: float) -> int:
    """Bucket width for ticks every ``step_s``: gcd(step, 300), so every window and every
    tick instant falls on a bucket boundary."""
    if step_s <= 0 or step_s != int(step_s):
        raise ValueError(f"step must be a whole number of seconds, got {step_s!r}")
    return math.gcd(int(step_s), 300)


def bucket_of(epoch: float, bucket_s: int, offset: int = 0) -> int:
    return int((epoch - offset) // bucket_s)


class LazyFamilies:
    """Failures per family, ``[window] -> (K, N_FAMILIES)``, counted on first use (the
    decision needs them only for keys that pass the cheap tests)."""

    def __init__(self, source, scope: str, bounds: dict[str, tuple[int, int]], rows):
        self._source, self._scope, self._bounds, self._rows = source, scope, bounds, rows
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, window: str) -> np.ndarray:
        out = self._cache.get(window)
        if out is None:
            lo, hi = self._bounds[window]
            out = self._cache[window] = self._source.family_sums(self._scope, lo, hi,
                                                                 self._rows)
        return out


@dataclass
class ScopeCounts:
    """Failures, finished deliveries and failures per family, per key, for every window."""

    keys: list[str]
    fail: dict[str, np.ndarray]  # window -> (K,)
    total: dict[str, np.ndarray]  # window -> (K,)
    fam: LazyFamilies | dict  # window -> (K, N_FAMILIES); column 0 unused
    span: dict[str, int]  # seconds of history each window really covers

    def index(self, key: str) -> int | None:
        try:
            return self.keys.index(key)
        except ValueError:
            return None


@dataclass
class Snapshot:
    at: datetime
    scopes: dict[str, ScopeCounts]
    endpoint_tenants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def scope(self, name: str) -> ScopeCounts:
        return self.scopes[name]


class WindowSource(Protocol):
    bucket_s: int
    offset: int

    def keys(self, scope: str) -> Sequence[str]: ...

    def first_bucket(self) -> int: ...

    def window_sums(
        self, scope: str, lo: int, hi: int, rows: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def family_sums(self, scope: str, lo: int, hi: int, rows: np.ndarray | None
                    ) -> np.ndarray: ...

    def endpoint_tenants(self) -> Mapping[str, tuple[str, ...]]: ...


def snapshot_at(
    source: WindowSource,
    now_epoch: float,
    rows: Mapping[str, np.ndarray | None] | None = None,
) -> Snapshot:
    """Window counts at ``now_epoch`` (a bucket boundary), for all keys or ``rows[scope]``."""
    size = source.bucket_s
    end_bucket = (now_epoch - source.offset) / size
    if end_bucket != int(end_bucket):
        raise ValueError(f"instant {now_epoch} is not on a {size}-s bucket boundary")
    end_bucket = int(end_bucket)
    first = source.first_bucket()
    scopes: dict[str, ScopeCounts] = {}
    for scope in SCOPES:
        selected = None if rows is None else rows.get(scope)
        all_keys = source.keys(scope)
        keys = list(all_keys) if selected is None else [all_keys[i] for i in selected]
        fail: dict[str, np.ndarray] = {}
        total: dict[str, np.ndarray] = {}
        bounds: dict[str, tuple[int, int]] = {}
        span: dict[str, int] = {}
        for name, (start, stop) in WINDOWS.items():
            lo = max(end_bucket - start // size, first)
            hi = max(end_bucket - stop // size, lo)
            fail[name], total[name] = source.window_sums(scope, lo, hi, selected)
            bounds[name] = (lo, hi)
            span[name] = (hi - lo) * size
        fam = LazyFamilies(source, scope, bounds, selected)
        scopes[scope] = ScopeCounts(keys=keys, fail=fail, total=total, fam=fam, span=span)
    at = datetime.fromtimestamp(now_epoch, UTC)
    return Snapshot(at=at, scopes=scopes, endpoint_tenants=source.endpoint_tenants())


@dataclass
class BucketRows:
    """Aggregated counts: one entry per (bucket, tenant, endpoint, family) seen."""

    bucket: np.ndarray  # absolute bucket index (int64)
    tenant: np.ndarray  # index into tenants
    endpoint: np.ndarray  # index into endpoints
    family: np.ndarray  # 0 delivered, 1.. failure family
    count: np.ndarray
    tenants: list[str]
    endpoints: list[str]

    @classmethod
    def from_indexed(cls, rows: Iterable[tuple[int, str, str, int, int]]) -> BucketRows:
        """From ``(bucket index, tenant, endpoint, family, count)`` tuples."""
        tenant_ix: dict[str, int] = {}
        endpoint_ix: dict[str, int] = {}
        buckets, tenants, endpoints, fams, counts = [], [], [], [], []
        t_get, e_get = tenant_ix.setdefault, endpoint_ix.setdefault
        for bucket, tenant, endpoint, family, count in rows:
            buckets.append(bucket)
            tenants.append(t_get(tenant, len(tenant_ix)))
            endpoints.append(e_get(endpoint, len(endpoint_ix)))
            fams.append(family)
            counts.append(count)
        return cls(
            bucket=np.asarray(buckets, dtype=np.int64),
            tenant=np.asarray(tenants, dtype=np.int64),
            endpoint=np.asarray(endpoints, dtype=np.int64),
            family=np.asarray(fams, dtype=np.int64),
            count=np.asarray(counts, dtype=np.int64),
            tenants=list(tenant_ix),
            endpoints=list(endpoint_ix),
        )

    @classmethod
    def empty(cls) -> BucketRows:
        z = np.zeros(0, dtype=np.int64)
        return cls(bucket=z, tenant=z, endpoint=z, family=z, count=z, tenants=[], endpoints=[])

    def __len__(self) -> int:
        return len(self.bucket)

    def pairs(self) -> dict[str, tuple[str, ...]]:
        """endpoint -> the tenants sending to it."""
        if not len(self):
            return {}
        width = len(self.tenants) + 1
        codes = np.unique(self.endpoint * width + self.tenant)
        mapping: dict[str, list[str]] = {}
        for code in codes.tolist():
            e, t = divmod(code, width)
            mapping.setdefault(self.endpoints[e], []).append(self.tenants[t])
        return {e: tuple(sorted(ts)) for e, ts in mapping.items()}

    def scope_index(self, scope: str) -> np.ndarray:
        if scope == "platform":
            return np.zeros(len(self), dtype=np.int64)
        return self.endpoint if scope == "endpoint" else self.tenant

    def scope_keys(self, scope: str) -> list[str]:
        if scope == "platform":
            return [PLATFORM_TARGET]
        return list(self.endpoints if scope == "endpoint" else self.tenants)


class _SparseFamilies:
    """Failures per (key, family) as one sorted code array with cumulative counts."""

    def __init__(self, key: np.ndarray, family: np.ndarray, bucket: np.ndarray,
                 count: np.ndarray, n_buckets: int):
        self.n_buckets = n_buckets + 1
        code = (key * N_FAMILIES + family) * self.n_buckets + bucket
        order = np.argsort(code, kind="stable")
        self.code = code[order]
        self.cum = np.concatenate([[0], np.cumsum(count[order])])
        pair = np.unique(key * N_FAMILIES + family)
        self.families_of: dict[int, np.ndarray] = {}
        for k in np.unique(pair // N_FAMILIES).tolist():
            self.families_of[k] = pair[pair // N_FAMILIES == k] % N_FAMILIES

    def sums(self, keys: np.ndarray, lo: int, hi: int) -> np.ndarray:
        out = np.zeros((len(keys), N_FAMILIES), dtype=np.int64)
        for row, k in enumerate(keys.tolist()):
            fams = self.families_of.get(k)
            if fams is None:
                continue
            base = (k * N_FAMILIES + fams) * self.n_buckets
            a = np.searchsorted(self.code, base + lo)
            b = np.searchsorted(self.code, base + hi)
            out[row, fams] = self.cum[b] - self.cum[a]
        return out


class CumulativeCounts:
    """Every bucket from ``first`` to ``last`` as cumulative sums per key (the backtest)."""

    def __init__(self, rows: BucketRows, first: int, last: int, bucket_s: int, offset: int = 0):
        self.bucket_s = bucket_s
        self.offset = offset
        self._first = first
        n_buckets = last - first
        if n_buckets <= 0:
            raise ValueError("empty bucket range")
        keep = (rows.bucket >= first) & (rows.bucket < last)
        b = rows.bucket[keep] - first
        fam = rows.family[keep]
        cnt = rows.count[keep]
        failed = np.where(fam > 0, cnt, 0).astype(np.float64)
        finished = cnt.astype(np.float64)
        self._keys = {scope: rows.scope_keys(scope) for scope in SCOPES}
        self._cf: dict[str, np.ndarray] = {}
        self._cn: dict[str, np.ndarray] = {}
        self._fam: dict[str, _SparseFamilies] = {}
        for scope in SCOPES:
            index = rows.scope_index(scope)[keep]
            k = len(self._keys[scope])
            dtype = np.int64 if scope == "platform" else np.int32
            for target, values in ((self._cf, failed), (self._cn, finished)):
                cum = np.zeros((k, n_buckets + 1), dtype=dtype)
                if k:
                    dense = _dense(index, b, values, k, n_buckets).astype(dtype)
                    np.cumsum(dense, axis=1, out=cum[:, 1:])
                    del dense
                target[scope] = cum
            is_fail = fam > 0
            # shift by one so a window [lo, hi) is codes in [lo+1, hi+1) -> cum difference
            self._fam[scope] = _SparseFamilies(index[is_fail], fam[is_fail], b[is_fail] + 1,
                                               cnt[is_fail], n_buckets)
        self._pairs = rows.pairs()

    def keys(self, scope: str) -> list[str]:
        return self._keys[scope]

    def first_bucket(self) -> int:
        return self._first

    def endpoint_tenants(self) -> Mapping[str, tuple[str, ...]]:
        return self._pairs

    def window_sums(self, scope, lo, hi, rows):
        lo_i, hi_i = lo - self._first, hi - self._first
        cf, cn = self._cf[scope], self._cn[scope]
        if rows is None:
            return ((cf[:, hi_i] - cf[:, lo_i]).astype(np.int64),
                    (cn[:, hi_i] - cn[:, lo_i]).astype(np.int64))
        return ((cf[rows, hi_i] - cf[rows, lo_i]).astype(np.int64),
                (cn[rows, hi_i] - cn[rows, lo_i]).astype(np.int64))

    def family_sums(self, scope, lo, hi, rows):
        keys = np.arange(len(self._keys[scope])) if rows is None else np.asarray(rows)
        return self._fam[scope].sums(keys, lo - self._first + 1, hi - self._first + 1)

    def window_matrix(self, scope: str, lo: np.ndarray, hi: np.ndarray, what: str = "fail"):
        """Window sums for many instants at once: ``(keys, len(lo))`` (candidate pre-filter)."""
        cum = (self._cf if what == "fail" else self._cn)[scope]
        lo_i = np.clip(lo - self._first, 0, cum.shape[1] - 1)
        hi_i = np.clip(hi - self._first, 0, cum.shape[1] - 1)
        return cum[:, hi_i] - cum[:, lo_i]


def _dense(index: np.ndarray, bucket: np.ndarray, values: np.ndarray, n_keys: int, n_buckets: int):
    flat = index * n_buckets + bucket
    out = np.bincount(flat, weights=values, minlength=n_keys * n_buckets)
    return out.reshape(n_keys, n_buckets)
