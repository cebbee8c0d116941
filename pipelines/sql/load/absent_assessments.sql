-- Full export: the stored assessments whose key no file of the run sent (temp table
-- `export_keys`). Nothing refers to an assessment, so every absent one is deleted.
CREATE OR REPLACE TEMP TABLE absent AS
WITH sent AS (
    SELECT record_key FROM export_keys WHERE kind = 'assessments'
),
final AS (
    SELECT a.assessment_key AS record_key, false AS still_referenced
    FROM assessments AS a
    ANTI JOIN sent AS s ON s.record_key = a.assessment_key
)
SELECT * FROM final
