"""Score trajectories: how a cohort's scores move over the course, by infusion and by week.

Clinicians think in infusions ("most of the drop comes after the first two or three"), while
follow-ups after induction are spaced in weeks, so both axes are offered. Both count only
patients with a baseline (the outcome population of the clinical reference; patients
without one belong to data quality) and use one score per patient per point, so a patient
who filled in a scale twice in a week does not weigh double.

Aggregation (n, mean, a histogram of the per-patient scores of each point) is done in DuckDB
(sql/analytics/trajectories/); the
95% intervals come from `stats.py` (t interval for the mean, order-statistic interval for
the median), computed in Python once per point and group.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..settings import Settings
from . import stats
from .cohorts import CohortFilter, check_group_by, cohort_query

# Labels and the baseline's week as the query files write them (sql/analytics/trajectories/).
MAINTENANCE = "maintenance"  # the label of the point after trajectory_max_infusion (by_infusion.sql)
BASELINE = "baseline"  # the label of the baseline row in by_week (by_week.sql)
BASELINE_WEEK = -1  # the `week` value of the baseline row in by_week (by_week.sql)
INTERVAL_COLUMNS = ["n", "mean", "mean_low", "mean_high", "median", "median_low", "median_high"]


def _with_intervals(points: pd.DataFrame, group_by: tuple[str, ...], axis: list[str]) -> pd.DataFrame:
    """Turn SQL aggregates (n, mean, histogram of scores) into the interval columns, one row per point."""
    columns = [*group_by, *axis, *INTERVAL_COLUMNS]
    if points.empty:
        return pd.DataFrame(columns=columns)
    # Scores arrive as {score: patients} histograms (totals are small integers), which moves a
    # few dozen numbers per point out of DuckDB instead of one per patient.
    values = [np.repeat(np.fromiter(h.keys(), float), np.fromiter(h.values(), int)) for h in points["scores"]]
    means = [stats.mean_interval(v) for v in values]
    medians = [stats.median_interval(v) for v in values]
    result = points.drop(columns="scores").assign(
        mean_low=[m.low for m in means],
        mean_high=[m.high for m in means],
        median=[m.value for m in medians],
        median_low=[m.low for m in medians],
        median_high=[m.high for m in medians],
    )
    return result[columns].reset_index(drop=True)


def by_infusion(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Mean and median score at each infusion number, with 95% intervals and n.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        `settings.thresholds.trajectory_max_infusion`: the last infusion with a point of its own.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`; one trajectory per group.

    Returns
    -------
    pandas.DataFrame
        The `group_by` attributes, `infusion` (1 … max; max + 1 for maintenance), `label`
        ("1" … "12", "maintenance"), `n` (patients), `mean`, `mean_low`, `mean_high` (t
        interval), `median`, `median_low`, `median_high` (order-statistic interval; NaN bounds
        below 6 patients).

    Notes
    -----
    The score "at infusion k" is the patient's score taken before infusion k started
    (`scores.sessions_before` = k − 1; with several, the latest), from the view
    `scores_by_infusion`. Infusion 1's score is therefore the baseline (the latest valid score
    in the baseline window, clinical reference "Baseline"). Infusions 1 to max are points of
    their own; every later score falls into one "maintenance" point, where each patient counts
    once with their latest score. Only patients with a baseline and in `cohort` are counted.
    Intervals: `stats.mean_interval` (mean +/- t_{0.975, n-1} s / sqrt(n)),
    `stats.median_interval` (order statistics x_(l), x_(n-l+1) from Binomial(n, 1/2)).

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)" (baseline) and "Choices where the
    reference leaves room" (scores at an infusion's start); Student (1908), "The probable error
    of a mean", Biometrika 6:1-25; Conover WJ (1999), Practical Nonparametric Statistics, 3rd
    ed., sec. 3.2.
    """
    group_by = check_group_by(group_by)
    max_infusion = settings.thresholds.trajectory_max_infusion
    sql, params = cohort_query("analytics/trajectories/by_infusion", cohort, group_by, rows="p")
    points = con.execute(
        sql, [*params, scale, max_infusion, max_infusion, scale, max_infusion, max_infusion]).df()
    return _with_intervals(points, group_by, ["infusion", "label"])


def by_week(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Mean and median score by whole weeks since the first infusion, with 95% intervals and n.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        Taken for the common signature.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`; one trajectory per group.

    Returns
    -------
    pandas.DataFrame
        The `group_by` attributes, `week`, `label` ("baseline", "week 0", …), then `n`,
        `mean`, `mean_low`, `mean_high`, `median`, `median_low`, `median_high` as in
        `by_infusion`.

    Notes
    -----
    Week w holds follow-up scores (valid scores after the baseline, hence after the first
    infusion started) dated 7w … 7w + 6 calendar days after the first infusion's date
    (`scores.days_since_first_session`; week 0 = days 0–6); each patient counts once per
    week, with the latest score of that week. The baseline is a separate point first, with
    `week` = -1 (BASELINE_WEEK) and `label` "baseline", wherever in the 30-day window it was
    taken, so a pre-infusion score on day 0 is never mixed with the first post-infusion scores.
    Only patients with a baseline and in `cohort` are counted; every week with data is returned.
    Intervals as in `by_infusion`.

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)" (baseline, follow-up) and "Choices where
    the reference leaves room" (clinic-local dates); Student (1908), Biometrika 6:1-25; Conover
    WJ (1999), Practical Nonparametric Statistics, 3rd ed., sec. 3.2.
    """
    group_by = check_group_by(group_by)
    sql, params = cohort_query("analytics/trajectories/by_week", cohort, group_by, rows="p")
    points = con.execute(sql, [*params, scale, scale]).df()
    return _with_intervals(points, group_by, ["week", "label"])
