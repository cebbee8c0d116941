"""Clinic activity: how busy the clinic is and which scales have data, for any cohort. (How
complete its measurement is, is `coverage.assessment_completion`.)

Why a module of its own: the director's page opens with these figures, and they must be the same
in a notebook as on the page. They are counted in DuckDB (sql/analytics/activity/) and return
one row each, so the page stays fast on a 200,000-patient clinic. Counts are raw; the page shows
them as `pipelines.reports.clinic` publishes them.

Definitions chosen here (also in docs/analytics.md):

- **As-of date**: the date of the latest infusion in the database (clinic-wide, whatever the
  filter), as the worklist uses it: a snapshot of exports is "as of" its newest infusion, not the
  wall clock.
- **Active patients**: patients of the cohort with an infusion on or after as-of minus
  `settings.thresholds.active_treatment_days` (28) days - the worklist's "in active treatment".
- **New starts**: patients of the cohort whose first infusion is on or after as-of minus
  `new_start_days` (30) days. The cohort's own first-infusion date range applies as well (a
  cohort filter is never ignored), so a range ending before that window gives 0 new starts.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, cohort_query

NEW_START_DAYS = 30


def scales_with_data(con: duckdb.DuckDBPyConnection, settings: Settings,
                     cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """The scales on which at least one patient of the cohort has a baseline.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        Taken for the common signature.
    cohort : CohortFilter
        Which treated patients.

    Returns
    -------
    pandas.DataFrame
        One row per scale, in the registry's page order (PHQ-9 first, the page's default): `instrument`,
        `name`, `n_baseline`, `n_evaluable` (in caseness with a follow-up: the denominator of
        the rates).

    Notes
    -----
    Baseline (docs/scoring.md, "Outcomes (per patient and scale)"): the latest valid score
    whose clinic-local date is within 30 days before the first infusion's date and not after
    its start, as `patient_outcomes` holds it. `n_baseline` = the cohort's patients with a baseline on the
    scale; `n_evaluable` = of them, those in caseness at baseline (PHQ-9 >= 10, GAD-7 >= 8,
    PCL-5 >= 33, pain >= 4) with at least one follow-up: the denominator of
    `outcomes.cohort_outcomes`' rates. Scales without a baseline in the cohort are left out.
    Counts only, so no interval.

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)" (baseline, follow-up, caseness; caseness
    cut-offs after the NHS Talking Therapies Manual); scale order and names from the instrument
    registry (`pipelines/instruments.py`).
    """
    sql, params = cohort_query("analytics/activity/scales_with_data", cohort)
    return con.execute(sql, params).df().drop(columns="page_order")


def activity(con: duckdb.DuckDBPyConnection, settings: Settings, cohort: CohortFilter = CohortFilter(),
             new_start_days: int = NEW_START_DAYS) -> pd.DataFrame:
    """How busy the clinic is, for the cohort: one row.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        `settings.thresholds.active_treatment_days` sets the window of "active".
    cohort : CohortFilter
        Which treated patients.
    new_start_days : int
        The window of "new starts", in days up to the as-of date.

    Returns
    -------
    pandas.DataFrame
        `as_of` (date of the latest infusion in the database; None when there is none),
        `n_patients` (treated patients in the cohort), `active_patients` (an infusion on or
        after as_of - active_treatment_days), `new_starts_since` (as_of - `new_start_days`),
        `new_starts` (first infusion on or after that date; the cohort's own date range applies
        too), `infusions` (every infusion of the cohort's patients, all time),
        `unknown_indication` (patients loaded without a primary indication: they count in every
        outcome, and are left out only when a cohort is filtered by indication).

    Notes
    -----
    With as_of = the date of the latest infusion in the database (clinic-wide):
    active = the cohort's patients with an infusion dated >= as_of - active_treatment_days;
    new_starts = the cohort's patients whose first infusion is dated >= as_of -
    new_start_days (and within the cohort's own first-infusion date range). Counts only, so no
    interval. Definitions in the module docstring and docs/analytics.md.

    References
    ----------
    docs/analytics.md ("clinic activity"); active treatment as the worklist defines it
    (`worklist.worklist`, reason 6); treatment start = the first infusion (docs/scoring.md,
    "Outcomes (per patient and scale)").
    """
    sql, params = cohort_query("analytics/activity/activity", cohort, rows="pc")
    active = settings.thresholds.active_treatment_days
    return con.execute(sql, [*params, active, new_start_days, new_start_days]).df()
