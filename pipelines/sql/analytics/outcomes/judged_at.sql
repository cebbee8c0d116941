-- Per-patient outcomes judged on another follow-up score of `patient_outcomes` with the same
-- definitions as the view (the `judge_outcome` macro, sql/views/outcome_flags.sql) and the
-- thresholds of the `instruments` table. The placeholder `score_column` names the follow-up
-- score judged: "after_induction_score" (the first valid score after the 6th infusion started
-- and not after the 9th started), or "latest_score", which gives back the view's own flags.
-- A step of outcomes/counts.sql and change/waterfall.sql (the placeholder `judged`, filled by
-- `outcomes.judged_step`). Parameter: the scale.
WITH at_followup AS (
    SELECT
        po.patient_id,
        po.baseline_score,
        po.baseline_caseness,
        CASE '{{score_column}}'
            WHEN 'latest_score' THEN po.latest_score
            WHEN 'after_induction_score' THEN po.after_induction_score
        END AS followup_score,
        i.caseness_min, i.response_drop_pct, i.reliable_change, i.remission_below, i.remission_min_drop
    FROM patient_outcomes AS po
    JOIN instruments AS i ON i.code = po.instrument
    WHERE po.instrument = ?
),
flagged AS (
    SELECT
        *,
        judge_outcome(baseline_score, followup_score, caseness_min, response_drop_pct, remission_below,
                      remission_min_drop, reliable_change) AS flags
    FROM at_followup
),
final AS (
    SELECT
        patient_id,
        baseline_score,
        baseline_caseness,
        followup_score IS NOT NULL AS has_followup,
        followup_score - baseline_score AS change,
        flags.*
    FROM flagged
)
SELECT * FROM final
