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
- Change from baseline (`change_statistics`): mean and median change with those intervals, the
  Wilcoxon signed-rank test of follow-up vs baseline and its effect size, the matched-pairs
  rank-biserial correlation. These are the paired statistics of every outcome row
  (`outcomes.cohort_outcomes`).

Funnel-plot control limits are in `funnel`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval (`low`, `high`)."""

    value: float
    low: float
    high: float


def _nan() -> Estimate:
    return Estimate(math.nan, math.nan, math.nan)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """A proportion with its Wilson score interval.

    Parameters
    ----------
    successes : int
        k, the patients (or infusions) with the outcome.
    n : int
        The denominator.
    confidence : float
        Coverage of the interval, 0.95 by default.

    Returns
    -------
    Estimate
        `value` = k / n, `low`, `high`; all NaN for n = 0.

    Notes
    -----
    With p = k / n and z the normal quantile of (1 + confidence) / 2:
    centre = (2np + z^2) / (2(n + z^2)), half width = z / (2(n + z^2)) x sqrt(4np(1 - p) + z^2);
    the bound is exactly 0 for k = 0 and 1 for k = n. Identical to
    `scipy.stats.binomtest(k, n).proportion_ci(method="wilson")` (tests/test_stats.py), without
    its exact p-value.

    References
    ----------
    Wilson EB (1927), J Am Stat Assoc 22:209-212; Newcombe RG (1998), Stat Med 17:857-872.
    """
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
    """A mean with its Student t interval.

    Parameters
    ----------
    values : array-like
        The values; NaN is left out.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    Estimate
        The mean and its interval mean +/- t(n - 1) x s / sqrt(n); the interval is NaN for
        fewer than 2 values (all NaN without values) and [mean, mean] when s = 0.

    Notes
    -----
    With n values, their mean m and sample standard deviation s (denominator n - 1):
    m +/- t_{q, n-1} x s / sqrt(n), q = (1 + confidence) / 2 (t_{0.975, n-1} at 95%), the
    quantile of Student's t distribution with n - 1 degrees of freedom
    (`scipy.stats.t.interval` with `scipy.stats.sem`). Exact for normally distributed values and
    approximately right for others once n is moderate (central limit theorem); for skewed or
    small samples read it beside the median's distribution-free interval (`median_interval`).

    References
    ----------
    Student (1908), "The probable error of a mean", Biometrika 6:1-25; Altman DG, Machin D,
    Bryant TN, Gardner MJ (2000), Statistics with Confidence, 2nd ed., BMJ Books, ch. 4.
    """
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
    """A median with its distribution-free order-statistic interval.

    Parameters
    ----------
    values : array-like
        The values; NaN is left out.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    Estimate
        The median and [x_(l), x_(n-l+1)]; NaN bounds when n is too small (n < 6 at 95%), all
        NaN without values.

    Notes
    -----
    l is the largest rank with P(B <= l - 1) <= (1 - confidence) / 2, B ~ Binomial(n, 1/2), so
    the interval covers the median with probability at least `confidence` whatever the
    distribution (no normality assumed).

    References
    ----------
    Conover WJ (1999), Practical Nonparametric Statistics, 3rd ed., sec. 3.2.
    """
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


# --- Change from baseline ------------------------------------------------------------------

CHANGE_COLUMNS = ["mean_change", "mean_change_low", "mean_change_high", "median_change", "median_change_low",
                  "median_change_high", "wilcoxon_statistic", "wilcoxon_p", "effect_size_r"]
SIGN_FLIP_MAX_N = 13  # scipy's limit for its deterministic permutation test (2^13 < 9999 resamples)


def change_statistics(changes) -> list[float]:
    """The paired statistics of one group's changes, in the order of CHANGE_COLUMNS.

    A building block of `outcomes.cohort_outcomes` (one call per group): it returns a list, not
    a frame.

    Parameters
    ----------
    changes : array-like
        Follow-up - baseline, one per patient (negative is better).

    Returns
    -------
    list of float
        Mean change with its t interval, median change with its order-statistic interval
        (`mean_interval`, `median_interval`), `wilcoxon_test`'s statistic and p-value and
        `rank_biserial`.

    Notes
    -----
    Each statistic as its function documents it: mean +/- t_{0.975, n-1} s / sqrt(n); the
    median with [x_(l), x_(n-l+1)]; the Wilcoxon signed-rank test of d = follow-up - baseline
    against 0 (zeros dropped); r = (rank sum of falls - rank sum of rises) / total rank sum.

    References
    ----------
    Student (1908), Biometrika 6:1-25; Conover WJ (1999), Practical Nonparametric Statistics,
    3rd ed., sec. 3.2; Wilcoxon F (1945), Biometrics Bulletin 1:80-83; Kerby DS (2014),
    Comprehensive Psychology 3:11.
    """
    changes = np.asarray(changes, dtype=float)
    mean, median = mean_interval(changes), median_interval(changes)
    statistic, p_value = wilcoxon_test(changes)
    return [mean.value, mean.low, mean.high, median.value, median.low, median.high, statistic, p_value,
            rank_biserial(changes)]


def wilcoxon_test(changes) -> tuple[float, float]:
    """Wilcoxon signed-rank test of follow-up vs baseline, two-sided.

    Parameters
    ----------
    changes : array-like
        d = follow-up - baseline, one per patient.

    Returns
    -------
    tuple of float
        (statistic, p-value); (NaN, NaN) when no change is non-zero.

    Notes
    -----
    Equals scipy.stats.wilcoxon(follow_up, baseline) with its default method: zero changes
    dropped (zero_method="wilcox"); the statistic is the smaller signed-rank sum; p exact for
    up to 50 untied changes, by the normal approximation above 50. For up to 13 changes with
    ties scipy runs a permutation test over all 2^n sign assignments, which takes up to seconds
    per call there; `_sign_flip_p` computes the same p-value in one vectorised step.

    References
    ----------
    Wilcoxon F (1945), "Individual comparisons by ranking methods", Biometrics Bulletin 1:80-83;
    scipy.stats.wilcoxon.
    """
    nonzero = _nonzero(changes)
    if nonzero.size == 0:
        return math.nan, math.nan
    ranks = stats.rankdata(np.abs(nonzero))
    has_ties = len(np.unique(ranks)) < len(ranks)
    if has_ties and nonzero.size <= SIGN_FLIP_MAX_N:
        rank_sum_up = float(ranks[nonzero > 0].sum())
        return min(rank_sum_up, float(ranks.sum()) - rank_sum_up), _sign_flip_p(ranks, rank_sum_up)
    result = stats.wilcoxon(nonzero)
    return float(result.statistic), float(result.pvalue)


def _sign_flip_p(ranks: np.ndarray, rank_sum_up: float) -> float:
    """Two-sided p of the positive rank sum against all 2^n sign assignments of `ranks`, as
    scipy.stats.permutation_test computes it: 2 x the smaller tail, at most 1."""
    n = len(ranks)
    signs = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    null = signs @ ranks
    tolerance = 1e-14 * max(abs(rank_sum_up), 1)
    lower = np.mean(null <= rank_sum_up + tolerance)
    upper = np.mean(null >= rank_sum_up - tolerance)
    return float(min(1.0, 2 * min(lower, upper)))


def rank_biserial(changes) -> float:
    """Matched-pairs rank-biserial correlation, Kerby's simple difference formula.

    Parameters
    ----------
    changes : array-like
        Follow-up - baseline, one per patient.

    Returns
    -------
    float
        r from -1 (everyone worse) through 0 to +1 (everyone better); NaN when no change is
        non-zero.

    Notes
    -----
    Rank the absolute non-zero changes (ties get the average rank, zeros dropped, as in the
    Wilcoxon test); r = (rank sum of improvements - rank sum of deteriorations) / total rank
    sum. On these scales a fall is an improvement.

    References
    ----------
    Kerby DS (2014), "The simple difference formula: an approach to teaching nonparametric
    correlation", Comprehensive Psychology 3:11.
    """
    nonzero = _nonzero(changes)
    if nonzero.size == 0:
        return math.nan
    ranks = stats.rankdata(np.abs(nonzero))
    return float((ranks[nonzero < 0].sum() - ranks[nonzero > 0].sum()) / ranks.sum())


def _nonzero(changes) -> np.ndarray:
    values = np.asarray(changes, dtype=float)
    return values[~np.isnan(values) & (values != 0)]
