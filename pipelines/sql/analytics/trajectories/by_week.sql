-- Score points by whole weeks since the first infusion: the baseline as its own point (week -1,
-- trajectories.BASELINE_WEEK, label "baseline"), then each week's follow-ups, each patient
-- once per week with the latest score of the week. Aggregated per point: n, mean and a
-- histogram of the scores. Parameters: the scale, twice.
WITH {{cohort}},
baselines AS (
    SELECT patient_id, baseline_at, baseline_score
    FROM patient_outcomes
    WHERE instrument = ?
),
weekly AS (
    SELECT s.patient_id, s.days_since_first_session // 7 AS week, s.total AS score
    FROM scores AS s
    JOIN baselines AS b ON b.patient_id = s.patient_id
    WHERE s.instrument = ? AND s.administered_at > b.baseline_at
    QUALIFY row_number() OVER (PARTITION BY s.patient_id, week
                               ORDER BY s.administered_at DESC, s.assessment_key DESC) = 1
),
points AS (
    SELECT patient_id, -1 AS week, baseline_score AS score FROM baselines
    UNION ALL
    SELECT patient_id, week, score FROM weekly
),
final AS (
    SELECT
        {{group_columns}}
        p.week,
        CASE WHEN p.week = -1 THEN 'baseline' ELSE 'week ' || p.week END AS label,
        count(*) AS n,
        avg(p.score) AS mean,
        histogram(p.score) AS scores
    FROM points AS p
    {{cohort_join}}
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY {{group_columns}} week
