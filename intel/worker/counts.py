"""The worker's counts: the last day and a bit of bucket counts, kept in memory.

Recomputing every endpoint's and tenant's 24-h baseline from raw rows on every tick would
scan a day of deliveries each time. Instead the worker loads the bucket counts of the
whole look-back once (one aggregate query), then each tick re-reads only the recent span
(``worker.refresh_s``: where new and late deliveries land) plus one older slice
(``worker.verify_slice_s``, cycling through the day, so back-filled or corrected rows are
picked up within a day's worth of ticks). Each read *replaces* its bucket range, so a
delivery whose status or time changed is counted where it is now, never twice.

Entries are kept sparse — one per (bucket, tenant, endpoint, failure family) seen — and a
window sum is a masked ``bincount``; this is the same ``WindowSource`` the backtest's
``CumulativeCounts`` is, so ``snapshot_at`` and ``evaluate`` see the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from intel.detect.counts import BucketRows
from intel.detect.families import N_FAMILIES
from intel.detect.rules import PLATFORM_TARGET


class RollingCounts:
    def __init__(self, bucket_s: int, offset: int = 0):
        self.bucket_s = bucket_s
        self.offset = offset
        self._tenants: list[str] = []
        self._endpoints: list[str] = []
        self._t_ix: dict[str, int] = {}
        self._e_ix: dict[str, int] = {}
        self._pairs: dict[str, set[str]] = {}
        self._pairs_frozen: dict[str, tuple[str, ...]] | None = None
        z = np.zeros(0, dtype=np.int64)
        self.bucket, self.tenant, self.endpoint, self.family, self.count = z, z, z, z, z
        self.coverage_start: int | None = None  # first bucket whose counts are known
        self._masks: dict[tuple[int, int], np.ndarray] = {}

    # -- loading -------------------------------------------------------------------------

    def replace(self, rows: BucketRows, lo: int, hi: int) -> None:
        """Make buckets ``[lo, hi)`` hold exactly ``rows`` (which must lie in that range)."""
        keep = (self.bucket < lo) | (self.bucket >= hi)
        t_map = np.array([self._tenant(t) for t in rows.tenants], dtype=np.int64)
        e_map = np.array([self._endpoint(e) for e in rows.endpoints], dtype=np.int64)
        new_t = t_map[rows.tenant] if len(rows) else rows.tenant
        new_e = e_map[rows.endpoint] if len(rows) else rows.endpoint
        for e_local, t_local in set(zip(rows.endpoint.tolist(), rows.tenant.tolist(),
                                        strict=True)):
            url, tenant = rows.endpoints[e_local], rows.tenants[t_local]
            if tenant not in self._pairs.setdefault(url, set()):
                self._pairs[url].add(tenant)
                self._pairs_frozen = None
        self.bucket = np.concatenate([self.bucket[keep], rows.bucket])
        self.tenant = np.concatenate([self.tenant[keep], new_t])
        self.endpoint = np.concatenate([self.endpoint[keep], new_e])
        self.family = np.concatenate([self.family[keep], rows.family])
        self.count = np.concatenate([self.count[keep], rows.count])
        if self.coverage_start is None or lo < self.coverage_start:
            self.coverage_start = lo
        self._masks.clear()

    def prune(self, before: int) -> None:
        """Forget buckets before ``before`` (older than any window needs)."""
        keep = self.bucket >= before
        if not keep.all():
            self.bucket, self.tenant, self.endpoint = (
                self.bucket[keep], self.tenant[keep], self.endpoint[keep])
            self.family, self.count = self.family[keep], self.count[keep]
            self._masks.clear()
        if self.coverage_start is not None and self.coverage_start < before:
            self.coverage_start = before

    def _tenant(self, name: str) -> int:
        i = self._t_ix.get(name)
        if i is None:
            i = self._t_ix[name] = len(self._tenants)
            self._tenants.append(name)
        return i

    def _endpoint(self, url: str) -> int:
        i = self._e_ix.get(url)
        if i is None:
            i = self._e_ix[url] = len(self._endpoints)
            self._endpoints.append(url)
        return i

    def __len__(self) -> int:
        return len(self.bucket)

    # -- WindowSource ----------------------------------------------------------------------

    def keys(self, scope: str) -> list[str]:
        if scope == "platform":
            return [PLATFORM_TARGET]
        return self._endpoints if scope == "endpoint" else self._tenants

    def first_bucket(self) -> int:
        return self.coverage_start if self.coverage_start is not None else 0

    def endpoint_tenants(self) -> Mapping[str, tuple[str, ...]]:
        if self._pairs_frozen is None:
            self._pairs_frozen = {e: tuple(sorted(ts)) for e, ts in self._pairs.items()}
        return self._pairs_frozen

    def _selection(self, scope: str, lo: int, hi: int):
        mask = self._masks.get((lo, hi))
        if mask is None:
            mask = self._masks[(lo, hi)] = (self.bucket >= lo) & (self.bucket < hi)
        if scope == "platform":
            index = np.zeros(int(mask.sum()), dtype=np.int64)
        else:
            index = (self.endpoint if scope == "endpoint" else self.tenant)[mask]
        return mask, index, len(self.keys(scope))

    def window_sums(self, scope, lo, hi, rows):
        mask, index, k = self._selection(scope, lo, hi)
        count = self.count[mask].astype(np.float64)
        failed = np.where(self.family[mask] > 0, count, 0.0)
        total = np.bincount(index, weights=count, minlength=k)
        fail = np.bincount(index, weights=failed, minlength=k)
        if rows is not None:
            total, fail = total[rows], fail[rows]
        return fail.astype(np.int64), total.astype(np.int64)

    def family_sums(self, scope, lo, hi, rows):
        mask, index, k = self._selection(scope, lo, hi)
        fams = np.bincount(index * N_FAMILIES + self.family[mask],
                           weights=self.count[mask].astype(np.float64),
                           minlength=k * N_FAMILIES).reshape(k, N_FAMILIES)
        if rows is not None:
            fams = fams[rows]
        return fams.astype(np.int64)
