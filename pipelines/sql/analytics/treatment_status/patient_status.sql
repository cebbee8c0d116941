-- One patient's treatment status on a day (macro `treatment_status`, sql/views/treatment_status.sql;
-- docs/analytics.md, "Treatment status"): the row treatment_status.sql gives that patient, read
-- without the clinic's other patients. The patient's CTE is MATERIALIZED so DuckDB looks the
-- patient up first in `patient_cohorts` (sorted by patient: a block or two read) rather than
-- folding the lookup into the join (analytics/snapshot.py).
-- Parameters: the patient, as of (DATE), induction_sessions, paused_after_days, ended_after_days.
WITH course AS MATERIALIZED (
    SELECT pc.patient_id, pc.n_sessions AS n_infusions, pc.last_session_at AS last_infusion_at
    FROM patient_cohorts AS pc
    WHERE pc.patient_id = ?
),
courses AS (
    SELECT
        c.patient_id,
        c.n_infusions,
        c.last_infusion_at,
        p.discharge_date,
        ?::DATE AS as_of
    FROM course AS c
    -- `patients`, not the view, holds the discharge date (as in treatment_status.sql)
    JOIN patients AS p ON p.patient_id = c.patient_id
),
final AS (
    SELECT
        patient_id,
        treatment_status(n_infusions, last_infusion_at, discharge_date, as_of, ?, ?, ?) AS status,
        n_infusions,
        last_infusion_at,
        date_diff('day', last_infusion_at::DATE, as_of) AS days_since_last_infusion,
        discharge_date,
        as_of
    FROM courses
)
SELECT * FROM final
