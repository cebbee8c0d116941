-- The expected course's input (docs/scoring.md, "Not on track"): per patient and scale, the
-- scores at infusions 1..max (`scores_by_infusion`), and whether each row is the patient's latest
-- follow-up on the scale (its k is the patient's highest on that scale, any k, and at least 2).
-- One definition for both users: the ingest reads the stored table (`{{stored}}` =
-- '"<catalog>".precomputed.', pipelines/precomputed_expected.py) for every scale at once, and
-- analytics/expected_reference.py reads the snapshot's table (`{{stored}}` empty) for one scale.
-- Parameters: the scales (a list), the last infusion k (trajectory_max_infusion).
WITH progress AS (
    SELECT
        patient_id, instrument, k, administered_at, score, baseline_score, baseline_band, pct_change,
        k = max(k) OVER (PARTITION BY patient_id, instrument) AND k >= 2 AS is_latest_followup
    FROM {{stored}}scores_by_infusion
    WHERE list_contains(?::VARCHAR[], instrument)
),
final AS (
    SELECT * FROM progress
    WHERE k <= ?
)
SELECT * FROM final
