-- Per-patient outcomes on the latest follow-up: the `patient_outcomes` view's own flags
-- (clinical reference, "Outcome definitions"). One row per patient with a baseline on the scale.
-- A step of outcomes/counts.sql and change/waterfall.sql (the placeholder `judged`, filled by
-- `outcomes.judged_step`). Parameter: the scale.
WITH final AS (
    SELECT
        patient_id,
        baseline_score,
        baseline_caseness,
        n_followups > 0 AS has_followup,
        change,
        response, remission, reliable_improvement, reliable_deterioration, recovery, reliable_recovery
    FROM patient_outcomes
    WHERE instrument = ?
)
SELECT * FROM final
