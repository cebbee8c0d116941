-- Views for the expected trajectory and the infusion-by-infusion charts
-- (pipelines/analytics/expected.py, trajectories.py). Run by init_db after views/outcomes.sql.
-- Every column is described in docs/data-dictionary.md.

-- One row per patient, scale and infusion number k for patients with a baseline: the score
-- "at infusion k", i.e. taken before infusion k started (scores.sessions_before = k - 1; with
-- several, the latest). k = 1 is the baseline itself (the latest pre-treatment score in the
-- baseline window, patient_outcomes). A score after a patient's last recorded infusion
-- counts for the next infusion number, whether or not that infusion has happened yet, so a
-- pre-infusion score whose infusion is not exported yet is not lost.
CREATE OR REPLACE VIEW scores_by_infusion AS
WITH baselines AS MATERIALIZED (
    SELECT o.patient_id, o.instrument, o.baseline_at, o.baseline_score, b.label AS baseline_band
    FROM patient_outcomes AS o
    LEFT JOIN instrument_bands AS b
        ON b.code = o.instrument AND o.baseline_score BETWEEN b.low AND b.high
),
followups AS (
    -- Follow-ups come after the baseline, hence after the first infusion started (k >= 2).
    SELECT
        s.patient_id,
        s.instrument,
        s.sessions_before + 1 AS k,
        s.administered_at,
        s.total AS score,
        b.baseline_score,
        b.baseline_band
    FROM scores AS s
    JOIN baselines AS b ON b.patient_id = s.patient_id AND b.instrument = s.instrument
    WHERE s.administered_at > b.baseline_at
    QUALIFY row_number() OVER (PARTITION BY s.patient_id, s.instrument, s.sessions_before
                               ORDER BY s.administered_at DESC, s.assessment_key DESC) = 1
),
points AS (
    SELECT patient_id, instrument, 1 AS k, baseline_at AS administered_at, baseline_score AS score,
           baseline_score, baseline_band
    FROM baselines
    UNION ALL
    SELECT patient_id, instrument, k, administered_at, score, baseline_score, baseline_band
    FROM followups
)
SELECT
    patient_id,
    instrument,
    k,
    administered_at,
    score,
    baseline_score,
    baseline_band,
    score - baseline_score AS change,
    -- Percent change as in patient_outcomes: 100 x change / baseline, one decimal; NULL for a
    -- baseline of 0 (clinical reference, "Percent change").
    CASE WHEN baseline_score > 0 THEN round(100.0 * (score - baseline_score) / baseline_score, 1) END AS pct_change
FROM points;
