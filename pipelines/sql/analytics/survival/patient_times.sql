-- Each patient's time to response on one scale (parameter), from `followup_responses`: the days
-- from the first infusion's date to the first follow-up meeting the response criterion, or to
-- the last follow-up when none does (censored; clinical reference, "Time to response").
-- A step of survival/response_times.sql and survival/response_time_counts.sql (the placeholder
-- `per_patient`, filled by `survival._times_step`).
WITH final AS (
    SELECT
        patient_id,
        bool_or(responded) AS responded,
        -- first responding follow-up, else the last follow-up (censoring time)
        coalesce(min(days) FILTER (WHERE responded), max(days)) AS days
    FROM followup_responses
    WHERE instrument = ?
    GROUP BY patient_id
)
SELECT * FROM final
