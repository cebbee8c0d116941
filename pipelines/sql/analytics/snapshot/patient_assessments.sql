-- The columns of `assessments` one patient's record reads that the outcome views leave out
-- (incomplete administrations, PHQ-9 item answers), copied sorted by patient by open_snapshot
-- as `patient_assessments` (pipelines/analytics/patient.py).
WITH final AS (
    SELECT patient_id, instrument, administered_at, assessment_key, items, total, complete
    FROM main.assessments
)
SELECT * FROM final
