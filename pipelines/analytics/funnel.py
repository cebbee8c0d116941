"""Funnel-plot control limits: how far a group's rate may lie from a target rate by chance alone,
for a group of n patients.

Why: comparing clinicians or sites by a league table ranks noise; a funnel plot draws each group's
rate against its size with the limits within which a group of that size would fall by chance,
so a small group is not called an outlier for one patient (Spiegelhalter 2005). The Clinic
outcomes page draws one around the published overall rate (`pipelines.reports.clinic`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

# Funnel plot control limits (Spiegelhalter 2005): ~2 and ~3 standard deviations.
FUNNEL_LEVELS = (0.95, 0.998)
LIMIT_COLUMNS = ["n", "rate", "low_95", "high_95", "low_998", "high_998"]


def funnel_sizes(smallest: int, largest: int, points: int = 200) -> np.ndarray:
    """The group sizes n at which to draw the funnel.

    Parameters
    ----------
    smallest : int
        The smallest n (the smallest group that may be shown).
    largest : int
        The largest group shown; the funnel runs to `largest` x 1.05.
    points : int
        How many log-spaced sizes above 100.

    Returns
    -------
    numpy.ndarray
        Sorted distinct integers: every integer up to 100, then `points` log-spaced values (the
        curve is smooth there).

    Notes
    -----
    With top = max(smallest + 1, ceil(1.05 x largest)): every integer n from `smallest` to
    min(top, 100), where the exact binomial limits still step visibly from one n to the next;
    above 100 (when top > 100), `points` values geometrically spaced from max(smallest, 100) to
    top, rounded to integers, duplicates dropped. The 5% beyond the largest group keeps its
    point inside the drawn funnel. `smallest` below 1 is taken as 1.

    References
    ----------
    Spiegelhalter DJ (2005), "Funnel plots for comparing institutional performance", Stat Med
    24:1185-1202 (the funnel is drawn as a function of n over the range of the groups).
    """
    smallest = max(1, int(smallest))
    top = max(smallest + 1, int(math.ceil(largest * 1.05)))
    dense = np.arange(smallest, min(top, 100) + 1)
    sparse = np.geomspace(max(smallest, 100), top, points).round() if top > 100 else np.array([])
    return np.unique(np.concatenate([dense, sparse]).astype(int))


def binomial_control_limits(rate: float, sizes, levels=FUNNEL_LEVELS) -> pd.DataFrame:
    """Funnel-plot control limits of a proportion around a target `rate`, for each n in `sizes`.

    Parameters
    ----------
    rate : float
        The target rate (the cohort's overall rate).
    sizes : array-like of int
        The n at which to compute the limits (`funnel_sizes`).
    levels : tuple of float
        Coverage of each pair of limits; 95% (~2 standard deviations) and 99.8% (~3).

    Returns
    -------
    pandas.DataFrame
        `n`, `rate`, then `low_<level>` and `high_<level>` per level: `low_95`, `high_95`,
        `low_998`, `high_998`.

    Notes
    -----
    Exact binomial limits with Spiegelhalter's interpolation: for the tail probability p, r_p is
    the smallest r with F(r) >= p, F the Binomial(n, rate) distribution function; then
    alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)) and the limit is (r_p - alpha) / n, clipped to
    [0, 1]. The interpolation removes the staircase of the discrete quantiles. The 95% limits
    use p = 0.025 and 0.975, the 99.8% ones p = 0.001 and 0.999.

    References
    ----------
    Spiegelhalter DJ (2005), "Funnel plots for comparing institutional performance", Stat Med
    24:1185-1202, appendix A.1.1; the method of the NHS/PHE funnel-plot tools.
    """
    n = np.asarray(sizes, dtype=float)
    frame = pd.DataFrame({"n": n.astype(int), "rate": float(rate)})
    for level in levels:
        tail = (1 - level) / 2
        suffix = f"{level * 100:g}".replace(".", "")
        frame[f"low_{suffix}"] = _binomial_limit(rate, n, tail)
        frame[f"high_{suffix}"] = _binomial_limit(rate, n, 1 - tail)
    return frame


def _binomial_limit(rate: float, n: np.ndarray, p: float) -> np.ndarray:
    r = scipy_stats.binom.ppf(p, n, rate)  # smallest r with F(r) >= p
    at_r = scipy_stats.binom.cdf(r, n, rate)
    below = scipy_stats.binom.cdf(r - 1, n, rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(at_r > below, (at_r - p) / (at_r - below), 0.0)
    return np.clip((r - alpha) / n, 0.0, 1.0)
