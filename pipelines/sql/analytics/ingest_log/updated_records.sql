-- Every earlier version of an updated row, newest replacement first (ingest_log.updated_records).
WITH replaced AS (
    -- One row per earlier version kept, with the id it is stored under; `deleted`: the run
    -- deleted it (a full export left it out) rather than replacing it.
    SELECT 'patients' AS kind, patient_id AS record_key, patient_id, replaced_by_run, replaced_at,
           run_id AS loaded_by_run, source_file, source_row, deleted
    FROM patients_history
    UNION ALL
    SELECT 'sessions', session_id, patient_id, replaced_by_run, replaced_at, run_id, source_file, source_row, deleted
    FROM sessions_history
    UNION ALL
    SELECT 'assessments', assessment_key, patient_id, replaced_by_run, replaced_at, run_id, source_file, source_row,
           deleted
    FROM assessments_history
),
final AS (
    SELECT * FROM replaced
)
SELECT * FROM final
ORDER BY replaced_by_run DESC, CASE kind WHEN 'patients' THEN 1 WHEN 'sessions' THEN 2 ELSE 3 END, record_key
