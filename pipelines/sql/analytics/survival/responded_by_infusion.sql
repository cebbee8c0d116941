-- Patients in caseness at baseline on the scale (parameter 1) who reached infusion k, and how
-- many of them had responded before infusion k started (parameter 2: the scale again;
-- parameter 3: trajectory_max_infusion, the last k).
WITH {{cohort}},
baselines AS (
    SELECT patient_id FROM patient_outcomes WHERE instrument = ? AND baseline_caseness
),
first_response AS (
    -- infusions started before the first responding follow-up
    SELECT patient_id, min(sessions_before) AS infusions_before_response
    FROM followup_responses
    WHERE instrument = ? AND responded
    GROUP BY patient_id
),
infusions AS (
    SELECT unnest(range(1, ? + 1)) AS infusion
),
final AS (
    SELECT
        {{group_columns}}
        i.infusion,
        count(*) AS n,
        count(*) FILTER (WHERE f.infusions_before_response <= i.infusion - 1) AS responded
    FROM baselines AS b
    JOIN cohort AS c ON c.patient_id = b.patient_id
    JOIN infusions AS i ON c.n_sessions >= i.infusion
    LEFT JOIN first_response AS f ON f.patient_id = b.patient_id
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY {{group_columns}} infusion
