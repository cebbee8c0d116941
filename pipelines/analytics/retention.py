"""Retention: how many patients who started ketamine treatment completed the induction series
and went on to maintenance.

Why: outcome rates only describe the patients who stayed long enough to be measured; a clinic
also needs to know how many stopped early (the clinical reference's typical course: about
15-25% stop before completing induction). Counted in DuckDB from `patient_cohorts.n_sessions`
(infusions so far), with Wilson intervals from `stats`.

Patients still early in their course count as not (yet) completed: for a fair comparison of
start cohorts, filter on a start date old enough for induction to be over.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by
from .outcomes import cohort_sql, group_sql, with_group_label, with_rate

RETENTION_SQL = """
WITH {cohort_cte}
SELECT
    {group_columns}
    count(*) AS n_started,
    count(*) FILTER (WHERE n_sessions >= ?) AS completed_induction_n,
    count(*) FILTER (WHERE n_sessions > ?) AS any_maintenance_n
FROM cohort
GROUP BY ALL
{order_by}
"""

INFUSIONS_SQL = """
WITH {cohort_cte},
per_count AS (
    SELECT n_sessions AS n_infusions, count(*) AS n_patients
    FROM cohort
    GROUP BY n_sessions
),
every_count AS (
    -- 1 .. the largest count, so counts nobody reached show as 0 patients
    SELECT range AS n_infusions
    FROM range(1, (SELECT coalesce(max(n_infusions), 0) + 1 FROM per_count))
)
SELECT
    e.n_infusions,
    coalesce(p.n_patients, 0) AS n_patients,
    coalesce(p.n_patients, 0) / (SELECT sum(n_patients) FROM per_count) AS share
FROM every_count AS e
LEFT JOIN per_count AS p USING (n_infusions)
ORDER BY e.n_infusions
"""


def retention(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Started, completed induction and went on to maintenance, per group.

    Definitions (clinical reference, "Typical course"; induction length from
    `settings.induction_sessions`, 6 by default): started = at least one infusion (every
    patient of `patient_cohorts`); completed induction = at least `induction_sessions`
    infusions; any maintenance = more than `induction_sessions` infusions.

    One row per group: `group` ("all" when ungrouped), the group columns, `n_started`, then
    `completed_induction_n`, `_rate`, `_low`, `_high` and `any_maintenance_n`, `_rate`,
    `_low`, `_high`: rates of the started patients with 95% Wilson intervals (NaN when no
    patient started).
    """
    group_by = check_group_by(group_by)
    cohort_cte, params = cohort_sql(cohort, group_by)
    sql = RETENTION_SQL.format(cohort_cte=cohort_cte, **group_sql(group_by))
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

    One row per count from 1 to the largest: `n_infusions`, `n_patients` (patients with exactly
    that many infusions so far, 0 where none) and `share` (of the cohort's patients). Empty for
    an empty cohort. `settings` is taken for the common signature.
    """
    cohort_cte, params = cohort_sql(cohort, ())
    return con.execute(INFUSIONS_SQL.format(cohort_cte=cohort_cte), params).df()
