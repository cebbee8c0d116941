"""The shared statistics helpers against hand-worked and published values."""

from __future__ import annotations

import math

import pytest

from pipelines.analytics.stats import mean_interval, median_interval, wilson_interval


def test_wilson_interval_matches_the_closed_form():
    # 5 of 10, z = 1.95996: centre (p + z^2/2n)/(1 + z^2/n) = 0.5, half-width
    # z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2) = 1.95996/1.38414 * sqrt(0.025 + 0.0096037) = 0.26341
    est = wilson_interval(5, 10)
    assert est.value == 0.5
    assert est.low == pytest.approx(0.5 - 0.26341, abs=1e-4) and est.high == pytest.approx(0.5 + 0.26341, abs=1e-4)


def test_wilson_interval_stays_inside_0_and_1_at_the_extremes():
    zero, full = wilson_interval(0, 7), wilson_interval(7, 7)
    assert zero.low == 0 and 0 < zero.high < 1 and full.high == pytest.approx(1) and 0 < full.low < 1
    assert math.isnan(wilson_interval(0, 0).value)


def test_mean_interval_is_the_t_interval():
    # values 1..5: mean 3, sd 1.5811, sem 0.7071, t(0.975, 4) = 2.7764 -> 3 +- 1.9632
    est = mean_interval([1, 2, 3, 4, 5])
    assert est.value == 3 and est.low == pytest.approx(1.0368, abs=1e-3) and est.high == pytest.approx(4.9632, abs=1e-3)


def test_median_interval_uses_order_statistics():
    # n = 10: P(B <= 1) = 11/1024 = 0.0107 <= 0.025 < P(B <= 2) = 0.0547, so l = 2 (1-based):
    # the interval runs from the 2nd to the 9th smallest value.
    est = median_interval(list(range(1, 11)))
    assert (est.value, est.low, est.high) == (5.5, 2.0, 9.0)
    assert math.isnan(median_interval([1, 2, 3]).low)  # too few values for 95%


def test_wilson_interval_is_scipys():
    from scipy import stats

    for n in (1, 2, 7, 10, 31, 200, 1013, 50_000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            ours = wilson_interval(k, n)
            for confidence in (0.95, 0.99):
                theirs = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
                mine = wilson_interval(k, n, confidence)
                assert (mine.low, mine.high) == pytest.approx((theirs.low, theirs.high), rel=1e-12, abs=1e-15), (k, n)
            assert ours.value == k / n
