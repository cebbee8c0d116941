-- Run by init_db after views/followup_responses.sql (it reads `followup_responses`).

-- Each patient's time to response on each scale: the days from the first infusion's date to the
-- first follow-up meeting the response criterion, or to the last follow-up when none does
-- (censored; clinical reference, "Time to response"). One row per patient and scale of
-- `followup_responses`. Time to response and the competing-risks curve read it
-- (sql/analytics/survival/patient_times.sql); stored by the ingest like the others, so they read
-- a row per patient instead of grouping every follow-up of the clinic on each call.
CREATE OR REPLACE VIEW patient_response_times AS
WITH final AS (
    SELECT
        patient_id,
        instrument,
        bool_or(responded) AS responded,
        -- first responding follow-up, else the last follow-up (censoring time)
        coalesce(min(days) FILTER (WHERE responded), max(days)) AS days
    FROM followup_responses
    GROUP BY patient_id, instrument
)
SELECT * FROM final;
