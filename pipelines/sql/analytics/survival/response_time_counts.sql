-- The response times without one row per patient: patients per group, day and outcome (the
-- product-limit estimate only needs how many share each time and outcome).
WITH {{cohort}},
-- the step `per_patient`: survival/patient_times.sql
{{per_patient}}
final AS (
    SELECT {{group_columns}} p.days, p.responded, count(*) AS patients
    FROM per_patient AS p
    {{cohort_join}}
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY ALL
