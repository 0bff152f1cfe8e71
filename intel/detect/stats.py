"""Significance: how surprising the current failures are under the baseline failure ratio.

Given ``n`` finished deliveries in the window and the baseline failure ratio ``p0``, the
failures are Binomial(n, p0) when every delivery fails independently:
``P(X >= c) = I_p0(c, n - c + 1)`` (the regularised incomplete beta function).

But ``p0`` is not known exactly: it is estimated from the baseline (``nb`` deliveries,
plus ``w`` deliveries' worth of the platform's ratio as a prior), and real failures
cluster (a flaky endpoint has good and bad minutes). Both make the ratio itself vary
around ``p0``, as Beta(p0 * k, (1 - p0) * k) with concentration ``k``: the posterior of
the ratio has ``k = nb + w``, natural clustering ``k = phi`` (the setting
``dispersion``), together ``1 / k = 1 / (nb + w) + 1 / phi``. The count is then
beta-binomial — the bounded-count cousin of the negative binomial, and the posterior
predictive of the baseline: three failures in three deliveries is damning for an
endpoint that failed 2 of 10,000 yesterday, and unremarkable for one that saw 20.

Its variance is the binomial's times ``(k + n) / (k + 1)``; it is evaluated as a
binomial on the *effective* sample — ``c`` and ``n`` scaled by ``(k + 1) / (k + n)`` —
with the same mean ratio and the same variance, in one vectorised ``betainc`` call (the
exact beta-binomial tail costs a sum per key, too slow for a backtest's millions of
tests; the two agree within a factor of about 1.5 in the tail).
"""

from __future__ import annotations

import numpy as np
from scipy import special


def concentration(base_total, prior_weight: float, dispersion: float) -> np.ndarray:
    """``k`` with ``1/k = 1/(nb + w) + 1/phi`` (a term drops out when it is 0: no limit)."""
    inv = np.zeros(np.shape(base_total))
    known = np.asarray(base_total, dtype=np.float64) + prior_weight
    inv = inv + np.where(known > 0, 1.0 / np.maximum(known, 1e-9), 0.0)
    if dispersion > 0:
        inv = inv + 1.0 / dispersion
    return np.where(inv > 0, 1.0 / np.maximum(inv, 1e-300), np.inf)


def tail_probability(
    failures: np.ndarray, totals: np.ndarray, base_ratio: np.ndarray, concentration=np.inf
) -> np.ndarray:
    """P(X >= failures) under the over-dispersed binomial described above (``concentration``
    per key or one for all; infinite: plain binomial)."""
    c = np.asarray(failures, dtype=np.float64)
    n = np.maximum(np.asarray(totals, dtype=np.float64), c)
    p = np.clip(np.asarray(base_ratio, dtype=np.float64), 1e-12, 1 - 1e-12)
    if c.size == 0:
        return np.zeros(0)
    k = np.broadcast_to(np.asarray(concentration, dtype=np.float64), c.shape)
    finite = np.isfinite(k) & (k > 0)
    if finite.any():
        scale = np.ones(c.shape)
        scale[finite] = np.minimum((k[finite] + 1.0) / (k[finite] + np.maximum(n[finite], 1.0)),
                                   1.0)
        c = c * scale
        n = n * scale
    positive = c > 0
    out = np.ones(c.shape)
    if positive.any():
        cp, np_ = c[positive], n[positive]
        out[positive] = special.betainc(cp, np.maximum(np_ - cp, 0.0) + 1.0, p[positive])
    return np.clip(np.nan_to_num(out, nan=1.0), 0.0, 1.0)


def poisson_tail(failures: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """P(X >= failures) for X ~ Poisson(expected): the seed's count-only view."""
    c = np.asarray(failures, dtype=np.float64)
    lam = np.maximum(np.asarray(expected, dtype=np.float64), 1e-12)
    out = np.ones(c.shape)
    positive = c > 0
    out[positive] = special.gammainc(c[positive], lam[positive])
    return out


def opening_ratio(base_ratio, multiple: float, saturation: float):
    """The failure ratio a rule opens at: ``multiple x`` the baseline ratio, capped at
    ``saturation`` (a target that is effectively down) — unless the target is normally at
    or above that already, which nothing can exceed (it then never opens)."""
    p0 = np.asarray(base_ratio, dtype=np.float64)
    return np.where(p0 < saturation, np.minimum(multiple * p0, saturation), multiple * p0)


_TERMS = 64


def betabinom_tail(failures, totals, a, b) -> np.ndarray:
    """Exact P(X >= c) for X ~ BetaBinomial(n, a, b), vectorised.

    Sums the upper tail's first 64 terms in log space (they fall off fast when the tail is
    small, which is when precision matters); when that does not reach the end of a wide,
    heavy tail, uses 1 - the lower sum instead.
    """
    c = np.asarray(failures, dtype=np.float64)
    n = np.maximum(np.asarray(totals, dtype=np.float64), c)
    a = np.maximum(np.asarray(a, dtype=np.float64), 1e-12)
    b = np.maximum(np.asarray(b, dtype=np.float64), 1e-12)
    out = np.ones(c.shape)
    if c.size == 0:
        return out
    gl = special.gammaln
    base = gl(n + 1) + gl(a + b) - gl(a) - gl(b) - gl(n + a + b)

    def log_pmf(k):
        return base[:, None] - gl(k + 1) - gl(n[:, None] - k + 1) + gl(k + a[:, None]) + gl(
            n[:, None] - k + b[:, None])

    positive = c > 0
    if not positive.any():
        return out
    k_up = c[:, None] + np.arange(_TERMS)[None, :]
    valid = k_up <= n[:, None]
    upper = np.where(valid, np.exp(np.where(valid, log_pmf(np.minimum(k_up, n[:, None])),
                                            -np.inf)), 0.0).sum(axis=1)
    complete = n < c + _TERMS
    last = np.exp(log_pmf(np.minimum(c + _TERMS - 1, n)[:, None])[:, 0])
    small_rest = last <= 1e-12 * np.maximum(upper, 1e-300)
    use_upper = complete | small_rest
    out = np.where(use_upper, upper, out)
    todo = np.flatnonzero(positive & ~use_upper)
    if len(todo):
        cc = c[todo]
        width = int(cc.max())
        k_lo = np.arange(width)[None, :]
        keep = k_lo < cc[:, None]
        sub_base, sub_n, sub_a, sub_b = base[todo], n[todo], a[todo], b[todo]
        lp = (sub_base[:, None] - gl(k_lo + 1) - gl(sub_n[:, None] - k_lo + 1)
              + gl(k_lo + sub_a[:, None]) + gl(sub_n[:, None] - k_lo + sub_b[:, None]))
        lower = np.where(keep, np.exp(lp), 0.0).sum(axis=1)
        out[todo] = 1.0 - lower
    out = np.where(positive, out, 1.0)
    return np.clip(np.nan_to_num(out, nan=1.0), 0.0, 1.0)
