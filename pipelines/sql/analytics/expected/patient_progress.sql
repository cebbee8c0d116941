-- One patient's rows of the expected course's input (precomputed/expected_progress.sql's
-- columns, without the latest-follow-up flag one patient's course does not need), read from a
-- table sorted by patient, so DuckDB skips every block but the patient's: the stored table
-- (`{{stored}}` = '"<catalog>".precomputed.') or a snapshot's (`{{stored}}` empty).
-- Parameters: the patient, the scale, the last infusion k.
WITH progress AS (
    SELECT patient_id, instrument, k, administered_at, score, baseline_score, baseline_band, pct_change
    FROM {{stored}}scores_by_infusion
    WHERE patient_id = ? AND instrument = ?
),
final AS (
    SELECT * FROM progress
    WHERE k <= ?
)
SELECT * FROM final
ORDER BY k
