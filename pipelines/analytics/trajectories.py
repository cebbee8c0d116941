"""Score trajectories: how a cohort's scores move over the course, by infusion and by week.

Clinicians think in infusions ("most of the drop comes after the first two or three"), while
follow-ups after induction are spaced in weeks, so both axes are offered. Both count only
patients with a baseline (the outcome population of the clinical reference; patients
without one belong to data quality) and use one score per patient per point, so a patient
who filled in a scale twice in a week does not weigh double.

Aggregation (n, mean, a histogram of the per-patient scores of each point) is done in DuckDB; the
95% intervals come from `stats.py` (t interval for the mean, order-statistic interval for
the median), computed in Python once per point and group.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..settings import Settings
from . import stats
from .cohorts import CohortFilter, check_group_by, cohort_join, cohort_select

MAINTENANCE = "maintenance"
BASELINE = "baseline"
BASELINE_WEEK = -1  # the `week` value of the baseline row in by_week
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

    The score "at infusion k" is the patient's score taken before infusion k started
    (`scores.sessions_before` = k − 1; with several, the latest), from the view
    `scores_by_infusion`. Infusion 1's score is therefore the baseline (the latest valid score
    in the baseline window, clinical reference "Baseline"). Infusions 1 to
    `settings.thresholds.trajectory_max_infusion` are points of their own; every later score
    falls into one "maintenance" point, where each patient counts once with their latest
    score. Only patients with a baseline and in `cohort` are counted.

    Columns: the `group_by` attributes, `infusion` (1 … max; max + 1 for maintenance),
    `label` ("1" … "12", "maintenance"), `n` (patients), `mean`, `mean_low`, `mean_high`
    (t interval), `median`, `median_low`, `median_high` (order-statistic interval; NaN bounds
    below 6 patients).
    """
    group_by = check_group_by(group_by)
    max_infusion = settings.thresholds.trajectory_max_infusion
    cohort_query, cohort_params = cohort_select(cohort, group_by)
    groups = "".join(f"c.{g}, " for g in group_by)
    sql = f"""
        WITH cohort AS ({cohort_query}),
        one_per_patient AS (
            -- scores_by_infusion has one score per patient and infusion; later infusions share
            -- one maintenance point (max + 1), where each patient counts with their latest score.
            SELECT patient_id, k AS infusion, score
            FROM scores_by_infusion
            WHERE instrument = ? AND k <= ?
            UNION ALL
            SELECT patient_id, ? + 1 AS infusion, arg_max(score, administered_at) AS score
            FROM scores_by_infusion
            WHERE instrument = ? AND k > ?
            GROUP BY patient_id
        )
        SELECT {groups}
               p.infusion,
               CASE WHEN p.infusion > ? THEN '{MAINTENANCE}' ELSE p.infusion::VARCHAR END AS label,
               count(*) AS n,
               avg(p.score) AS mean,
               histogram(p.score) AS scores
        FROM one_per_patient AS p
        {cohort_join(cohort, group_by, "p")}
        GROUP BY ALL
        ORDER BY {groups}p.infusion
    """
    points = con.execute(
        sql, [*cohort_params, scale, max_infusion, max_infusion, scale, max_infusion, max_infusion]).df()
    return _with_intervals(points, group_by, ["infusion", "label"])


def by_week(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Mean and median score by whole weeks since the first infusion, with 95% intervals and n.

    Week w holds follow-up scores (valid scores after the baseline, hence after the first
    infusion started) dated 7w … 7w + 6 calendar days after the first infusion's date
    (`scores.days_since_first_session`; week 0 = days 0–6); each patient counts once per
    week, with the latest score of that week. The baseline is a separate point first, with
    `week` = -1 and `label` "baseline", wherever in the 30-day window it was taken, so a
    pre-infusion score on day 0 is never mixed with the first post-infusion scores. Only
    patients with a baseline and in `cohort` are counted; every week with data is returned.

    Columns: the `group_by` attributes, `week`, `label` ("baseline", "week 0", …), then
    `n`, `mean`, `mean_low`, `mean_high`, `median`, `median_low`, `median_high` as in
    `by_infusion`.
    """
    group_by = check_group_by(group_by)
    cohort_query, cohort_params = cohort_select(cohort, group_by)
    groups = "".join(f"c.{g}, " for g in group_by)
    sql = f"""
        WITH cohort AS ({cohort_query}),
        baselines AS (
            SELECT patient_id, baseline_at, baseline_score
            FROM patient_outcomes
            WHERE instrument = ?
        ),
        weekly AS (
            SELECT s.patient_id, s.days_since_first_session // 7 AS week, s.total AS score
            FROM scores AS s
            JOIN baselines AS b ON b.patient_id = s.patient_id
            WHERE s.instrument = ? AND s.administered_at > b.baseline_at
            QUALIFY row_number() OVER (PARTITION BY s.patient_id, week
                                       ORDER BY s.administered_at DESC, s.assessment_key DESC) = 1
        ),
        points AS (
            SELECT patient_id, {BASELINE_WEEK} AS week, baseline_score AS score FROM baselines
            UNION ALL
            SELECT patient_id, week, score FROM weekly
        )
        SELECT {groups}
               p.week,
               CASE WHEN p.week = {BASELINE_WEEK} THEN '{BASELINE}' ELSE 'week ' || p.week END AS label,
               count(*) AS n,
               avg(p.score) AS mean,
               histogram(p.score) AS scores
        FROM points AS p
        {cohort_join(cohort, group_by, "p")}
        GROUP BY ALL
        ORDER BY {groups}p.week
    """
    points = con.execute(sql, [*cohort_params, scale, scale]).df()
    return _with_intervals(points, group_by, ["week", "label"])
