-- Time to response with stopping treatment as a competing event: patients per group, day and
-- event (1 = responded, 2 = stopped treatment without a response, 0 = censored, still in
-- treatment). Population: the cohort's patients in the clinical range at baseline on the scale
-- (the population of the response rates and of Kaplan-Meier). Clinical reference, "Time to
-- response with stopping as a competing event"; docs/analytics.md, "Competing risks".
-- Parameters (after the cohort's): the scale (the step `per_patient`), the scale again, and
-- `settings.treatment.ended_after_days`.
WITH {{cohort}},
-- the step `per_patient`: survival/patient_times.sql (days to the first response, or to the
-- last follow-up)
{{per_patient}}
data_end AS (
    -- the data's end: the latest infusion recorded in the clinic
    SELECT max(started_at)::DATE AS data_end_on FROM sessions
),
started AS (
    SELECT
        po.patient_id,
        pc.first_session_at::DATE AS first_on,
        pc.last_session_at::DATE AS last_on,
        p.discharge_date
    FROM patient_outcomes AS po
    JOIN patient_cohorts AS pc ON pc.patient_id = po.patient_id
    -- `patients`, not the view, holds the discharge date (NULL in a database written by an
    -- older version: db.shadow_missing_columns)
    JOIN patients AS p ON p.patient_id = po.patient_id
    WHERE po.instrument = ? AND po.baseline_caseness
),
judged AS (
    -- stopped: discharged on or before the data's end, or no infusion in the last
    -- `ended_after_days` days before it; stopped_on: the earlier of the discharge date and the
    -- last infusion's date, which is the last infusion's, since a discharge dated before a
    -- later infusion is a re-admission and does not count (as in the `treatment_status` macro)
    SELECT
        s.patient_id,
        s.first_on,
        s.last_on AS stopped_on,
        coalesce(t.responded, false) AS responded,
        t.days AS followup_days,
        coalesce(s.discharge_date <= d.data_end_on AND s.discharge_date >= s.last_on, false)
            OR date_diff('day', s.last_on, d.data_end_on) >= ? AS stopped
    FROM started AS s
    CROSS JOIN data_end AS d
    LEFT JOIN per_patient AS t ON t.patient_id = s.patient_id
),
timed AS (
    -- a response is the event whenever there is one; else stopping, at the day of the last
    -- infusion or the discharge, whichever came first; else censored at the last follow-up (day 0: no follow-up yet)
    SELECT
        patient_id,
        CASE WHEN responded THEN 1 WHEN stopped THEN 2 ELSE 0 END AS event,
        CASE
            WHEN responded THEN followup_days
            WHEN stopped THEN date_diff('day', first_on, stopped_on)
            ELSE coalesce(followup_days, 0)
        END AS days
    FROM judged
),
final AS (
    SELECT {{group_columns}} p.days, p.event, count(*) AS patients
    FROM timed AS p
    {{cohort_join}}
    GROUP BY ALL
)
SELECT * FROM final
ORDER BY ALL
