-- Per patient, the scores at infusions 1..max (`scores_by_infusion`) of one scale, and whether
-- each row is the patient's latest follow-up on the scale (its k is the patient's highest, any
-- k). Parameters: the scale, the last infusion k (trajectory_max_infusion). expected.py keeps
-- these rows in memory per database version.
WITH progress AS (
    SELECT
        patient_id, k, administered_at, score, baseline_score, baseline_band, pct_change,
        k = max(k) OVER (PARTITION BY patient_id) AND k >= 2 AS is_latest_followup
    FROM scores_by_infusion
    WHERE instrument = ?
),
final AS (
    SELECT * FROM progress
    WHERE k <= ?
)
SELECT * FROM final
ORDER BY patient_id, k
