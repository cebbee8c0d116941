-- The scores written back to the EHR as FHIR (docs/export.md, "FHIR R4 for the EHR"): every
-- valid score (a total: complete, prorated or total-only; the `scores` view's rule), or only
-- those collected here (patient check-ins, source_file = 'check-in') unless every score is
-- asked for (parameter 1). The identified ids are kept: the EHR files the score under its
-- patient; nothing else about the patient is read.
WITH valid AS (
    SELECT *
    FROM assessments
    WHERE total IS NOT NULL
),
chosen AS (
    SELECT *
    FROM valid
    WHERE ? OR source_file = 'check-in'
),
final AS (
    SELECT
        assessment_key,
        assessment_id,
        patient_id,
        instrument,
        administered_at,
        items,
        total,
        total_only
    FROM chosen
)
SELECT * FROM final ORDER BY patient_id, administered_at, instrument, assessment_key
