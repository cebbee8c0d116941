"""Small statistical helpers shared by the analytics functions, all from scipy.

- Rates: 95% Wilson score interval, as the clinical reference requires; it behaves well for
  small n and rates near 0 or 1. The interval is scipy's
  (`scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`, Newcombe 1998), computed with
  the same formula and scipy's normal quantile directly: binomtest first computes an exact
  p-value nobody reads here, about 3 ms a call, which adds up to a second on a page of grouped
  rates. tests/test_stats.py checks the two agree over a grid of counts.
- Means: Student t interval.
- Medians: distribution-free interval from binomial order statistics (Conover, Practical
  Nonparametric Statistics, 3rd ed., 1999, sec. 3.2), so no normality is assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


def _nan() -> Estimate:
    return Estimate(math.nan, math.nan, math.nan)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """Proportion with its Wilson score interval; NaN for n = 0."""
    if n == 0:
        return _nan()
    k, n = int(successes), int(n)
    p = k / n
    z = float(special.ndtri(0.5 + 0.5 * confidence))
    denominator = 2 * (n + z ** 2)
    centre = (2 * n * p + z ** 2) / denominator
    half_width = z / denominator * math.sqrt(4 * n * p * (1 - p) + z ** 2)
    low = 0.0 if k == 0 else centre - half_width
    high = 1.0 if k == n else centre + half_width
    return Estimate(p, low, high)


def mean_interval(values, confidence: float = CONFIDENCE) -> Estimate:
    """Mean with a t interval; the interval is NaN for fewer than 2 values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return _nan()
    mean = float(x.mean())
    if len(x) < 2:
        return Estimate(mean, math.nan, math.nan)
    sem = float(stats.sem(x))
    if sem == 0:
        return Estimate(mean, mean, mean)
    low, high = stats.t.interval(confidence, len(x) - 1, loc=mean, scale=sem)
    return Estimate(mean, float(low), float(high))


def median_interval(values, confidence: float = CONFIDENCE) -> Estimate:
    """Median with the order-statistic interval: the ranks l and u around n/2 whose binomial
    (n, 1/2) coverage is at least `confidence`; NaN bounds when n is too small (n < 6 at 95%)."""
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return _nan()
    median = float(np.median(x))
    alpha = 1 - confidence
    # largest l with P(B <= l - 1) <= alpha / 2, B ~ Binomial(n, 1/2); the interval is [x_(l), x_(n-l+1)]
    l = int(stats.binom.ppf(alpha / 2, n, 0.5))
    if stats.binom.cdf(l, n, 0.5) > alpha / 2:
        l -= 1
    if l < 0:
        return Estimate(median, math.nan, math.nan)
    return Estimate(median, float(x[l]), float(x[n - l - 1]))
