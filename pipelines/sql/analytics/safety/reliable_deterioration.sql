-- Patients whose latest follow-up shows reliable deterioration on a scale
-- (safety.reliable_deterioration): a rise from baseline of at least the scale's reliable-change
-- threshold, as the `patient_outcomes` view judges it (Jacobson & Truax 1991; NHS Talking
-- Therapies thresholds).
WITH {{cohort}},
final AS (
    SELECT
        o.patient_id,
        pc.site,
        pc.clinician,
        pc.primary_indication,
        o.instrument,
        o.baseline_at,
        o.baseline_score,
        o.latest_at,
        o.latest_score,
        o.change,
        i.reliable_change AS reliable_change_threshold,
        o.n_followups
    FROM patient_outcomes AS o
    {{cohort_join}}
    JOIN patient_cohorts AS pc ON pc.patient_id = o.patient_id
    JOIN instruments AS i ON i.code = o.instrument
    WHERE o.reliable_deterioration
)
SELECT * FROM final
ORDER BY patient_id, instrument
