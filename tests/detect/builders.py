"""Hand-made window counts for detector tests (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from intel.detect.counts import ScopeCounts, Snapshot
from intel.detect.families import FAMILY_INDEX, N_FAMILIES
from intel.detect.rules import PLATFORM_TARGET, WINDOWS

AT = datetime(2026, 11, 5, 16, 30, tzinfo=UTC)
FULL_SPAN = {name: start - stop for name, (start, stop) in WINDOWS.items()}


def counts(failures: int, total: int, family: str | dict | None = "timeout") -> tuple:
    """One window: ``failures`` of ``total``, all of ``family`` or spread as a dict."""
    if isinstance(family, dict):
        fams = dict(family)
    elif family is None or failures == 0:
        fams = {}
    else:
        fams = {family: failures}
    return failures, total, fams


def scope(keys_windows: dict[str, dict[str, tuple]], span: dict | None = None) -> ScopeCounts:
    """``{key: {window: counts(...)}}``; windows not given are empty."""
    keys = list(keys_windows)
    fail, total, fam = {}, {}, {}
    for name in WINDOWS:
        f = np.zeros(len(keys), dtype=np.int64)
        n = np.zeros(len(keys), dtype=np.int64)
        m = np.zeros((len(keys), N_FAMILIES), dtype=np.int64)
        for i, key in enumerate(keys):
            c, t, fams = keys_windows[key].get(name, (0, 0, {}))
            f[i], n[i] = c, t
            for family, k in fams.items():
                m[i, FAMILY_INDEX[family]] = k
        fail[name], total[name], fam[name] = f, n, m
    return ScopeCounts(keys=keys, fail=fail, total=total, fam=fam, span=dict(span or FULL_SPAN))


def snapshot(platform: dict | None = None, endpoints: dict | None = None,
             tenants: dict | None = None, owners: dict | None = None,
             span: dict | None = None) -> Snapshot:
    """Platform windows default to a quiet, big platform (2 % failures)."""
    platform = platform or {
        "5m": counts(10, 500, {"timeout": 5, "http_503": 5}),
        "15m": counts(30, 1500, {"timeout": 15, "http_503": 15}),
        "60m": counts(120, 6000, {"timeout": 60, "http_503": 60}),
        "prev_1h": counts(120, 6000, {"timeout": 60, "http_503": 60}),
        "prev_24h": counts(2880, 144000, {"timeout": 1440, "http_503": 1440}),
    }
    return Snapshot(
        at=AT,
        scopes={
            "platform": scope({PLATFORM_TARGET: platform}, span),
            "endpoint": scope(endpoints or {}, span),
            "tenant": scope(tenants or {}, span),
        },
        endpoint_tenants={e: (t,) for e, t in (owners or {}).items()},
    )


def normal_endpoint(rate_per_5m: int = 10, failure_ratio: float = 0.01) -> dict:
    """A steady endpoint's windows (its 24-h baseline at ``failure_ratio``)."""
    day = rate_per_5m * 288
    fb = round(day * failure_ratio)
    return {
        "5m": counts(0, rate_per_5m),
        "15m": counts(0, rate_per_5m * 3),
        "60m": counts(0, rate_per_5m * 12),
        "prev_1h": counts(round(fb / 24), rate_per_5m * 12),
        "prev_24h": counts(fb, day, {"timeout": fb // 2, "http_503": fb - fb // 2}),
    }


def with_windows(base: dict, **windows) -> dict:
    out = dict(base)
    for name, value in windows.items():
        out[{"m5": "5m", "m15": "15m", "m60": "60m"}.get(name, name)] = value
    return out
