"""Treatment status: where each patient is in their course on a given day.

Why: a clinic's export holds everyone ever treated. A worklist of all of them buries the few
patients coming in this week under hundreds who stopped months ago. The status sorts them:
in induction, in maintenance (both "in treatment"), paused, ended. The rule is one SQL macro
(`sql/views/treatment_status.sql`), so the Patient page, every page's cohort filter and the
worklist judge a course alike.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

# The statuses and the cohort filter on them live with the other cohort definitions (the
# Clinic outcomes page reads cohorts, not this module); re-exported here for callers.
from .. import sql
from .cohorts import IN_TREATMENT, STATUSES, CohortFilter, cohort_query, status_days, status_filter
from .frames import patient_rows

__all__ = ["IN_TREATMENT", "STATUSES", "patient_status", "status_days", "status_filter", "treatment_status"]


def treatment_status(con, settings, as_of: dt.date, cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Each treated patient of the cohort with their treatment status on `as_of`.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        `induction_sessions` (6), `treatment.paused_after_days` (63), `treatment.ended_after_days` (90).
    as_of : datetime.date
        The day the status is for (the pages use today in the clinic's time zone).
    cohort : CohortFilter
        Which treated patients (all by default).

    Returns
    -------
    pandas.DataFrame
        One row per patient: `patient_id`, `status` (STATUSES), `n_infusions`,
        `last_infusion_at`, `days_since_last_infusion` (calendar days from the last infusion's
        date to `as_of`), `discharge_date` (from the export; NaT when not discharged), `as_of`.

    Notes
    -----
    With L the calendar days from the last infusion to `as_of`, in this order:

    - **ended**: a discharge date on or before `as_of` and not before the last infusion's
      date (an infusion after the discharge is a re-admission), or L >= ended_after_days;
    - **paused**: L >= paused_after_days (beyond the longest usual maintenance interval, eight
      weeks);
    - **in induction**: fewer than `induction_sessions` infusions loaded;
    - **in maintenance**: otherwise.

    Infusions are counted over all data loaded, so `as_of` is meant to be on or after the
    data's last day (a day before it counts later infusions as already given).

    References
    ----------
    Clinical reference (docs/scoring.md): induction is six infusions over two to three weeks,
    maintenance infusions follow every two to eight weeks; docs/analytics.md, "Treatment status".
    """
    query, params = cohort_query("analytics/treatment_status/treatment_status", cohort, rows="pc")
    return patient_rows(con, query, [*params, as_of, *status_days(settings)])



def patient_status(con, settings, as_of: dt.date, patient_id: str) -> pd.DataFrame:
    """One patient's treatment status on `as_of`: their row of `treatment_status`.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        As in `treatment_status`.
    as_of : datetime.date
        The day the status is for.
    patient_id : str
        The patient.

    Returns
    -------
    pandas.DataFrame
        `treatment_status`'s columns, one row, or none for a patient never infused.

    Notes
    -----
    The rule of `treatment_status`, applied to one patient. A page showing one patient asks
    this rather than the clinic's statuses: those are one row per treated patient (a million
    rows on a large clinic), cached whole to be looked up once.

    References
    ----------
    As in `treatment_status`.
    """
    return patient_rows(con, sql.read("analytics/treatment_status/patient_status"),
                        [patient_id, as_of, *status_days(settings)])
