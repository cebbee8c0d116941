-- The patient's infusions in order (patient.patient_sessions). Parameters: $patient_id and
-- the BP excursion limits $bp_sys / $bp_dia (settings.thresholds).
WITH infusions AS MATERIALIZED (
    SELECT * FROM session_numbers WHERE patient_id = $patient_id
),
final AS (
    SELECT
        session_id,
        session_number,
        started_at,
        route,
        dose_mg,
        weight_kg,
        dose_mg_per_kg,
        duration_min,
        bp_pre_sys,
        bp_pre_dia,
        bp_peak_sys,
        bp_peak_dia,
        -- BP excursion at peak (settings.thresholds; clinical reference, ketamine session data)
        coalesce(bp_peak_sys >= $bp_sys OR bp_peak_dia >= $bp_dia, false) AS bp_excursion,
        hr_pre,
        spo2_min,
        cadss_total,
        array_to_string(coalesce(side_effects, []), ', ') AS side_effects,
        nullif(trim(adverse_event), '') AS adverse_event
    FROM infusions
)
SELECT * FROM final
ORDER BY session_number
