-- Full export: the stored patients whose key no file of the run sent (temp table
-- `export_keys`). A patient is deleted only with all their records: one who still has a
-- session or an assessment (as stored after this run's deletions of those kinds: the export
-- kept them, or the run holds none of that kind) stays, so no record is left without its patient.
CREATE OR REPLACE TEMP TABLE absent AS
WITH sent AS (
    SELECT record_key FROM export_keys WHERE kind = 'patients'
),
missing AS (
    SELECT p.patient_id AS record_key
    FROM patients AS p
    ANTI JOIN sent AS e ON e.record_key = p.patient_id
),
referenced AS (
    SELECT patient_id AS record_key FROM sessions
    UNION
    SELECT patient_id FROM assessments
),
final AS (
    SELECT m.record_key, r.record_key IS NOT NULL AS still_referenced
    FROM missing AS m
    LEFT JOIN referenced AS r ON r.record_key = m.record_key
)
SELECT * FROM final
