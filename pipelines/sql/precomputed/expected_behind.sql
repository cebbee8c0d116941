-- The patients not on track (expected.patients_not_on_track; docs/scoring.md, "Not on track"):
-- each patient's latest follow-up on a scale (expected_progress.sql's rows with
-- `is_latest_followup`, named `expected_progress` + the `caller` suffix) judged against the
-- reference of its scale, baseline band and k (expected_reference.sql's rows, named
-- `expected_reference` + the same suffix). Behind: percent change above the threshold (a NULL
-- percent change, baseline 0, is not judged; nor is a k without a reference). Numbered per scale
-- by how far behind (largest excess first, then patient id), the order the worklist shows.
WITH latest AS (
    SELECT patient_id, instrument, k, baseline_band, pct_change
    FROM expected_progress{{caller}}
    WHERE is_latest_followup
),
judged AS (
    SELECT l.patient_id, l.instrument, l.k, l.pct_change, r.threshold,
           l.pct_change - r.threshold AS excess
    FROM latest AS l
    JOIN expected_reference{{caller}} AS r
        ON r.instrument = l.instrument AND r.baseline_band = l.baseline_band AND r.k = l.k
    WHERE l.pct_change > r.threshold
),
final AS (
    SELECT patient_id, instrument, k, pct_change, threshold AS expected_p25,
           row_number() OVER (PARTITION BY instrument ORDER BY excess DESC, patient_id) AS position
    FROM judged
)
SELECT * FROM final
ORDER BY instrument, position
