-- NHS Talking Therapies paired outcome over PHQ-9 + GAD-7 (clinical reference, "Recovery"):
-- when a patient has both scales, recovery and reliable change are judged on the pair, not on
-- each scale alone. Built on `patient_outcomes` (each scale's baseline and latest follow-up and
-- its own flags); caseness cut-offs come from the `instruments` table. Documented column by
-- column in docs/data-dictionary.md.

-- One row per patient with a baseline AND a follow-up on both PHQ-9 and GAD-7.
CREATE OR REPLACE VIEW nhs_paired_outcomes AS
WITH scale_outcomes AS (
    SELECT
        po.patient_id,
        po.instrument,
        po.baseline_score,
        po.latest_score,
        po.baseline_caseness,
        po.latest_score < i.caseness_min AS latest_below_caseness,
        po.reliable_improvement,
        po.reliable_deterioration
    FROM patient_outcomes AS po
    JOIN instruments AS i ON i.code = po.instrument
    WHERE po.instrument IN ('PHQ-9', 'GAD-7')
      AND po.n_followups > 0
),
phq9 AS (
    SELECT * FROM scale_outcomes WHERE instrument = 'PHQ-9'
),
gad7 AS (
    SELECT * FROM scale_outcomes WHERE instrument = 'GAD-7'
),
paired AS (
    SELECT
        phq9.patient_id,
        phq9.baseline_score AS phq9_baseline_score,
        phq9.latest_score AS phq9_latest_score,
        gad7.baseline_score AS gad7_baseline_score,
        gad7.latest_score AS gad7_latest_score,
        -- caseness on either scale at the start
        phq9.baseline_caseness OR gad7.baseline_caseness AS baseline_caseness,
        -- below caseness on both at the end
        phq9.latest_below_caseness AND gad7.latest_below_caseness AS latest_below_caseness,
        -- reliable improvement on at least one, reliable deterioration on neither
        (phq9.reliable_improvement OR gad7.reliable_improvement)
            AND NOT (phq9.reliable_deterioration OR gad7.reliable_deterioration) AS reliable_improvement,
        phq9.reliable_deterioration OR gad7.reliable_deterioration AS reliable_deterioration
    FROM phq9
    JOIN gad7 USING (patient_id)
),
final AS (
    SELECT
        patient_id,
        phq9_baseline_score,
        phq9_latest_score,
        gad7_baseline_score,
        gad7_latest_score,
        baseline_caseness,
        reliable_improvement,
        reliable_deterioration,
        -- recovery and reliable recovery apply only to patients in caseness at the start
        CASE WHEN baseline_caseness THEN latest_below_caseness END AS recovery,
        CASE WHEN baseline_caseness THEN latest_below_caseness AND reliable_improvement END AS reliable_recovery
    FROM paired
)
SELECT * FROM final;
