-- Full export: the stored sessions whose key no file of the run sent (temp table
-- `export_keys`). A session is deleted only with everything that refers to it: one an
-- assessment still names (as stored after this run's assessment deletions: the export kept it,
-- or the run holds no assessments) stays, so no assessment points at a missing infusion.
CREATE OR REPLACE TEMP TABLE absent AS
WITH sent AS (
    SELECT record_key FROM export_keys WHERE kind = 'sessions'
),
missing AS (
    SELECT s.session_id AS record_key
    FROM sessions AS s
    ANTI JOIN sent AS e ON e.record_key = s.session_id
),
referenced AS (
    SELECT DISTINCT session_id AS record_key FROM assessments WHERE session_id IS NOT NULL
),
final AS (
    SELECT m.record_key, r.record_key IS NOT NULL AS still_referenced
    FROM missing AS m
    LEFT JOIN referenced AS r ON r.record_key = m.record_key
)
SELECT * FROM final
