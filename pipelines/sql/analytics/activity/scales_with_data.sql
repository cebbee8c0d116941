-- The scales on which at least one patient of the cohort has a baseline (a scale without any
-- has nothing to show), in the registry's page order (PHQ-9 first: the Clinic outcomes page's default).
WITH {{cohort}},
per_scale AS (
    -- n_evaluable: in caseness with a follow-up, the denominator of the rates
    SELECT
        o.instrument,
        count(*) AS n_baseline,
        count(*) FILTER (WHERE o.baseline_caseness AND o.n_followups > 0) AS n_evaluable
    FROM patient_outcomes AS o
    {{cohort_join}}
    GROUP BY o.instrument
),
final AS (
    SELECT p.instrument, i.name, p.n_baseline, p.n_evaluable, i.page_order
    FROM per_scale AS p
    JOIN instruments AS i ON i.code = p.instrument
)
SELECT * FROM final
ORDER BY page_order, instrument
