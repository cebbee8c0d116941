-- Score points by infusion number: the score before infusion k (`scores_by_infusion`) for
-- k = 1 .. trajectory_max_infusion, every later score in one "maintenance" point (max + 1) where
-- each patient counts once with their latest score. Aggregated per point: n, mean and a histogram
-- of the scores (the intervals are computed in Python). Parameters: scale, max, max, scale, max,
-- max.
WITH {{cohort}},
one_per_patient AS (
    -- scores_by_infusion has one score per patient and infusion; later infusions share
    -- one maintenance point (max + 1), where each patient counts with their latest score.
    SELECT patient_id, k AS infusion, score
    FROM scores_by_infusion
    WHERE instrument = ? AND k <= ?
    UNION ALL
    SELECT patient_id, ? + 1 AS infusion, arg_max(score, administered_at) AS score
    FROM scores_by_infusion
    WHERE instrument = ? AND k > ?
    GROUP BY patient_id
),
per_score AS (
    -- Patients per point and score: one pass over the rows (a perfect hash aggregate, scores
    -- being small integers), from which the point's n, mean and histogram follow exactly.
    SELECT
        {{group_columns}}
        p.infusion,
        p.score,
        count(*) AS patients
    FROM one_per_patient AS p
    {{cohort_join}}
    GROUP BY ALL
),
final AS (
    SELECT
        {{group_columns}}
        infusion,
        -- trajectories.MAINTENANCE
        CASE WHEN infusion > ? THEN 'maintenance' ELSE infusion::VARCHAR END AS label,
        sum(patients)::BIGINT AS n,
        -- the mean of the scores: their integer sum over n, as avg() divides it
        sum(score * patients)::DOUBLE / sum(patients)::DOUBLE AS mean,
        map_from_entries(list({'key': score, 'value': patients} ORDER BY score)) AS scores
    FROM per_score
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY {{group_columns}} infusion
