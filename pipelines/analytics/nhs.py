"""NHS Talking Therapies (formerly IAPT) outcome over the PHQ-9 + GAD-7 pair.

Why: UK services, and many clinics that benchmark against them, report recovery on the pair
of scales rather than on each one: a patient whose depression recovered but whose anxiety did
not has not recovered. The clinical reference ("Recovery") requires this definition whenever
both scales exist. The per-patient judgement is the `nhs_paired_outcomes` view
(`pipelines/sql/views/nhs_paired_outcomes.sql`); this module counts it per cohort and group in DuckDB and
adds Wilson intervals.

Denominators, as NHS Talking Therapies defines its measures: recovery and reliable recovery
over the patients in caseness on either scale at the start (`n_caseness`); reliable
improvement and reliable deterioration over every patient with paired scores (`n_paired`),
whether or not they started in caseness.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by
from .outcomes import cohort_sql, group_sql, with_group_label, with_rate

# outcome -> the column holding its denominator
PAIRED_OUTCOMES = {
    "recovery": "n_caseness",
    "reliable_recovery": "n_caseness",
    "reliable_improvement": "n_paired",
    "reliable_deterioration": "n_paired",
}

PAIRED_COUNTS_SQL = """
WITH {cohort_cte},
per_patient AS (
    SELECT
        cohort.*,
        nhs.baseline_caseness IS NOT NULL AS paired,
        nhs.baseline_caseness,
        nhs.recovery,
        nhs.reliable_recovery,
        nhs.reliable_improvement,
        nhs.reliable_deterioration
    FROM cohort
    LEFT JOIN nhs_paired_outcomes AS nhs USING (patient_id)
)
SELECT
    {group_columns}
    count(*) AS n_patients,
    count(*) FILTER (WHERE paired) AS n_paired,
    count(*) FILTER (WHERE baseline_caseness) AS n_caseness,
    count(*) FILTER (WHERE recovery) AS recovery_n,
    count(*) FILTER (WHERE reliable_recovery) AS reliable_recovery_n,
    count(*) FILTER (WHERE reliable_improvement) AS reliable_improvement_n,
    count(*) FILTER (WHERE reliable_deterioration) AS reliable_deterioration_n
FROM per_patient
GROUP BY ALL
{order_by}
"""


def paired_outcome(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """NHS Talking Therapies recovery and reliable change on PHQ-9 + GAD-7, per group.

    Definition (clinical reference, "Recovery"; NHS Talking Therapies): patients with a baseline
    and a follow-up on both scales (each scale's latest follow-up is its end score); in caseness
    at the start = PHQ-9 >= 10 or GAD-7 >= 8; recovery = in caseness at the start and below
    caseness on both at the end; reliable improvement = a drop of >= 6 (PHQ-9) or >= 4 (GAD-7)
    on at least one scale and a rise of that size on neither; reliable deterioration = such a
    rise on either; reliable recovery = recovery and reliable improvement.

    One row per group: `group` ("all" when ungrouped), the group columns, `n_patients` (treated
    patients in the cohort), `n_paired` (with both scales paired), `n_caseness` (paired and in
    caseness on either), then `<outcome>_n`, `_rate`, `_low`, `_high` (95% Wilson) for
    recovery and reliable recovery (over `n_caseness`) and reliable improvement and reliable
    deterioration (over `n_paired`). NaN rates where the denominator is 0. `settings` is taken
    for the common signature; cut-offs come from the `instruments` table.
    """
    group_by = check_group_by(group_by)
    cohort_cte, params = cohort_sql(cohort, group_by)
    sql = PAIRED_COUNTS_SQL.format(cohort_cte=cohort_cte, **group_sql(group_by))
    frame = with_group_label(con.execute(sql, params).df(), group_by)
    for outcome, denominator in PAIRED_OUTCOMES.items():
        frame = with_rate(frame, outcome, denominator)
    return frame
