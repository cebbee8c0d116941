-- Each patient of the cohort with their treatment status on a day (macro `treatment_status`,
-- sql/views/treatment_status.sql; docs/analytics.md, "Treatment status").
-- Parameters: as of (DATE), induction_sessions, paused_after_days, ended_after_days.
WITH {{cohort}},
courses AS (
    SELECT
        pc.patient_id,
        pc.n_sessions AS n_infusions,
        pc.last_session_at AS last_infusion_at,
        p.discharge_date,
        ?::DATE AS as_of
    FROM patient_cohorts AS pc
    -- `patients`, not the view, holds the discharge date: a database written by an older
    -- version gets the column (NULL) from db.shadow_missing_columns.
    JOIN patients AS p ON p.patient_id = pc.patient_id
    {{cohort_join}}
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
ORDER BY patient_id
