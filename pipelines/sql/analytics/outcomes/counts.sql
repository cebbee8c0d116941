-- Outcome counts of one scale per group of a cohort, and each group's evaluable changes (the
-- change statistics are computed from them in Python). Evaluable = in caseness at baseline with
-- a follow-up at the timepoint: the denominator of every rate, and every count of an outcome is
-- among them (clinical reference, "Caseness" and "Outcome definitions").
WITH {{cohort}},
-- the step `judged`: each patient's outcomes at the timepoint (outcomes/judged_latest.sql or
-- outcomes/judged_at.sql)
{{judged}}
patients AS (
    -- One row per patient of the cohort: counted in n_patients.
    SELECT {{group_columns}} true AS in_cohort
    FROM cohort
),
judged_in_cohort AS (
    -- One row per patient of the cohort with a baseline on the scale: their outcomes at the
    -- timepoint. Joined to the cohort only when it is filtered or grouped (`cohorts.cohort_join`):
    -- every patient with outcomes has been treated, hence is in `patient_cohorts`.
    SELECT
        {{group_columns}}
        o.*,
        coalesce(o.baseline_caseness AND o.has_followup, false) AS evaluable
    FROM judged AS o
    {{cohort_join}}
),
per_patient AS (
    -- The counts of the cohort LEFT JOIN its outcomes, without a join over every patient for
    -- the whole clinic: each count below reads the rows it is about (n_patients the cohort's,
    -- the others the outcomes').
    SELECT * FROM patients
    UNION ALL BY NAME
    SELECT * FROM judged_in_cohort
),
final AS (
    SELECT
        {{group_columns}}
        count(*) FILTER (WHERE in_cohort) AS n_patients,
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
