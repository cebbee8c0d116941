-- Durability of response: for each responder on the scale (parameter), the days from the first
-- response to the loss of response (event), or to the last follow-up while still responding
-- (censored); patients per group, day and outcome. Loss of response: the first later score that
-- no longer meets the response criterion (a drop from baseline below
-- `instruments.response_drop_pct`, as `followup_responses.responded`). docs/analytics.md,
-- "Durability"; after McInnes et al. (2022), J Affect Disord 301:486-495.
WITH {{cohort}},
scored AS (
    SELECT patient_id, administered_at, days, responded
    FROM followup_responses
    WHERE instrument = ?
),
first_response AS (
    SELECT patient_id, min(administered_at) AS responded_at, arg_min(days, administered_at) AS response_day
    FROM scored
    WHERE responded
    GROUP BY patient_id
),
followed AS (
    SELECT
        f.patient_id,
        f.response_day,
        min(s.days) FILTER (WHERE NOT s.responded) AS lost_day,
        max(s.days) AS last_day
    FROM first_response AS f
    JOIN scored AS s ON s.patient_id = f.patient_id AND s.administered_at >= f.responded_at
    GROUP BY f.patient_id, f.response_day
),
timed AS (
    SELECT
        patient_id,
        lost_day IS NOT NULL AS lost,
        coalesce(lost_day, last_day) - response_day AS days
    FROM followed
),
final AS (
    SELECT {{group_columns}} p.days, p.lost, count(*) AS patients
    FROM timed AS p
    {{cohort_join}}
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY ALL
