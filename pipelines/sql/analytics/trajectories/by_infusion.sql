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
final AS (
    SELECT
        {{group_columns}}
        p.infusion,
        -- trajectories.MAINTENANCE
        CASE WHEN p.infusion > ? THEN 'maintenance' ELSE p.infusion::VARCHAR END AS label,
        count(*) AS n,
        avg(p.score) AS mean,
        histogram(p.score) AS scores
    FROM one_per_patient AS p
    {{cohort_join}}
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY {{group_columns}} infusion
