-- Durability of response, as McInnes et al. (2022), J Affect Disord 301:486-495, measured it:
-- for each patient responding after induction on the scale (parameter), the days from that
-- after-induction score (`patient_outcomes.after_induction_at`) to the loss of response (event),
-- or to the last score while still responding (censored); patients per group, day and outcome.
-- Loss of response: the first later score that no longer meets the response criterion (a drop
-- from baseline below `instruments.response_drop_pct`, as `followup_responses.responded`).
-- McInnes's patients had no maintenance, so follow-up ends at the first maintenance infusion
-- (an infusion after the `induction_sessions`-th) after the after-induction score: a score
-- taken at or before its start still counts. docs/analytics.md, "Durability".
WITH {{cohort}},
question AS (
    SELECT ? AS scale
),
scored AS (
    SELECT patient_id, administered_at, days, responded
    FROM followup_responses
    WHERE instrument = (SELECT scale FROM question)
),
starts AS (
    -- time zero: a responding after-induction score
    SELECT po.patient_id, po.after_induction_at AS start_at, min(s.days) AS start_day
    FROM patient_outcomes AS po
    JOIN scored AS s ON s.patient_id = po.patient_id AND s.administered_at = po.after_induction_at
    WHERE po.instrument = (SELECT scale FROM question) AND s.responded
    GROUP BY po.patient_id, po.after_induction_at
),
maintenance AS (
    -- the first maintenance infusion after time zero, where follow-up ends
    SELECT st.patient_id, min(n.started_at) AS maintenance_at
    FROM starts AS st
    JOIN session_numbers AS n ON n.patient_id = st.patient_id
    WHERE n.session_number > (SELECT induction_sessions FROM outcome_settings)
      AND n.started_at > st.start_at
    GROUP BY st.patient_id
),
followed AS (
    SELECT
        st.patient_id,
        st.start_day,
        min(s.days) FILTER (WHERE NOT s.responded) AS lost_day,
        max(s.days) AS last_day
    FROM starts AS st
    LEFT JOIN maintenance AS m ON m.patient_id = st.patient_id
    JOIN scored AS s
        ON s.patient_id = st.patient_id AND s.administered_at >= st.start_at
       AND (m.maintenance_at IS NULL OR s.administered_at <= m.maintenance_at)
    GROUP BY st.patient_id, st.start_day
),
timed AS (
    SELECT
        patient_id,
        lost_day IS NOT NULL AS lost,
        coalesce(lost_day, last_day) - start_day AS days
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
