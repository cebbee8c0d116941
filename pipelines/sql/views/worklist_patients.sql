-- Per treated patient, one row: the facts the worklist judges its reasons on that depend neither
-- on the day nor on the settings (pipelines/analytics/worklist.py; definitions: docs/scoring.md).
-- The worklist used to join four per-patient tables (the cohort attributes, the PHQ-9 item 9
-- picture, the outcomes on every scale, the last infusion) on every call: four hash joins and a
-- grouped aggregate over a million rows each at 1,000,000 patients. Stored by the ingest like the
-- others (pipelines/precomputed.py), the worklist reads this one table, sorted by patient.
-- Run by init_db after views/safety.sql (it reads `phq9_safety` and `last_infusions`).
CREATE OR REPLACE VIEW worklist_patients AS
WITH outcomes AS (
    -- Reliable deterioration on any scale at the latest follow-up, and the scales that
    -- deteriorated; a PHQ-9 row of `patient_outcomes` is a PHQ-9 baseline.
    SELECT
        patient_id,
        bool_or(reliable_deterioration) AS reliable_deterioration,
        list(instrument ORDER BY instrument) FILTER (WHERE reliable_deterioration) AS deteriorated_scales,
        bool_or(instrument = 'PHQ-9') AS has_phq9_baseline
    FROM patient_outcomes
    GROUP BY patient_id
),
final AS (
    SELECT
        pc.patient_id,
        pc.site,
        pc.clinician,
        pc.primary_indication,
        pc.last_session_at,
        pc.n_sessions,
        -- the latest valid PHQ-9 (of two at the same time, the higher) and the latest PHQ-9 of
        -- any kind with its item 9 (view `phq9_safety`)
        p.latest_score AS latest_phq9_score,
        p.latest_score_at AS latest_phq9_score_at,
        p.latest_phq9_at,
        p.item9_positive_latest,
        o.reliable_deterioration,
        o.deteriorated_scales,
        o.has_phq9_baseline,
        -- peak blood pressure at the last infusion (view `last_infusions`)
        l.bp_peak_sys AS last_bp_peak_sys,
        l.bp_peak_dia AS last_bp_peak_dia
    FROM patient_cohorts AS pc
    LEFT JOIN phq9_safety AS p ON p.patient_id = pc.patient_id
    LEFT JOIN outcomes AS o ON o.patient_id = pc.patient_id
    LEFT JOIN last_infusions AS l ON l.patient_id = pc.patient_id
)
SELECT * FROM final;
