"""Cohort outcome rates: of the patients in a cohort, how many responded, remitted, changed
reliably or recovered on one scale, and how much their scores moved.

Why this module: the dashboard, the notebooks and the CLI all ask this question and must show
the same number for it. Whether one patient responded is decided once, in the
`patient_outcomes` view (clinical reference, "Outcome definitions"); this module only picks
the cohort, counts in DuckDB and adds the per-group statistics (Wilson intervals, mean and
median change, the Wilcoxon signed-rank test and its effect size) in Python with scipy.

Denominators (clinical reference, "Caseness"): every rate here is over the *evaluable*
patients, those whose baseline is in caseness AND who have a follow-up score at the chosen
timepoint. The reference names this denominator for response and remission; it is applied to
reliable improvement and reliable deterioration too, so that every rate on a row shares one
n (NHS Talking Therapies itself reports reliable improvement over everyone with paired
scores; `pipelines.analytics.nhs` follows that definition for the PHQ-9 + GAD-7 pair).
Patients with a baseline but no follow-up are counted in `n_baseline` and left out of the
rates, as the reference requires. The change statistics and the paired test are over the same
evaluable patients.

The shared helpers at the bottom (cohort CTE, group label, rate columns) are also used by
`nhs.py` and `retention.py`, so every analytics frame is shaped the same way.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by, cohort_select
from .stats import mean_interval, median_interval, wilson_interval

TIMEPOINTS = ("latest", "after_induction")
OUTCOMES = ("response", "remission", "reliable_improvement", "reliable_deterioration", "recovery",
            "reliable_recovery")
ALL_PATIENTS = "all"  # the `group` label of the single row of an ungrouped result


def cohort_outcomes(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
    timepoint: str = "latest",
) -> pd.DataFrame:
    """Outcome counts, rates and change statistics for one scale, per group of a cohort.

    One row per group: `group` (a label: "all" when ungrouped, else the group values joined by
    " / "), the group columns, then
    - `n_patients`: treated patients (`patient_cohorts`) in the cohort and group;
    - `n_baseline`: of them, with a baseline on `scale`;
    - `n_caseness`: baseline in caseness (PHQ-9 >= 10, GAD-7 >= 8, PCL-5 >= 33, pain >= 4);
    - `n_evaluable`: in caseness and with a follow-up at `timepoint`, the denominator of all rates;
    - for each outcome in OUTCOMES: `<outcome>_n` (evaluable patients with it), `<outcome>_rate`,
      `<outcome>_low`, `<outcome>_high` (95% Wilson score interval). Pain has no remission:
      `remission_n` is <NA> and its rate and interval NaN;
    - `mean_change` with a t interval, `median_change` with the order-statistic interval
      (`_low`, `_high`), change = follow-up - baseline, negative is better;
    - `wilcoxon_statistic`, `wilcoxon_p`: scipy.stats.wilcoxon of follow-up vs baseline
      (two-sided; zero changes dropped, the "wilcox" method; the statistic is the smaller of the
      two signed-rank sums), NaN when no evaluable patient changed;
    - `effect_size_r`: matched-pairs rank-biserial correlation (Kerby 2014), positive when
      scores fell (see `rank_biserial`).

    `timepoint`: "latest" uses the view's flags (judged on the latest follow-up);
    "after_induction" judges the same definitions on `after_induction_score`, with the
    thresholds of the `instruments` table (evaluable = caseness and an after-induction score).

    Definitions: clinical reference, "Outcome definitions" (response, remission, caseness,
    reliable change after Jacobson & Truax 1991 with the NHS Talking Therapies thresholds,
    recovery, Wilson intervals). `settings` is taken for the common signature; thresholds come
    from the database's `instruments` table, written from the same registry.
    """
    group_by = check_group_by(group_by)
    has_remission = scale_has_remission(con, scale)
    sql, params = outcome_counts_query(scale, cohort, group_by, timepoint)
    counts = con.execute(sql, params).df()
    changes = counts.pop("evaluable_changes")

    frame = with_group_label(counts, group_by)
    for outcome in OUTCOMES:
        frame = with_rate(frame, outcome, "n_evaluable")
    frame["remission_n"] = frame["remission_n"].astype("Int64")  # nullable: <NA> where undefined
    if not has_remission:
        frame.loc[:, "remission_n"] = pd.NA
        frame[["remission_rate", "remission_low", "remission_high"]] = math.nan
    change_columns = pd.DataFrame([change_statistics(c) for c in changes], index=frame.index,
                                  columns=CHANGE_COLUMNS, dtype=float)
    return pd.concat([frame, change_columns], axis=1)


# --- SQL ---------------------------------------------------------------------------------

# Per-patient outcomes on the latest follow-up: the view's own flags.
LATEST_SQL = """
judged AS (
    SELECT
        patient_id,
        baseline_score,
        baseline_caseness,
        n_followups > 0 AS has_followup,
        change,
        response, remission, reliable_improvement, reliable_deterioration, recovery, reliable_recovery
    FROM patient_outcomes
    WHERE instrument = ?
)"""

# Per-patient outcomes judged on another follow-up score of `patient_outcomes` with the same
# definitions as the view (the `judge_outcome` macro, sql/views/outcome_flags.sql) and the
# thresholds of the `instruments` table.
JUDGED_AT_SQL = """
at_followup AS (
    SELECT
        po.patient_id,
        po.baseline_score,
        po.baseline_caseness,
        po.{score_column} AS followup_score,
        po.{score_column} - po.baseline_score AS change,
        i.caseness_min, i.response_drop_pct, i.reliable_change, i.remission_below, i.remission_min_drop
    FROM patient_outcomes AS po
    JOIN instruments AS i ON i.code = po.instrument
    WHERE po.instrument = ?
),
judged AS (
    SELECT
        patient_id,
        baseline_score,
        baseline_caseness,
        followup_score IS NOT NULL AS has_followup,
        change,
        flags.*
    FROM (
        SELECT *, judge_outcome(baseline_score, followup_score, caseness_min, response_drop_pct, remission_below,
                                remission_min_drop, reliable_change) AS flags
        FROM at_followup
    )
)"""

# Evaluable = in caseness with a follow-up; every count of an outcome is among them.
COUNTS_SQL = """
WITH {cohort_cte},
{judged_cte},
per_patient AS (
    SELECT
        cohort.*,
        judged.* EXCLUDE (patient_id),
        coalesce(judged.baseline_caseness AND judged.has_followup, false) AS evaluable
    FROM cohort
    LEFT JOIN judged USING (patient_id)
)
SELECT
    {group_columns}
    count(*) AS n_patients,
    count(baseline_score) AS n_baseline,
    count(*) FILTER (WHERE baseline_caseness) AS n_caseness,
    count(*) FILTER (WHERE evaluable) AS n_evaluable,
    {outcome_counts},
    coalesce(list(change) FILTER (WHERE evaluable), []) AS evaluable_changes
FROM per_patient
GROUP BY ALL
{order_by}
"""


def judged_at_sql(score_column: str) -> str:
    """The `judged` CTE recomputing the outcome flags on `score_column` of `patient_outcomes`."""
    if score_column not in ("latest_score", "after_induction_score"):
        raise ValueError(f"unknown follow-up score column {score_column!r}")
    return JUDGED_AT_SQL.format(score_column=score_column)


def outcome_counts_query(scale: str, cohort: CohortFilter, group_by: tuple[str, ...],
                         timepoint: str) -> tuple[str, list]:
    """SQL and parameters: one row per group with the counts and the evaluable changes."""
    if timepoint not in TIMEPOINTS:
        raise ValueError(f"unknown timepoint {timepoint!r}; choose from {TIMEPOINTS}")
    cohort_cte, params = cohort_sql(cohort, group_by)
    judged_cte = LATEST_SQL if timepoint == "latest" else judged_at_sql("after_induction_score")
    outcome_counts = ",\n    ".join(
        f"count(*) FILTER (WHERE evaluable AND {name}) AS {name}_n" for name in OUTCOMES)
    sql = COUNTS_SQL.format(cohort_cte=cohort_cte, judged_cte=judged_cte, outcome_counts=outcome_counts,
                            **group_sql(group_by))
    return sql, [*params, scale]


def scale_has_remission(con: duckdb.DuckDBPyConnection, scale: str) -> bool:
    """Whether the scale defines remission (pain does not); ValueError for an unknown scale."""
    rows = con.execute("SELECT remission_below FROM instruments WHERE code = ?", [scale]).fetchall()
    if not rows:
        known = [code for (code,) in con.execute("SELECT code FROM instruments ORDER BY code").fetchall()]
        raise ValueError(f"unknown scale {scale!r}; choose from {known}")
    return rows[0][0] is not None


# --- Change statistics -------------------------------------------------------------------

CHANGE_COLUMNS = ["mean_change", "mean_change_low", "mean_change_high", "median_change", "median_change_low",
                  "median_change_high", "wilcoxon_statistic", "wilcoxon_p", "effect_size_r"]


def change_statistics(changes) -> list[float]:
    """CHANGE_COLUMNS for one group's changes (follow-up - baseline, one per patient)."""
    changes = np.asarray(changes, dtype=float)
    mean, median = mean_interval(changes), median_interval(changes)
    statistic, p_value = wilcoxon_test(changes)
    return [mean.value, mean.low, mean.high, median.value, median.low, median.high, statistic, p_value,
            rank_biserial(changes)]


def wilcoxon_test(changes) -> tuple[float, float]:
    """Wilcoxon signed-rank test of follow-up vs baseline, two-sided (scipy.stats.wilcoxon).

    Given the changes d = follow-up - baseline this equals scipy.stats.wilcoxon(follow_up,
    baseline) with its default method: zero changes dropped (zero_method="wilcox"); the
    statistic is the smaller signed-rank sum; p exact for up to 50 untied changes, by the normal
    approximation above 50. For up to 13 changes with ties scipy runs a permutation test over
    all 2^n sign assignments, which takes up to seconds per call there; `_sign_flip_p` computes
    the same p-value in one vectorised step. (NaN, NaN) when no change is non-zero.
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


SIGN_FLIP_MAX_N = 13  # scipy's limit for its deterministic permutation test (2^13 < 9999 resamples)


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

    Kerby DS (2014), "The simple difference formula: an approach to teaching nonparametric
    correlation", Comprehensive Psychology 3:11. Rank the absolute non-zero changes (ties get
    the average rank, zeros dropped, as in the Wilcoxon test); r = (rank sum of improvements -
    rank sum of deteriorations) / total rank sum. On these scales a fall is an improvement,
    so r runs from -1 (everyone worse) through 0 to +1 (everyone better). NaN when no change
    is non-zero.
    """
    nonzero = _nonzero(changes)
    if nonzero.size == 0:
        return math.nan
    ranks = stats.rankdata(np.abs(nonzero))
    return float((ranks[nonzero < 0].sum() - ranks[nonzero > 0].sum()) / ranks.sum())


def _nonzero(changes) -> np.ndarray:
    values = np.asarray(changes, dtype=float)
    return values[~np.isnan(values) & (values != 0)]


# --- Shared shaping (also used by nhs.py and retention.py) -------------------------------

def cohort_sql(cohort: CohortFilter, group_by: tuple[str, ...]) -> tuple[str, list]:
    """The `cohort` CTE (treated patients of the cohort with their infusion count and group
    attributes) and its parameters."""
    select, params = cohort_select(cohort, group_by)
    return f"cohort AS (\n    {select}\n)", params


def group_sql(group_by: tuple[str, ...]) -> dict[str, str]:
    """`group_columns` (leading select items) and `order_by` for a GROUP BY ALL query."""
    if not group_by:
        return {"group_columns": "", "order_by": ""}
    return {"group_columns": "".join(f"{name}, " for name in group_by),
            "order_by": "ORDER BY " + ", ".join(f"{name} NULLS LAST" for name in group_by)}


def with_group_label(frame: pd.DataFrame, group_by: tuple[str, ...]) -> pd.DataFrame:
    """Prepend `group`: "all" for an ungrouped result, else the group values joined by " / "
    (a missing value reads "unknown")."""
    frame = frame.reset_index(drop=True)
    if not group_by:
        label = pd.Series(ALL_PATIENTS, index=frame.index, dtype=object)
    else:
        parts = [frame[name].astype("string").fillna("unknown") for name in group_by]
        label = parts[0].astype(object)
        for part in parts[1:]:
            label = label + " / " + part.astype(object)
    frame.insert(0, "group", label)
    return frame


def with_rate(frame: pd.DataFrame, name: str, denominator: str) -> pd.DataFrame:
    """Add `<name>_rate`, `<name>_low`, `<name>_high` (95% Wilson) right after `<name>_n`;
    NaN where the denominator is 0."""
    estimates = [wilson_interval(k, n) for k, n in zip(frame[f"{name}_n"], frame[denominator])]
    position = frame.columns.get_loc(f"{name}_n") + 1
    for offset, (suffix, attribute) in enumerate((("rate", "value"), ("low", "low"), ("high", "high"))):
        values = [float(getattr(e, attribute)) for e in estimates]
        frame.insert(position + offset, f"{name}_{suffix}", pd.Series(values, index=frame.index, dtype=float))
    return frame
