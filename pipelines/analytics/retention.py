"""Retention: how many patients who started ketamine treatment completed the induction series
and went on to maintenance.

Why: outcome rates only describe the patients who stayed long enough to be measured; a clinic
also needs to know how many stopped early (the clinical reference's typical course: about
15-25% stop before completing induction). Counted in DuckDB from `patient_cohorts.n_sessions`
(infusions so far; sql/analytics/retention/), with Wilson intervals from `stats`.

Patients still early in their course count as not (yet) completed: for a fair comparison of
start cohorts, filter on a start date old enough for induction to be over.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by, cohort_query
from .shaping import with_group_label, with_rate
from .stats import wilson_interval


def retention(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Started, completed induction and went on to maintenance, per group.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        `settings.induction_sessions` (6 by default): the length of the induction series.
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`; empty for one row over the cohort.

    Returns
    -------
    pandas.DataFrame
        One row per group: `group` ("all" when ungrouped), the group columns, `n_started`, then
        `completed_induction_n`, `_rate`, `_low`, `_high` and `any_maintenance_n`, `_rate`,
        `_low`, `_high`: rates of the started patients with 95% Wilson intervals (NaN when no
        patient started).

    Notes
    -----
    Started = at least one infusion (every patient of `patient_cohorts`); completed induction =
    at least `induction_sessions` infusions; any maintenance = more than `induction_sessions`
    infusions. Rate = k / n_started with the Wilson interval.

    References
    ----------
    Clinical reference, "Typical course".
    """
    group_by = check_group_by(group_by)
    sql, params = cohort_query("analytics/retention/retention", cohort, group_by)
    induction = settings.induction_sessions
    frame = with_group_label(con.execute(sql, [*params, induction, induction]).df(), group_by)
    for milestone in ("completed_induction", "any_maintenance"):
        frame = with_rate(frame, milestone, "n_started")
    return frame


def infusions_per_patient(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    cohort: CohortFilter = CohortFilter(),
) -> pd.DataFrame:
    """Distribution of infusions per treated patient in the cohort.

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
        One row per count from 1 to the largest: `n_infusions`, `n_patients` (patients with
        exactly that many infusions so far, 0 where none), `share` (of the cohort's patients)
        and `share_low`, `share_high` (its 95% Wilson score interval). Empty, with these
        columns, for an empty cohort.

    Notes
    -----
    Infusions so far = `patient_cohorts.n_sessions` (every recorded infusion of the patient).
    With N the cohort's treated patients (the sum of `n_patients`) and k the patients with
    exactly `n_infusions` infusions, share = k / N, and the interval is the Wilson score
    interval of k / N (`stats.wilson_interval`): with z = 1.96,
    (2k + z^2 +/- z sqrt(4k(1 - k/N) + z^2)) / (2(N + z^2)), exactly 0 as the lower bound for
    k = 0 and 1 as the upper for k = N.
    Each share is a proportion of the same N patients; the intervals are pointwise, one count
    at a time, not a joint band over the distribution.

    References
    ----------
    Wilson EB (1927), "Probable inference, the law of succession, and statistical inference",
    J Am Stat Assoc 22:209-212; Newcombe RG (1998), "Two-sided confidence intervals for the
    single proportion: comparison of seven methods", Stat Med 17:857-872.
    """
    sql, params = cohort_query("analytics/retention/infusions_per_patient", cohort)
    frame = con.execute(sql, params).df()
    total = int(frame["n_patients"].sum())
    estimates = [wilson_interval(int(k), total) for k in frame["n_patients"]]
    position = frame.columns.get_loc("share") + 1
    frame.insert(position, "share_low", pd.Series([e.low for e in estimates], index=frame.index, dtype=float))
    frame.insert(position + 1, "share_high", pd.Series([e.high for e in estimates], index=frame.index, dtype=float))
    return frame
