-- De-identified NHS Talking Therapies paired outcomes (docs/export.md): every column named (see
-- patients.sql).
WITH final AS (
    SELECT
        m.pseudonym AS patient_id,
        n.phq9_baseline_score,
        n.phq9_latest_score,
        n.gad7_baseline_score,
        n.gad7_latest_score,
        n.baseline_caseness,
        n.reliable_improvement,
        n.reliable_deterioration,
        n.recovery,
        n.reliable_recovery
    FROM nhs_paired_outcomes AS n
    JOIN export_patients AS m USING (patient_id)
)
SELECT * FROM final ORDER BY patient_id
