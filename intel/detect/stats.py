"""Significance: how surprising the current failures are under the baseline failure ratio.

Given ``n`` finished deliveries in the window and the baseline failure ratio ``p0``, the
failures are Binomial(n, p0) when every delivery fails independently. Real failures
cluster (a flaky endpoint has good and bad minutes), so the ratio itself is allowed to
vary around ``p0`` as Beta(p0 * phi, (1 - p0) * phi): the count is then beta-binomial,
the bounded-count cousin of the negative binomial. ``phi`` (the concentration) is the
setting ``dispersion``: large is nearly binomial, small tolerates more clustering.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def tail_probability(
    failures: np.ndarray, totals: np.ndarray, base_ratio: np.ndarray, dispersion: float
) -> np.ndarray:
    """P(X >= failures) for X ~ BetaBinomial(totals, p0*phi, (1-p0)*phi) (Binomial if phi=0)."""
    c = np.asarray(failures, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    p = np.clip(np.asarray(base_ratio, dtype=np.float64), 1e-9, 1 - 1e-9)
    n = np.maximum(n, c)  # a failure always counts as a finished delivery
    if c.size == 0:
        return np.zeros(0)
    if dispersion <= 0:
        out = stats.binom.sf(c - 1, n, p)
    else:
        out = stats.betabinom.sf(c - 1, n, p * dispersion, (1 - p) * dispersion)
    out = np.where(c <= 0, 1.0, out)
    return np.clip(np.nan_to_num(out, nan=1.0), 0.0, 1.0)


def poisson_tail(failures: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """P(X >= failures) for X ~ Poisson(expected): the seed's count-only view, for reports."""
    c = np.asarray(failures, dtype=np.float64)
    lam = np.maximum(np.asarray(expected, dtype=np.float64), 1e-9)
    return np.where(c <= 0, 1.0, stats.poisson.sf(c - 1, lam))
