-- CADSS dissociation totals (Bremner et al. 1998) by infusion number, as a histogram per group
-- and infusion bucket (safety.cadss_by_infusion). CADSS totals are whole numbers 0-92, so each
-- group's distribution is fully described by at most 93 rows. Parameters after the cohort's:
-- the last infusion reported on its own (trajectory_max_infusion), twice.
WITH {{cohort}},
cohort_infusions AS (
    -- Every numbered infusion of the cohort's patients, the grouping attributes in front.
    SELECT {{cohort_columns}} s.*
    FROM session_numbers AS s
    {{cohort_join}}
),
infusions AS (
    -- Infusions 1..max one by one; later ones together as maintenance (bucket max + 1).
    SELECT
        {{group_columns}}
        patient_id,
        least(session_number, ? + 1) AS bucket,
        cadss_total
    FROM cohort_infusions
    WHERE cadss_total IS NOT NULL
),
histogram AS (
    SELECT {{group_columns}} bucket, cadss_total, count(*) AS n_infusions
    FROM infusions
    GROUP BY ALL
),
maintenance_patients AS (
    -- A numbered bucket holds one infusion per patient; maintenance may hold several.
    SELECT {{group_columns}} bucket, count(DISTINCT patient_id) AS n_patients
    FROM infusions
    WHERE bucket > ?
    GROUP BY ALL
),
final AS (
    SELECT h.*, m.n_patients
    FROM histogram AS h
    LEFT JOIN maintenance_patients AS m ON m.bucket = h.bucket {{same_group}}
)
SELECT * FROM final
ORDER BY {{group_columns}} bucket, cadss_total
