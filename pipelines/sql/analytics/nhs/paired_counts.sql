-- NHS Talking Therapies paired outcome (PHQ-9 + GAD-7) counted per group of a cohort: the
-- per-patient judgement is the `nhs_paired_outcomes` view (clinical reference, "Recovery").
-- Recovery and reliable recovery are over `n_caseness`, reliable change over `n_paired`.
WITH {{cohort}},
per_patient AS (
    SELECT
        cohort.*,
        nhs.baseline_caseness IS NOT NULL AS paired,
        nhs.baseline_caseness,
        nhs.recovery,
        nhs.reliable_recovery,
        nhs.reliable_improvement,
        nhs.reliable_deterioration
    FROM cohort
    LEFT JOIN nhs_paired_outcomes AS nhs USING (patient_id)
),
final AS (
    SELECT
        {{group_columns}}
        count(*) AS n_patients,
        count(*) FILTER (WHERE paired) AS n_paired,
        count(*) FILTER (WHERE baseline_caseness) AS n_caseness,
        count(*) FILTER (WHERE recovery) AS recovery_n,
        count(*) FILTER (WHERE reliable_recovery) AS reliable_recovery_n,
        count(*) FILTER (WHERE reliable_improvement) AS reliable_improvement_n,
        count(*) FILTER (WHERE reliable_deterioration) AS reliable_deterioration_n
    FROM per_patient
    GROUP BY ALL
)
SELECT * FROM final
{{order_by}}
