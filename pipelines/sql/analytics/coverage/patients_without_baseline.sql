-- The list of patients without a baseline (coverage.patients_without_baseline), by scale,
-- reason (most actionable first) and patient. Parameters after the cohort's: the scale twice
-- (NULL = every scale).
WITH {{cohort}},
{{reasoned}}
final AS (
    SELECT *
    FROM reasoned
    WHERE ?::VARCHAR IS NULL OR instrument = ?::VARCHAR
)
SELECT * FROM final
ORDER BY
    instrument,
    list_position(['only_incomplete', 'only_too_early', 'none_before_start', 'never_recorded'], reason),
    patient_id
