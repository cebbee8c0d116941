-- Per treated patient, one row: the events behind the worklist's reasons that depend neither on
-- the settings nor on the day (analytics/alerts/events.sql adds the PHQ-9 due date, which does).
-- alerts.alert_events used to compute these over `sessions`, `assessments` and
-- `patient_outcomes` on every new database version (about 12 s at 1,000,000 patients on the
-- first Worklist after an ingest); stored by the ingest like the others
-- (pipelines/precomputed.py), it is read as one table sorted by patient.
-- Run by init_db after the outcome views (it reads `patient_outcomes`).
CREATE OR REPLACE VIEW alert_event_keys AS
WITH treated AS (
    SELECT patient_id, min(started_at) AS first_infusion_at, max(started_at) AS last_infusion_at
    FROM sessions
    GROUP BY patient_id
),
infusion_ids AS (
    -- The first and the last infusion by id (several at the same minute: all of them, by id), as
    -- the worklist reads the last one (view `last_infusions`).
    SELECT
        t.patient_id,
        string_agg(s.session_id, ', ' ORDER BY s.session_id) FILTER (WHERE s.started_at = t.first_infusion_at) AS first_ids,
        string_agg(s.session_id, ', ' ORDER BY s.session_id) FILTER (WHERE s.started_at = t.last_infusion_at) AS last_ids
    FROM treated AS t
    JOIN sessions AS s
      ON s.patient_id = t.patient_id AND (s.started_at = t.first_infusion_at OR s.started_at = t.last_infusion_at)
    GROUP BY t.patient_id
),
phq9 AS (
    -- The PHQ-9s the worklist reads (view `phq9_safety`): the latest one, at a tie the most
    -- concerning item 9 (positive, then unanswered); and the latest valid one, at a tie the higher
    -- total. The key breaks any remaining tie the same way every time.
    SELECT
        patient_id,
        arg_max(assessment_key, {'at': administered_at,
                                 'concern': CASE WHEN item9_positive THEN 2 WHEN item9_positive IS NULL THEN 1 ELSE 0 END,
                                 'key': assessment_key}) AS latest_key,
        max(administered_at) AS latest_at,
        arg_max(assessment_key, {'at': administered_at, 'total': total, 'key': assessment_key})
            FILTER (WHERE total IS NOT NULL) AS latest_valid_key,
        max(administered_at) FILTER (WHERE total IS NOT NULL) AS latest_valid_at
    FROM assessments
    WHERE instrument = 'PHQ-9'
    GROUP BY patient_id
),
deterioration AS (
    -- Reliable deterioration is judged at each scale's latest follow-up: those scores are the event.
    SELECT
        patient_id,
        string_agg(instrument || ' at ' || strftime(latest_at, '%Y-%m-%d %H:%M'), '; ' ORDER BY instrument) AS scores,
        max(latest_at) AS raised_at
    FROM patient_outcomes
    WHERE reliable_deterioration
    GROUP BY patient_id
),
final AS (
    SELECT
        t.patient_id,
        p.latest_key AS latest_phq9_key,
        p.latest_at AS latest_phq9_at,
        p.latest_valid_key AS latest_valid_phq9_key,
        p.latest_valid_at AS latest_valid_phq9_at,
        d.scores AS deteriorated_scores,
        d.raised_at AS deteriorated_at,
        i.first_ids AS first_infusion_ids,
        t.first_infusion_at,
        i.last_ids AS last_infusion_ids,
        t.last_infusion_at,
        -- the day the PHQ-9 overdue clock runs from: the latest valid PHQ-9's, else the first infusion's
        coalesce(p.latest_valid_at::DATE, t.first_infusion_at::DATE) AS phq9_clock_from
    FROM treated AS t
    JOIN infusion_ids AS i ON i.patient_id = t.patient_id
    LEFT JOIN phq9 AS p ON p.patient_id = t.patient_id
    LEFT JOIN deterioration AS d ON d.patient_id = t.patient_id
)
SELECT * FROM final;
