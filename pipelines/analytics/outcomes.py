"""Cohort outcome rates: of the patients in a cohort, how many responded, remitted, changed
reliably or recovered on one scale, and how much their scores moved; per group (clinician, site,
start month, ...) for the comparisons of the Clinic outcomes page.

Why this module: the dashboard, the notebooks and the CLI all ask this question and must show
the same number for it. Whether one patient responded is decided once, in the
`patient_outcomes` view (clinical reference, "Outcome definitions"); this module only picks
the cohort, counts in DuckDB (sql/analytics/outcomes/) and adds the per-group statistics
(Wilson intervals, mean and median change, the Wilcoxon signed-rank test and its effect size,
from `stats`) in Python with scipy.

Denominators (clinical reference, "Caseness"): every rate here is over the *evaluable*
patients, those whose baseline is in caseness AND who have a follow-up score at the chosen
timepoint. The reference names this denominator for response and remission; it is applied to
reliable improvement and reliable deterioration too, so that every rate on a row shares one
n (NHS Talking Therapies itself reports reliable improvement over everyone with paired
scores; `pipelines.analytics.nhs` follows that definition for the PHQ-9 + GAD-7 pair).
Patients with a baseline but no follow-up are counted in `n_baseline` and left out of the
rates, as the reference requires. The change statistics and the paired test are over the same
evaluable patients.

Every count here is raw; small cells are blanked where the numbers are published
(`pipelines.reports`). The group label and the rate columns are shaped by `shaping`, as in
`nhs` and `retention`, so every analytics frame is shaped the same way.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by, cohort_query, step
from .shaping import with_group_label, with_rate
from .stats import CHANGE_COLUMNS, change_statistics

TIMEPOINTS = ("latest", "after_induction")
OUTCOMES = ("response", "remission", "reliable_improvement", "reliable_deterioration", "recovery",
            "reliable_recovery")
# Outcomes compared between groups (each with `_n`, `_rate`, `_low`, `_high`).
GROUP_OUTCOMES = ("response", "remission")
# The follow-up score each timepoint judges: "latest" reads the view's own flags.
FOLLOWUP_SCORES = {"after_induction": "after_induction_score"}


def cohort_outcomes(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
    timepoint: str = "latest",
) -> pd.DataFrame:
    """Outcome counts, rates and change statistics for one scale, per group of a cohort.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views (`analytics.snapshot.open_snapshot`).
    settings : Settings
        Taken for the common signature; thresholds come from the database's `instruments`
        table, written from the same registry.
    scale : str
        Instrument code, e.g. "PHQ-9".
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`; empty for one row over the cohort.
    timepoint : {"latest", "after_induction"}
        "latest" uses the view's flags (judged on the latest follow-up); "after_induction"
        judges the same definitions on `after_induction_score`, with the thresholds of the
        `instruments` table (evaluable = caseness and an after-induction score).

    Returns
    -------
    pandas.DataFrame
        One row per group: `group` (a label: "all" when ungrouped, else the group values joined
        by " / "), the group columns, then

        - `n_patients`: treated patients (`patient_cohorts`) in the cohort and group;
        - `n_baseline`: of them, with a baseline on `scale`;
        - `n_caseness`: baseline in caseness (PHQ-9 >= 10, GAD-7 >= 8, PCL-5 >= 33, pain >= 4);
        - `n_evaluable`: in caseness and with a follow-up at `timepoint`, the denominator of all
          rates;
        - for each outcome in OUTCOMES: `<outcome>_n` (evaluable patients with it),
          `<outcome>_rate`, `<outcome>_low`, `<outcome>_high` (95% Wilson score interval). Pain
          has no remission: `remission_n` is <NA> and its rate and interval NaN;
        - `mean_change` with a t interval, `median_change` with the order-statistic interval
          (`_low`, `_high`), change = follow-up - baseline, negative is better;
        - `wilcoxon_statistic`, `wilcoxon_p`: `stats.wilcoxon_test` of follow-up vs baseline,
          NaN when no evaluable patient changed;
        - `effect_size_r`: matched-pairs rank-biserial correlation, positive when scores fell
          (`stats.rank_biserial`).

    Notes
    -----
    Rate = k / n over the evaluable patients, with the Wilson score interval (`stats`). The
    change statistics are `stats.change_statistics` of the evaluable patients' changes.

    References
    ----------
    Clinical reference, "Outcome definitions" (response, remission, caseness, reliable change
    after Jacobson NS & Truax P (1991), J Consult Clin Psychol 59:12-19, with the NHS Talking
    Therapies thresholds, recovery, Wilson intervals); docs/analytics.md.
    """
    group_by = check_group_by(group_by)
    has_remission = scale_has_remission(con, scale)
    sql, params = _outcome_counts_query(scale, cohort, group_by, timepoint)
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


def outcomes_by_group(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                      by: str = "clinician", cohort: CohortFilter = CohortFilter(),
                      timepoint: str = "latest") -> pd.DataFrame:
    """Response and remission per clinician (or site, or any `cohorts.GROUPABLE` attribute).

    Parameters
    ----------
    con, settings, scale, cohort, timepoint
        As in `cohort_outcomes`.
    by : str
        The attribute the groups are made of.

    Returns
    -------
    pandas.DataFrame
        `cohort_outcomes(..., group_by=(by,))` reduced to what a comparison of groups shows:
        `group`, `by`'s column, `n_patients`, `n_evaluable`, then `<outcome>_n`, `_rate`,
        `_low`, `_high` for response and remission (GROUP_OUTCOMES), one row per group. Every
        count is raw: the published table (`pipelines.reports.clinic.outcomes_by_group`)
        blanks small cells and adds the funnel plot's control limits.

    Notes
    -----
    Per group g of `by`: rate_g = k_g / n_g over the group's evaluable patients (in caseness at
    baseline with a follow-up at `timepoint`), with the 95% Wilson score interval, exactly as
    `cohort_outcomes` computes it for the whole cohort; patients whose `by` value is missing
    form a group of their own ("unknown"). The groups partition the cohort, so their n add up
    to the cohort's. A group's interval says how precisely its own rate is known; whether a
    group differs from the clinic by more than chance is the funnel plot's question
    (`funnel.binomial_control_limits`), not a comparison of intervals.

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)" (response, remission, caseness and the
    denominator); Wilson EB (1927), J Am Stat Assoc 22:209-212; Spiegelhalter DJ (2005),
    "Funnel plots for comparing institutional performance", Stat Med 24:1185-1202 (comparing
    groups by rate against size).
    """
    by = check_group_by((by,))[0]
    frame = cohort_outcomes(con, settings, scale, cohort=cohort, group_by=(by,), timepoint=timepoint)
    return frame[["group", by, "n_patients", "n_evaluable", *_group_outcome_columns()]].copy()


def monthly_outcomes(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                     cohort: CohortFilter = CohortFilter(), timepoint: str = "latest") -> pd.DataFrame:
    """Response and remission by start cohort (month of the first infusion).

    Parameters
    ----------
    con, settings, scale, cohort, timepoint
        As in `cohort_outcomes`.

    Returns
    -------
    pandas.DataFrame
        `group`, `start_month`, `n_patients`, `n_evaluable`, then `<outcome>_n`, `_rate`,
        `_low`, `_high` for response and remission: `cohort_outcomes(...,
        group_by=("start_month",))`, one row per month, counts raw (published with small cells
        blanked by `pipelines.reports.clinic.monthly_outcomes`).

    Notes
    -----
    start_month = the calendar month of the patient's first infusion (clinic local time); per
    month, rate = k / n over its evaluable patients with the 95% Wilson score interval, as in
    `cohort_outcomes`. Recent months have had less time to respond; read them with their n.

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)" (treatment start, response, remission,
    the denominator); Wilson EB (1927), J Am Stat Assoc 22:209-212.
    """
    frame = cohort_outcomes(con, settings, scale, cohort=cohort, group_by=("start_month",), timepoint=timepoint)
    return frame[["group", "start_month", "n_patients", "n_evaluable", *_group_outcome_columns()]]


def _group_outcome_columns() -> list[str]:
    return [f"{name}_{suffix}" for name in GROUP_OUTCOMES for suffix in ("n", "rate", "low", "high")]


# --- SQL ---------------------------------------------------------------------------------

def judged_step(timepoint: str) -> str:
    """The step `judged` of a query (`cohorts.step`): each patient's outcomes at `timepoint`.

    A building block, not a question: it returns SQL text for another query of the analytics
    to include (`cohort_outcomes` here, `change.waterfall`), so that every answer judging
    outcomes at a timepoint judges them with the same step. Public because `change` imports it.

    Parameters
    ----------
    timepoint : {"latest", "after_induction"}
        "latest": the view's own flags (sql/analytics/outcomes/judged_latest.sql); otherwise
        the flags recomputed on that timepoint's follow-up score (judged_at.sql).

    Returns
    -------
    str
        The step, followed by its comma; it takes one parameter, the scale.
    """
    if timepoint not in TIMEPOINTS:
        raise ValueError(f"unknown timepoint {timepoint!r}; choose from {TIMEPOINTS}")
    if timepoint == "latest":
        return step("judged", "analytics/outcomes/judged_latest")
    return step("judged", "analytics/outcomes/judged_at", score_column=FOLLOWUP_SCORES[timepoint])


def judged_at_sql(score_column: str) -> str:
    """The CTE `judged` recomputing the outcome flags on `score_column` of `patient_outcomes`.

    A building block, not a question: SQL text, not an answer. It is public for the test that
    judging "latest_score" with the shared step gives back the view's own flags
    (tests/test_analytics_outcomes.py), the check that the definitions are written once.

    Parameters
    ----------
    score_column : {"latest_score", "after_induction_score"}
        The follow-up score to judge; "latest_score" gives back the view's own flags (a check
        that the definitions are written once).

    Returns
    -------
    str
        `judged AS (...)`, to follow `WITH`; it takes one parameter, the scale.
    """
    if score_column not in ("latest_score", "after_induction_score"):
        raise ValueError(f"unknown follow-up score column {score_column!r}")
    return step("judged", "analytics/outcomes/judged_at", score_column=score_column).removesuffix(",")


def _outcome_counts_query(scale: str, cohort: CohortFilter, group_by: tuple[str, ...],
                          timepoint: str) -> tuple[str, list]:
    """The query of `cohort_outcomes` (sql/analytics/outcomes/counts.sql).

    Parameters
    ----------
    scale, cohort, group_by, timepoint
        As in `cohort_outcomes` (`group_by` checked).

    Returns
    -------
    tuple
        `(sql, params)`: one row per group with the counts and the evaluable changes.
    """
    sql, params = cohort_query("analytics/outcomes/counts", cohort, group_by, judged=judged_step(timepoint))
    return sql, [*params, scale]


def scale_has_remission(con: duckdb.DuckDBPyConnection, scale: str) -> bool:
    """Whether the scale defines remission (pain does not).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the `instruments` table.
    scale : str
        Instrument code; ValueError for an unknown one.

    Returns
    -------
    bool

    Notes
    -----
    Read from `instruments.remission_below` (NULL: no remission defined): PHQ-9 and GAD-7 < 5,
    PCL-5 < 33 with a drop of at least 10; pain has none.

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)", Remission.
    """
    rows = con.execute("SELECT remission_below FROM instruments WHERE code = ?", [scale]).fetchall()
    if not rows:
        known = [code for (code,) in con.execute("SELECT code FROM instruments ORDER BY code").fetchall()]
        raise ValueError(f"unknown scale {scale!r}; choose from {known}")
    return rows[0][0] is not None
