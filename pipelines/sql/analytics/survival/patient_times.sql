-- Each patient's time to response on one scale (parameter): the view `patient_response_times`
-- (sql/views/followup_responses.sql), the days from the first infusion's date to the first
-- follow-up meeting the response criterion, or to the last follow-up when none does (censored;
-- clinical reference, "Time to response").
-- A step of survival/response_times.sql and survival/response_time_counts.sql (the placeholder
-- `per_patient`, filled by `survival._times_step`).
WITH final AS (
    SELECT patient_id, responded, days
    FROM patient_response_times
    WHERE instrument = ?
)
SELECT * FROM final
