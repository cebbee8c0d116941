-- The valid scores of a scale that cover an infusion: one row per score, with the number of the
-- infusion it covers minus one (`sessions_before`). A score with k - 1 infusions started before
-- it (scores.sessions_before) was taken after infusion k - 1 started and not after infusion k
-- started: it covers infusion k (a score stamped with the infusion's own start time counts).
-- Before infusion 1 only the baseline window counts (docs/scoring.md, "Baseline": from the first
-- infusion's date minus `outcome_settings.baseline_window_days`, the window the
-- `patient_outcomes` view uses), so infusion 1 is covered exactly when the patient has a baseline.
-- A step (`covering`) of coverage/assessment_completion.sql and coverage/completion_by_infusion.sql.
-- Parameter: the scale.
WITH window_setting AS (
    SELECT baseline_window_days AS days FROM outcome_settings
),
final AS (
    SELECT s.patient_id, s.sessions_before
    FROM scores AS s
    CROSS JOIN window_setting AS w
    WHERE s.instrument = ?
      AND (s.sessions_before > 0 OR s.days_since_first_session >= -w.days)
)
SELECT * FROM final
