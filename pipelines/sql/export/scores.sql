-- De-identified scores (docs/export.md): every column named (see patients.sql).
WITH final AS (
    SELECT
        m.pseudonym AS patient_id,
        s.instrument,
        export_date(s.administered_at, m.shift_days) AS administered_at,
        s.total,
        s.severity,
        s.complete,
        s.prorated,
        s.item9_positive,
        s.sessions_before,
        s.days_since_first_session,
        pseudonym('assessment', s.assessment_key) AS assessment_key,
        x.pseudonym AS session_id,
        s.total_only
    FROM scores AS s
    JOIN export_patients AS m USING (patient_id)
    LEFT JOIN export_sessions AS x USING (session_id)
)
SELECT * FROM final ORDER BY patient_id, instrument, administered_at, assessment_key
