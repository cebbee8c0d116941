-- Outcome counts of one scale per group of a cohort, and each group's evaluable changes (the
-- change statistics are computed from them in Python). Evaluable = in caseness at baseline with
-- a follow-up at the timepoint: the denominator of every rate, and every count of an outcome is
-- among them (clinical reference, "Caseness" and "Outcome definitions").
WITH {{cohort}},
-- the step `judged`: each patient's outcomes at the timepoint (outcomes/judged_latest.sql or
-- outcomes/judged_at.sql)
{{judged}}
per_patient AS (
    SELECT
        cohort.*,
        judged.* EXCLUDE (patient_id),
        coalesce(judged.baseline_caseness AND judged.has_followup, false) AS evaluable
    FROM cohort
    LEFT JOIN judged USING (patient_id)
),
final AS (
    SELECT
        {{group_columns}}
        count(*) AS n_patients,
        count(baseline_score) AS n_baseline,
        count(*) FILTER (WHERE baseline_caseness) AS n_caseness,
        count(*) FILTER (WHERE evaluable) AS n_evaluable,
        -- one count per outcome of outcomes.OUTCOMES
        count(*) FILTER (WHERE evaluable AND response) AS response_n,
        count(*) FILTER (WHERE evaluable AND remission) AS remission_n,
        count(*) FILTER (WHERE evaluable AND reliable_improvement) AS reliable_improvement_n,
        count(*) FILTER (WHERE evaluable AND reliable_deterioration) AS reliable_deterioration_n,
        count(*) FILTER (WHERE evaluable AND recovery) AS recovery_n,
        count(*) FILTER (WHERE evaluable AND reliable_recovery) AS reliable_recovery_n,
        coalesce(list(change) FILTER (WHERE evaluable), []) AS evaluable_changes
    FROM per_patient
    GROUP BY ALL
)
SELECT * FROM final
{{order_by}}
