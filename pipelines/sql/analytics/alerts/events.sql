-- The event behind each worklist reason, one row per treated patient (alerts.alert_events): a
-- key naming what raised the reason and when, so an acknowledged alert stays acknowledged until a
-- NEW event raises it again (docs/design.md, "Writes while serving"). Each pair of columns holds
-- the event the reason would be raised by; whether it is raised is the worklist's decision.
-- Parameter: settings.thresholds.phq9_overdue_days.
WITH alert_settings AS (
    SELECT ?::INTEGER AS phq9_overdue_days
),
treated AS (
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
due AS (
    -- PHQ-9 overdue: the last day a PHQ-9 was in time (the latest valid one's date, else the first
    -- infusion's, plus phq9_overdue_days); overdue from the day after.
    SELECT
        t.patient_id,
        coalesce(p.latest_valid_at::DATE, t.first_infusion_at::DATE) + w.phq9_overdue_days AS due_on
    FROM treated AS t
    CROSS JOIN alert_settings AS w
    LEFT JOIN phq9 AS p ON p.patient_id = t.patient_id
),
final AS (
    SELECT
        t.patient_id,
        'PHQ-9 ' || p.latest_key AS item9_positive_event,
        p.latest_at AS item9_positive_raised_at,
        'PHQ-9 ' || p.latest_key AS item9_unknown_event,
        p.latest_at AS item9_unknown_raised_at,
        d.scores AS reliable_deterioration_event,
        d.raised_at AS reliable_deterioration_raised_at,
        'PHQ-9 ' || p.latest_valid_key AS not_on_track_event,
        p.latest_valid_at AS not_on_track_raised_at,
        'infusion ' || i.last_ids AS bp_excursion_last_infusion_event,
        t.last_infusion_at AS bp_excursion_last_infusion_raised_at,
        'first infusion ' || i.first_ids AS no_baseline_event,
        t.first_infusion_at AS no_baseline_raised_at,
        'due ' || strftime(u.due_on, '%Y-%m-%d') AS phq9_overdue_event,
        (u.due_on + 1)::TIMESTAMP AS phq9_overdue_raised_at,
        'infusion ' || i.last_ids AS pre_infusion_phq9_missing_event,
        t.last_infusion_at AS pre_infusion_phq9_missing_raised_at
    FROM treated AS t
    JOIN infusion_ids AS i ON i.patient_id = t.patient_id
    JOIN due AS u ON u.patient_id = t.patient_id
    LEFT JOIN phq9 AS p ON p.patient_id = t.patient_id
    LEFT JOIN deterioration AS d ON d.patient_id = t.patient_id
)
SELECT * FROM final
