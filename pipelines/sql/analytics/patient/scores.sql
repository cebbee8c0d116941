-- Every valid score of the patient, all scales, in time order (patient.patient_scores).
WITH patient_scores AS MATERIALIZED (
    SELECT * FROM scores WHERE patient_id = $patient_id
),
baselines AS MATERIALIZED (
    SELECT instrument, baseline_at FROM patient_outcomes WHERE patient_id = $patient_id
),
final AS (
    SELECT
        s.instrument,
        s.administered_at,
        s.total,
        s.severity,
        s.sessions_before + 1 AS k,
        s.days_since_first_session,
        s.prorated,
        s.total_only,
        coalesce(s.administered_at = b.baseline_at, false) AS is_baseline,
        s.assessment_key
    FROM patient_scores AS s
    LEFT JOIN baselines AS b ON b.instrument = s.instrument
)
SELECT * FROM final
ORDER BY instrument, administered_at, assessment_key
