"""Measurement coverage: who has a baseline, and how reliably a score is taken before each infusion.

Why a module of its own: a patient without a baseline cannot be counted in that scale's outcome
rates, and measurement-based care needs a score before every infusion. These questions say where
the measurement routine has gaps, patient by patient (for the clinician or admin who can fix
them) and in counts (for the analyst, through `pipelines.reports.quality`, which blanks small
cells). The dashboard's Data quality page shows them, the Clinic outcomes page shows the
overall completion (`assessment_completion`); notebooks can ask the same. Both completion
questions count the same step (sql/analytics/coverage/covering_scores.sql), so "a score before
the infusion" has one definition.

Sources: the outcome views (`patient_cohorts`, `scores`, `patient_outcomes`, `session_numbers`)
and `assessments`. Baseline is the clinical definition of docs/scoring.md ("Baseline": the
latest valid score from the first infusion's date minus 30 days up to its start), read from the
same `outcome_settings` table the `patient_outcomes` view reads, so "no baseline" here is exactly
"no row in `patient_outcomes`".
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .cohorts import CohortFilter, cohort_join, cohort_query, step
from .frames import patient_rows
from .stats import wilson_interval

# Why a patient has no baseline on a scale, most actionable first (see `patients_without_baseline`).
BASELINE_GAP_REASONS = {
    "only_incomplete": "only incomplete scores in the baseline window (too many items missing)",
    "only_too_early": "scored before treatment, but only more than the baseline window before the first infusion",
    "none_before_start": "no score before the first infusion",
    "never_recorded": "never recorded",
}


def patients_without_baseline(con: duckdb.DuckDBPyConnection, settings=None, scale: str | None = None,
                              cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Treated patients who have no baseline on a scale, with the reason.

    They are left out of that scale's outcome rates ("no such assessment -> no baseline: the
    patient is counted in data quality, not in outcome rates"), so the list says whom to
    follow up and why.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings, optional
        Not used: the baseline window is the database's (`outcome_settings`).
    scale : str, optional
        One scale code, or None for all.
    cohort : CohortFilter
        Which treated patients (all by default).

    Returns
    -------
    pandas.DataFrame
        One row per patient and scale without a baseline: `patient_id`, `instrument`, `site`,
        `clinician`, `first_session_at`, `reason` (a key of BASELINE_GAP_REASONS),
        `latest_too_early_at` and `days_too_early` (the latest valid score before the window and
        its distance in days from the first infusion's date), `first_after_start_at` (first
        valid score after treatment started), `n_administrations` (of that scale, valid or
        not). Sorted by scale, reason (in BASELINE_GAP_REASONS' order), patient.

    Notes
    -----
    Expected to have a baseline: PHQ-9 for every treated patient of the cohort, any other
    scale once the patient has an administration of it. Missing = no row in
    `patient_outcomes`. The reason is the first that applies:

    - `only_incomplete`: administrations in the baseline window, none with a total (too many
      items missing);
    - `only_too_early`: valid scores before treatment, but all dated more than the window
      (`outcome_settings.baseline_window_days`, 30) before the first infusion's date;
    - `none_before_start`: administrations, but none before the first infusion started (a
      score stamped after the start does not count);
    - `never_recorded`: no administration at all (PHQ-9 only).

    References
    ----------
    docs/scoring.md, "Baseline".
    """
    query, params = cohort_query("analytics/coverage/patients_without_baseline", cohort,
                                 reasoned=_reasoned_step(cohort))
    return patient_rows(con, query, [*params, scale, scale])


def baseline_coverage(con: duckdb.DuckDBPyConnection, settings=None,
                      cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Per scale, the cohort's treated patients with a baseline and without one, by reason.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings, optional
        Not used.
    cohort : CohortFilter
        Which treated patients (all by default).

    Returns
    -------
    pandas.DataFrame
        One row per scale anybody of the cohort was given (PHQ-9 first): `instrument`,
        `n_with_baseline`, `n_without_baseline` (as `patients_without_baseline` defines it),
        and the latter split by reason, one column per key of BASELINE_GAP_REASONS.

    Notes
    -----
    Counts of patients, not suppressed: `pipelines.reports.quality.suppressed_coverage` gives
    the analyst's view with small cells blanked.

    References
    ----------
    docs/scoring.md, "Baseline".
    """
    query, params = cohort_query("analytics/coverage/baseline_coverage", cohort, rows="o",
                                 reasoned=_reasoned_step(cohort))
    return con.execute(query, params).df().drop(columns="page_order")


def _reasoned_step(cohort: CohortFilter) -> str:
    """The step `reasoned` (sql/analytics/coverage/reasoned_gaps.sql: who lacks a baseline on a
    scale, and why) that both coverage questions build on, joined to the cohort's CTE."""
    return step("reasoned", "analytics/coverage/reasoned_gaps", cohort_join=cohort_join(cohort, (), "pc"))


def assessment_completion(con: duckdb.DuckDBPyConnection, settings=None, scale: str = "PHQ-9",
                          cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Share of the cohort's infusions preceded by a valid score of `scale`: one row.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings, optional
        Not used: the baseline window is the database's (`outcome_settings`), as for the
        `patient_outcomes` view.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.

    Returns
    -------
    pandas.DataFrame
        `n_infusions` (the denominator: every infusion of the cohort), `n_with_score`, `rate`,
        `low`, `high` (95% Wilson interval; NaN without infusions).

    Notes
    -----
    An infusion counts when the patient has a valid score (`scores`, complete or prorated)
    taken after the previous infusion started and before this one started (a score stamped with
    the infusion's own start time counts, as for the baseline); for the first infusion, a score
    in the baseline window. Several scores in one gap count once. rate = n_with_score /
    n_infusions. Measurement-based care asks for a score before every infusion, so this is the
    clinic's measurement rate.

    References
    ----------
    Clinical reference, "Baseline"; docs/analytics.md.
    """
    query, params = cohort_query("analytics/coverage/assessment_completion", cohort, covering=_covering_step())
    frame = con.execute(query, [*params, scale]).df()
    estimate = wilson_interval(int(frame.n_with_score.iloc[0]), int(frame.n_infusions.iloc[0]))
    return frame.assign(rate=float(estimate.value), low=float(estimate.low), high=float(estimate.high))


def completion_by_infusion(con: duckdb.DuckDBPyConnection, settings=None, scale: str = "PHQ-9",
                           max_infusion: int = 12, cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Assessment completion: the share of infusions given with a valid score taken before it.

    Why: measurement-based care needs a score before every infusion; a falling share by
    infusion number shows where the routine slips (and the worklist's "no PHQ-9 since last
    infusion" flags the patients).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings, optional
        Not used: the baseline window is the database's (`outcome_settings`).
    scale : str
        The scale whose scores count (PHQ-9 by default).
    max_infusion : int
        Infusion numbers 1..max_infusion are reported.
    cohort : CohortFilter
        Whose infusions (all treated patients by default).

    Returns
    -------
    pandas.DataFrame
        One row per infusion number 1..max_infusion: `infusion`, `n_infusions` (infusions with
        that number in the cohort), `n_with_score`, `share` = n_with_score / n_infusions with
        its 95% Wilson interval `share_low`, `share_high` (NaN when no infusion has that number).

    Notes
    -----
    A score counts for infusion k when it was taken before infusion k started and after
    infusion k - 1 started (`scores.sessions_before` = k - 1). The first infusion's score must
    lie in the baseline window, so infusion 1 is the share of patients with a usable baseline.
    Several scores before one infusion count once. Each patient has at most one infusion of
    each number, so the counts are counts of patients.

    References
    ----------
    docs/scoring.md, "Baseline"; Fortney et al. (2017), "A tipping point for measurement-based
    care", Psychiatric Services 68(2).
    """
    query, params = cohort_query("analytics/coverage/completion_by_infusion", cohort, rows="sn",
                                 covering=_covering_step())
    frame = con.execute(query, [*params, scale, max_infusion, max_infusion, max_infusion]).df()
    estimates = [wilson_interval(k, n) for k, n in zip(frame.n_with_score, frame.n_infusions)]
    frame["share_low"] = [float(e.low) for e in estimates]
    frame["share_high"] = [float(e.high) for e in estimates]
    return frame


def _covering_step() -> str:
    """The step `covering` (sql/analytics/coverage/covering_scores.sql: the valid scores that
    cover an infusion) both completion questions count."""
    return step("covering", "analytics/coverage/covering_scores")
