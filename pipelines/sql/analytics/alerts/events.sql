-- The event behind each worklist reason, one row per treated patient (alerts.alert_events): a
-- key naming what raised the reason and when, so an acknowledged alert stays acknowledged until a
-- NEW event raises it again (docs/design.md, "Writes while serving"). Each pair of columns holds
-- the event the reason would be raised by; whether it is raised is the worklist's decision.
-- The keys and times are stored by the ingest (view `alert_event_keys`); only the PHQ-9 due
-- date depends on the settings, so only it is computed here.
-- Parameter: settings.thresholds.phq9_overdue_days.
WITH alert_settings AS (
    SELECT ?::INTEGER AS phq9_overdue_days
),
due AS (
    -- PHQ-9 overdue: the last day a PHQ-9 was in time (the latest valid one's date, else the first
    -- infusion's, plus phq9_overdue_days); overdue from the day after.
    SELECT k.patient_id, k.phq9_clock_from + w.phq9_overdue_days AS due_on
    FROM alert_event_keys AS k
    CROSS JOIN alert_settings AS w
),
final AS (
    SELECT
        k.patient_id,
        'PHQ-9 ' || k.latest_phq9_key AS item9_positive_event,
        k.latest_phq9_at AS item9_positive_raised_at,
        'PHQ-9 ' || k.latest_phq9_key AS item9_unknown_event,
        k.latest_phq9_at AS item9_unknown_raised_at,
        k.deteriorated_scores AS reliable_deterioration_event,
        k.deteriorated_at AS reliable_deterioration_raised_at,
        'PHQ-9 ' || k.latest_valid_phq9_key AS not_on_track_event,
        k.latest_valid_phq9_at AS not_on_track_raised_at,
        'infusion ' || k.last_infusion_ids AS bp_excursion_last_infusion_event,
        k.last_infusion_at AS bp_excursion_last_infusion_raised_at,
        'first infusion ' || k.first_infusion_ids AS no_baseline_event,
        k.first_infusion_at AS no_baseline_raised_at,
        'due ' || strftime(u.due_on, '%Y-%m-%d') AS phq9_overdue_event,
        (u.due_on + 1)::TIMESTAMP AS phq9_overdue_raised_at,
        'infusion ' || k.last_infusion_ids AS pre_infusion_phq9_missing_event,
        k.last_infusion_at AS pre_infusion_phq9_missing_raised_at
    FROM alert_event_keys AS k
    JOIN due AS u ON u.patient_id = k.patient_id
)
SELECT * FROM final
