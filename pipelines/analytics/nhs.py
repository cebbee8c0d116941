"""NHS Talking Therapies (formerly IAPT) outcome over the PHQ-9 + GAD-7 pair.

Why: UK services, and many clinics that benchmark against them, report recovery on the pair
of scales rather than on each one: a patient whose depression recovered but whose anxiety did
not has not recovered. The clinical reference ("Recovery") requires this definition whenever
both scales exist. The per-patient judgement is the `nhs_paired_outcomes` view
(`pipelines/sql/views/nhs_paired_outcomes.sql`); this module counts it per cohort and group in DuckDB
(sql/analytics/nhs/paired_counts.sql) and adds Wilson intervals.

Denominators, as NHS Talking Therapies defines its measures: recovery and reliable recovery
over the patients in caseness on either scale at the start (`n_caseness`); reliable
improvement and reliable deterioration over every patient with paired scores (`n_paired`),
whether or not they started in caseness.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by, cohort_query
from .shaping import with_group_label, with_rate

# outcome -> the column holding its denominator
PAIRED_OUTCOMES = {
    "recovery": "n_caseness",
    "reliable_recovery": "n_caseness",
    "reliable_improvement": "n_paired",
    "reliable_deterioration": "n_paired",
}


def paired_outcome(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """NHS Talking Therapies recovery and reliable change on PHQ-9 + GAD-7, per group.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        Taken for the common signature; cut-offs come from the `instruments` table.
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`; empty for one row over the cohort.

    Returns
    -------
    pandas.DataFrame
        One row per group: `group` ("all" when ungrouped), the group columns, `n_patients`
        (treated patients in the cohort), `n_paired` (with both scales paired), `n_caseness`
        (paired and in caseness on either), then `<outcome>_n`, `_rate`, `_low`, `_high` (95%
        Wilson) for recovery and reliable recovery (over `n_caseness`) and reliable improvement
        and reliable deterioration (over `n_paired`). NaN rates where the denominator is 0.

    Notes
    -----
    Patients with a baseline and a follow-up on both scales (each scale's latest follow-up is
    its end score); in caseness at the start = PHQ-9 >= 10 or GAD-7 >= 8; recovery = in
    caseness at the start and below caseness on both at the end; reliable improvement = a drop
    of >= 6 (PHQ-9) or >= 4 (GAD-7) on at least one scale and a rise of that size on neither;
    reliable deterioration = such a rise on either; reliable recovery = recovery and reliable
    improvement. Rate = k / denominator (PAIRED_OUTCOMES) with the Wilson interval.

    References
    ----------
    Clinical reference, "Recovery"; NHS Talking Therapies Manual (NHS England), measures of
    recovery and reliable change.
    """
    group_by = check_group_by(group_by)
    sql, params = cohort_query("analytics/nhs/paired_counts", cohort, group_by)
    frame = with_group_label(con.execute(sql, params).df(), group_by)
    for outcome, denominator in PAIRED_OUTCOMES.items():
        frame = with_rate(frame, outcome, denominator)
    return frame
