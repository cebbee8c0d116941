-- Blood-pressure excursions at peak per group (safety.bp_excursions): peak systolic >= the
-- systolic limit or peak diastolic >= the diastolic limit (settings.thresholds, 180 / 110 mmHg;
-- docs/scoring.md, ketamine session data). Parameters after the cohort's: the two limits.
WITH {{cohort}},
cohort_infusions AS (
    -- Every infusion of the cohort's patients, the grouping attributes in front.
    SELECT {{cohort_columns}} s.*
    FROM sessions AS s
    {{cohort_join}}
),
infusions AS (
    -- An infusion without any peak reading cannot be judged and is left out of the rate.
    SELECT
        {{group_columns}}
        patient_id,
        bp_peak_sys IS NOT NULL OR bp_peak_dia IS NOT NULL AS bp_recorded,
        coalesce(bp_peak_sys >= ?, false) AS systolic_excursion,
        coalesce(bp_peak_dia >= ?, false) AS diastolic_excursion
    FROM cohort_infusions
),
counts AS (
    SELECT
        {{group_columns}}
        count(*) AS n_infusions,
        count(*) FILTER (WHERE bp_recorded) AS n_infusions_with_bp,
        count(*) FILTER (WHERE systolic_excursion OR diastolic_excursion) AS n_excursions,
        count(*) FILTER (WHERE systolic_excursion) AS n_systolic_excursions,
        count(*) FILTER (WHERE diastolic_excursion) AS n_diastolic_excursions
    FROM infusions
    GROUP BY ALL
    HAVING count(*) > 0
),
affected AS (
    -- distinct patients among the excursions only (a DISTINCT over every infusion costs more)
    SELECT {{group_columns}} count(DISTINCT patient_id) AS patients_affected
    FROM infusions
    WHERE systolic_excursion OR diastolic_excursion
    GROUP BY ALL
),
final AS (
    SELECT g.*, coalesce(e.patients_affected, 0) AS patients_affected
    FROM counts AS g
    LEFT JOIN affected AS e ON true {{same_group}}
)
SELECT * FROM final
ORDER BY ALL
