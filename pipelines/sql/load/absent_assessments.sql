-- Full export: the stored assessments whose key no file of the run sent (temp table
-- `export_keys`), within what the run's assessment passes are the truth for (`export_scopes`):
-- every scale, unless all of them are REDCap passes of chosen forms, then those scales only
-- (a form of a scale code that is not known adds none).
-- Nothing refers to an assessment, so every absent one is deleted.
CREATE OR REPLACE TEMP TABLE absent AS
WITH sent AS (
    SELECT record_key FROM export_keys WHERE kind = 'assessments'
),
scopes AS (
    SELECT instrument FROM export_scopes WHERE kind = 'assessments'
),
every_scale AS (
    SELECT count(*) FILTER (WHERE instrument IS NULL) > 0 AS all_held FROM scopes
),
final AS (
    SELECT a.assessment_key AS record_key, false AS still_referenced
    FROM assessments AS a
    ANTI JOIN sent AS s ON s.record_key = a.assessment_key
    WHERE (SELECT all_held FROM every_scale) OR a.instrument IN (SELECT instrument FROM scopes)
)
SELECT * FROM final
