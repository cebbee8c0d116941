-- How busy the clinic is, for a cohort: one row (definitions in docs/analytics.md and
-- `activity.activity`). Parameters: active_treatment_days, then new_start_days twice.
WITH {{cohort}},
courses AS (
    SELECT pc.patient_id, pc.n_sessions, pc.first_session_at, pc.last_session_at, pc.primary_indication
    FROM patient_cohorts AS pc
    {{cohort_join}}
),
as_of AS (
    -- The latest infusion in the database, whatever the filter (every infusion's patient is in
    -- patient_cohorts, whose last_session_at is that patient's latest infusion).
    SELECT max(last_session_at)::DATE AS as_of FROM patient_cohorts
),
final AS (
    SELECT
        a.as_of,
        count(p.patient_id) AS n_patients,
        -- active: an infusion within active_treatment_days of the as-of date (worklist definition)
        count(p.patient_id) FILTER (WHERE p.last_session_at::DATE >= a.as_of - ?::INTEGER) AS active_patients,
        a.as_of - ?::INTEGER AS new_starts_since,
        count(p.patient_id) FILTER (WHERE p.first_session_at::DATE >= a.as_of - ?::INTEGER) AS new_starts,
        coalesce(sum(p.n_sessions), 0)::BIGINT AS infusions,
        -- loaded with the indication blank (incomplete, not wrong): counted in every outcome
        count(p.patient_id) FILTER (WHERE p.primary_indication IS NULL) AS unknown_indication
    FROM as_of AS a
    LEFT JOIN courses AS p ON true
    GROUP BY a.as_of
)
SELECT * FROM final
