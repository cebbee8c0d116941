-- One row per patient of the cohort with a time to response (event) or censoring time.
WITH {{cohort}},
-- the step `per_patient`: survival/patient_times.sql
{{per_patient}}
final AS (
    SELECT p.patient_id, {{group_columns}} p.days, p.responded
    FROM per_patient AS p
    {{cohort_join}}
)
SELECT * FROM final
ORDER BY patient_id
