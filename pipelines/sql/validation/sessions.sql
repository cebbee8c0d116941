-- Sessions export (one infusion per row) -> typed rows with the problems that keep a row out.
-- Parameters: $now_local, $clinic_tz and the plausible ranges from settings ($dose_mg_min ...).
WITH typed AS (
    SELECT
        s.source_row,
        s.session_id                                   AS session_id,
        s.patient_id                                   AS patient_id,
        s.started_at                                   AS started_text,
        local_time(s.started_at, $clinic_tz)           AS started_at,
        s.route                                        AS route_text,
        CASE regexp_replace(lower(s.route), '[^a-z]', '', 'g')
            WHEN 'iv' THEN 'iv' WHEN 'intravenous' THEN 'iv'
            WHEN 'im' THEN 'im' WHEN 'intramuscular' THEN 'im'
            WHEN 'intranasal' THEN 'intranasal' WHEN 'in' THEN 'intranasal' WHEN 'nasal' THEN 'intranasal'
        END                                                  AS route,
        s.dose_mg,
        s.weight_kg,
        s.duration_min,
        s.clinician                                    AS clinician,
        s.site                                         AS site,
        s.bp_pre_sys,
        s.bp_pre_dia,
        s.bp_peak_sys,
        s.bp_peak_dia,
        s.hr_pre,
        s.spo2_min,
        s.cadss_total,
        CASE WHEN s.side_effects IS NOT NULL
            THEN list_filter(list_transform(string_split(s.side_effects, ';'), lambda e: lower(trim(e))), lambda e: e <> '')
            ELSE []
        END                                                  AS side_effects,
        s.adverse_event                                AS adverse_event
    FROM staged AS s
),
checked AS (
    SELECT
        t.*,
        CASE WHEN t.session_id IS NULL THEN problem('missing_value', 'session_id is missing') END AS id_problem,
        CASE
            WHEN t.patient_id IS NULL THEN problem('missing_value', 'patient_id is missing')
            WHEN p.patient_id IS NULL
                THEN problem('unknown_patient', format('patient {} is not loaded (missing from the patients export, or quarantined)', t.patient_id))
        END AS patient_problem,
        date_problem('started_at', started_text, started_at, $now_local, p.birth_year) AS time_problem,
        -- A blank route or dose is a gap: the infusion loads and counts as an infusion; dose
        -- analyses leave it out and say how many they left out. A value that is there must be right.
        CASE
            WHEN route_text IS NULL THEN NULL
            WHEN route IS NULL THEN problem('unknown_code', format('route "{}" is not one of iv, im, intranasal', route_text))
        END AS route_problem,
        CASE
            WHEN dose_mg NOT BETWEEN $dose_mg_min AND $dose_mg_max
                THEN problem('dose_out_of_range', format('dose {} mg is outside {}-{} mg', dose_mg, $dose_mg_min, $dose_mg_max))
            WHEN dose_mg / weight_kg > $dose_mg_per_kg_max
                THEN problem('dose_out_of_range', format('dose {} mg for {} kg is {} mg/kg, above {} mg/kg',
                    dose_mg, weight_kg, round(dose_mg / weight_kg, 2), $dose_mg_per_kg_max))
        END AS dose_problem,
        CASE
            WHEN weight_kg NOT BETWEEN $weight_kg_min AND $weight_kg_max
                THEN problem('impossible_vitals', format('weight {} kg is outside {}-{} kg', weight_kg, $weight_kg_min, $weight_kg_max))
        END AS weight_problem,
        CASE
            WHEN duration_min NOT BETWEEN $duration_min_min AND $duration_min_max
                THEN problem('impossible_value', format('duration {} min is outside {}-{} min', duration_min, $duration_min_min, $duration_min_max))
        END AS duration_problem,
        -- Each vital sign, when present: a whole number inside its plausible range.
        CASE WHEN NOT is_whole(bp_pre_sys) OR NOT is_whole(bp_pre_dia) OR NOT is_whole(bp_peak_sys)
               OR NOT is_whole(bp_peak_dia) OR NOT is_whole(hr_pre) OR NOT is_whole(spo2_min) OR NOT is_whole(cadss_total)
            THEN problem('not_a_number', format('vital signs must be whole numbers, got BP {}/{} -> {}/{}, HR {}, SpO2 {}, CADSS {}',
                shown(bp_pre_sys), shown(bp_pre_dia), shown(bp_peak_sys), shown(bp_peak_dia), shown(hr_pre), shown(spo2_min), shown(cadss_total)))
        END AS vitals_number_problem,
        CASE WHEN bp_pre_sys NOT BETWEEN $systolic_min AND $systolic_max OR bp_peak_sys NOT BETWEEN $systolic_min AND $systolic_max
            THEN problem('impossible_vitals', format('systolic BP {} / peak {} is outside {}-{} mmHg',
                shown(bp_pre_sys), shown(bp_peak_sys), $systolic_min, $systolic_max))
        END AS systolic_problem,
        CASE WHEN bp_pre_dia NOT BETWEEN $diastolic_min AND $diastolic_max OR bp_peak_dia NOT BETWEEN $diastolic_min AND $diastolic_max
            THEN problem('impossible_vitals', format('diastolic BP {} / peak {} is outside {}-{} mmHg',
                shown(bp_pre_dia), shown(bp_peak_dia), $diastolic_min, $diastolic_max))
        END AS diastolic_problem,
        CASE WHEN bp_pre_dia >= bp_pre_sys OR bp_peak_dia >= bp_peak_sys
            THEN problem('impossible_vitals', format('diastolic BP is not below systolic ({}/{}, peak {}/{})',
                shown(bp_pre_sys), shown(bp_pre_dia), shown(bp_peak_sys), shown(bp_peak_dia)))
        END AS pulse_pressure_problem,
        CASE WHEN hr_pre NOT BETWEEN $heart_rate_min AND $heart_rate_max
            THEN problem('impossible_vitals', format('heart rate {} is outside {}-{} bpm', shown(hr_pre), $heart_rate_min, $heart_rate_max))
        END AS heart_rate_problem,
        CASE WHEN spo2_min NOT BETWEEN $spo2_min AND $spo2_max
            THEN problem('impossible_vitals', format('SpO2 {}% is outside {}-{}%', shown(spo2_min), $spo2_min, $spo2_max))
        END AS spo2_problem,
        CASE WHEN cadss_total NOT BETWEEN 0 AND $cadss_max
            THEN problem('impossible_value', format('CADSS total {} is outside 0-{}', shown(cadss_total), $cadss_max))
        END AS cadss_problem
    FROM typed AS t
    LEFT JOIN patients AS p ON p.patient_id = t.patient_id
),
final AS (
    -- one row per staged row: the typed values to load and the row's problems
    SELECT
        source_row,
        CASE
            WHEN coalesce(id_problem, patient_problem, time_problem, route_problem, dose_problem, weight_problem,
                          duration_problem, vitals_number_problem, systolic_problem, diastolic_problem,
                          pulse_pressure_problem, heart_rate_problem, spo2_problem, cadss_problem) IS NULL THEN []
            ELSE list_filter([id_problem, patient_problem, time_problem, route_problem, dose_problem, weight_problem,
                              duration_problem, vitals_number_problem, systolic_problem, diastolic_problem,
                              pulse_pressure_problem, heart_rate_problem, spo2_problem, cadss_problem],
                             lambda p: p IS NOT NULL)
        END                                    AS problems,
        session_id                             AS record_key,
        session_id,
        patient_id,
        started_at,
        route,
        dose_mg,
        weight_kg,
        duration_min,
        clinician,
        site,
        TRY_CAST(bp_pre_sys AS INTEGER)        AS bp_pre_sys,
        TRY_CAST(bp_pre_dia AS INTEGER)        AS bp_pre_dia,
        TRY_CAST(bp_peak_sys AS INTEGER)       AS bp_peak_sys,
        TRY_CAST(bp_peak_dia AS INTEGER)       AS bp_peak_dia,
        TRY_CAST(hr_pre AS INTEGER)            AS hr_pre,
        TRY_CAST(spo2_min AS INTEGER)          AS spo2_min,
        TRY_CAST(cadss_total AS INTEGER)       AS cadss_total,
        side_effects,
        adverse_event
    FROM checked
)
SELECT * FROM final
