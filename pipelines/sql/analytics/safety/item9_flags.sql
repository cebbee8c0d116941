-- PHQ-9 item 9 (thoughts of death or self-harm) per patient of the cohort with any PHQ-9
-- (safety.item9_flags). Item 9 > 0 is a safety flag whatever the total, also on an incomplete
-- PHQ-9; unanswered is "unknown", never "negative" (Kroenke et al. 2001; docs/scoring.md). The
-- per-patient summary is the view `phq9_safety` (sql/views/safety.sql), which reads every
-- administration in `assessments`, not only valid totals.
WITH {{cohort}},
final AS (
    -- Patients not yet infused are in no cohort (`patient_cohorts` holds treated patients).
    SELECT
        i.patient_id,
        pc.site,
        pc.clinician,
        pc.primary_indication,
        i.latest_phq9_at,
        i.item9_status_latest,
        i.item9_positive_latest,
        i.item9_positive_ever,
        i.first_positive_at,
        i.last_positive_at,
        i.n_positive,
        i.n_unknown,
        i.n_phq9
    FROM phq9_safety AS i
    {{cohort_join}}
    JOIN patient_cohorts AS pc ON pc.patient_id = i.patient_id
)
SELECT * FROM final
ORDER BY patient_id
