-- The patients whose stored outcome tables (pipelines/precomputed.py) are out of date: those
-- with a row that a run after the tables' run ($since, `precomputed.about.run_id`) inserted or
-- updated (`run_id`: the run that wrote the row's current version) or replaced or deleted
-- (`replaced_by_run` on the history table: an update's old version, a full export's deletion),
-- in each table the stored tables read: patients, sessions and assessments (check-ins from the
-- store load as assessments, with their run). Appointments are left out: no stored table reads
-- them. An update that moves a row to another patient names both: the old version's patient
-- in history, the new one's in the table.
WITH written AS (
    SELECT patient_id FROM patients WHERE run_id > $since
    UNION ALL
    SELECT patient_id FROM sessions WHERE run_id > $since
    UNION ALL
    SELECT patient_id FROM assessments WHERE run_id > $since
),
replaced AS (
    SELECT patient_id FROM patients_history WHERE replaced_by_run > $since
    UNION ALL
    SELECT patient_id FROM sessions_history WHERE replaced_by_run > $since
    UNION ALL
    SELECT patient_id FROM assessments_history WHERE replaced_by_run > $since
),
final AS (
    SELECT DISTINCT patient_id
    FROM (SELECT patient_id FROM written UNION ALL SELECT patient_id FROM replaced)
    WHERE patient_id IS NOT NULL
)
SELECT * FROM final
