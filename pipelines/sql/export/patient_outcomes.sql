-- De-identified per-patient outcomes (docs/export.md): every column named (see patients.sql).
WITH final AS (
    SELECT
        m.pseudonym AS patient_id,
        o.instrument,
        export_date(o.baseline_at, m.shift_days) AS baseline_at,
        o.baseline_score,
        export_date(o.latest_at, m.shift_days) AS latest_at,
        o.latest_score,
        o.after_induction_score,
        o.n_followups,
        o.change,
        o.pct_change,
        o.baseline_caseness,
        o.response,
        o.remission,
        o.reliable_improvement,
        o.reliable_deterioration,
        o.recovery,
        o.reliable_recovery,
        export_date(o.first_session_at, m.shift_days) AS first_session_at,
        export_date(o.after_induction_at, m.shift_days) AS after_induction_at
    FROM patient_outcomes AS o
    JOIN export_patients AS m USING (patient_id)
)
SELECT * FROM final ORDER BY patient_id, instrument
