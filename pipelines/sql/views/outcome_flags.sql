-- The outcome flags of one follow-up score against the baseline, as one struct; used by the
-- `patient_outcomes` view (latest score) and by the analytics at other time points (after
-- induction), so every definition is written once. Clinical reference, "Outcome definitions".
-- All flags are NULL without a follow-up score.
CREATE OR REPLACE MACRO judge_outcome(baseline, followup, caseness_min, response_drop_pct, remission_below,
                                      remission_min_drop, reliable_change) AS {
    -- Response: a reduction of at least response_drop_pct percent (50%; pain 30%), in integers
    -- to avoid rounding. Baseline 0: no reduction is possible, so false.
    'response': CASE
        WHEN followup IS NULL THEN NULL
        WHEN baseline = 0 THEN false
        ELSE (baseline - followup) * 100 >= response_drop_pct * baseline
    END,
    -- Remission: below the cut-off (PHQ-9, GAD-7 < 5; PCL-5 < 33 with a drop of >= 10).
    -- Pain has no remission: NULL.
    'remission': CASE
        WHEN followup IS NULL OR remission_below IS NULL THEN NULL
        ELSE followup < remission_below AND (remission_min_drop IS NULL OR baseline - followup >= remission_min_drop)
    END,
    -- Reliable change (Jacobson & Truax 1991) with the NHS Talking Therapies thresholds.
    'reliable_improvement': CASE WHEN followup IS NOT NULL THEN baseline - followup >= reliable_change END,
    'reliable_deterioration': CASE WHEN followup IS NOT NULL THEN followup - baseline >= reliable_change END,
    -- Recovery (NHS Talking Therapies): in caseness at baseline and below it at the end; not
    -- applicable (NULL) to patients who started below caseness.
    'recovery': CASE
        WHEN followup IS NULL OR baseline < caseness_min THEN NULL
        ELSE followup < caseness_min
    END,
    'reliable_recovery': CASE
        WHEN followup IS NULL OR baseline < caseness_min THEN NULL
        ELSE followup < caseness_min AND baseline - followup >= reliable_change
    END
};
