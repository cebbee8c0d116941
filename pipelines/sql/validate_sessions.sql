-- Sessions export (one infusion per row) -> typed rows with the problems that keep a row out.
-- Parameters: $now_local, $clinic_tz and the plausible ranges from settings ($dose_mg_min ...).
WITH typed AS (
    SELECT
        s AS raw_row,
        s.source_row,
        cell(s.session_id)                                   AS session_id,
        cell(s.patient_id)                                   AS patient_id,
        cell(s.started_at)                                   AS started_text,
        local_time(cell(s.started_at), $clinic_tz)           AS started_at,
        cell(s.route)                                        AS route_text,
        CASE regexp_replace(lower(cell(s.route)), '[^a-z]', '', 'g')
            WHEN 'iv' THEN 'iv' WHEN 'intravenous' THEN 'iv'
            WHEN 'im' THEN 'im' WHEN 'intramuscular' THEN 'im'
            WHEN 'intranasal' THEN 'intranasal' WHEN 'in' THEN 'intranasal' WHEN 'nasal' THEN 'intranasal'
        END                                                  AS route,
        cell(s.dose_mg) AS dose_text,         number(cell(s.dose_mg))      AS dose_mg,
        cell(s.weight_kg) AS weight_text,     number(cell(s.weight_kg))    AS weight_kg,
        cell(s.duration_min) AS duration_text, number(cell(s.duration_min)) AS duration_min,
        cell(s.clinician)                                    AS clinician,
        cell(s.site)                                         AS site,
        -- Vitals: [systolic pre, diastolic pre, systolic peak, diastolic peak, heart rate, SpO2, CADSS]
        [cell(s.bp_pre_sys), cell(s.bp_pre_dia), cell(s.bp_peak_sys), cell(s.bp_peak_dia),
         cell(s.hr_pre), cell(s.spo2_min), cell(s.cadss_total)]             AS vitals_text,
        list_filter(list_transform(string_split(coalesce(s.side_effects, ''), ';'), lambda e: lower(trim(e))),
                    lambda e: e <> '')                       AS side_effects,
        cell(s.adverse_event)                                AS adverse_event
    FROM staged AS s
),
with_vitals AS (
    SELECT *, list_transform(vitals_text, lambda v: number(v)) AS vitals FROM typed
),
checked AS (
    SELECT
        v.*,
        p.birth_year,
        list_filter([
            CASE WHEN v.session_id IS NULL THEN problem('missing_value', 'session_id is missing') END,
            CASE
                WHEN v.patient_id IS NULL THEN problem('missing_value', 'patient_id is missing')
                WHEN p.patient_id IS NULL
                    THEN problem('unknown_patient', format('patient {} is not in the patients export', v.patient_id))
            END,
            CASE
                WHEN started_text IS NULL THEN problem('missing_value', 'started_at is missing')
                WHEN started_at IS NULL AND iso_shaped(started_text)
                    THEN problem('impossible_date', format('started_at "{}" is not a real date and time', started_text))
                WHEN started_at IS NULL
                    THEN problem('unparseable_date', format('started_at "{}" is not an ISO 8601 date-time', started_text))
                WHEN started_at > $now_local
                    THEN problem('future_date', format('started_at {} is in the future', started_at))
                WHEN year(started_at) < p.birth_year
                    THEN problem('before_birth', format('started_at {} is before birth year {}', started_at, p.birth_year))
            END,
            CASE
                WHEN route_text IS NULL THEN problem('missing_value', 'route is missing')
                WHEN route IS NULL
                    THEN problem('unknown_code', format('route "{}" is not one of iv, im, intranasal', route_text))
            END,
            CASE
                WHEN dose_text IS NULL THEN problem('missing_value', 'dose_mg is missing')
                WHEN dose_mg IS NULL THEN problem('not_a_number', format('dose_mg "{}" is not a number', dose_text))
                WHEN dose_mg NOT BETWEEN $dose_mg_min AND $dose_mg_max
                    THEN problem('dose_out_of_range', format('dose {} mg is outside {}-{} mg', dose_mg, $dose_mg_min, $dose_mg_max))
                WHEN dose_mg / weight_kg > $dose_mg_per_kg_max
                    THEN problem('dose_out_of_range', format('dose {} mg for {} kg is {} mg/kg, above {} mg/kg',
                        dose_mg, weight_kg, round(dose_mg / weight_kg, 2), $dose_mg_per_kg_max))
            END,
            CASE
                WHEN weight_text IS NOT NULL AND weight_kg IS NULL
                    THEN problem('not_a_number', format('weight_kg "{}" is not a number', weight_text))
                WHEN weight_kg NOT BETWEEN $weight_kg_min AND $weight_kg_max
                    THEN problem('impossible_vitals', format('weight {} kg is outside {}-{} kg', weight_kg, $weight_kg_min, $weight_kg_max))
            END,
            CASE
                WHEN duration_text IS NOT NULL AND duration_min IS NULL
                    THEN problem('not_a_number', format('duration_min "{}" is not a number', duration_text))
                WHEN duration_min NOT BETWEEN $duration_min_min AND $duration_min_max
                    THEN problem('impossible_value', format('duration {} min is outside {}-{} min', duration_min, $duration_min_min, $duration_min_max))
            END,
            -- Each vital sign: present means a whole number inside its plausible range.
            CASE WHEN len(list_filter(list_zip(vitals_text, vitals), lambda tv: tv[1] IS NOT NULL AND (tv[2] IS NULL OR NOT is_whole(tv[2])))) > 0
                THEN problem('not_a_number', format('vital signs must be whole numbers, got BP {}/{} -> {}/{}, HR {}, SpO2 {}, CADSS {}',
                    vitals_text[1], vitals_text[2], vitals_text[3], vitals_text[4], vitals_text[5], vitals_text[6], vitals_text[7])) END,
            CASE WHEN vitals[1] NOT BETWEEN $systolic_min AND $systolic_max OR vitals[3] NOT BETWEEN $systolic_min AND $systolic_max
                THEN problem('impossible_vitals', format('systolic BP {} / peak {} is outside {}-{} mmHg',
                    vitals_text[1], vitals_text[3], $systolic_min, $systolic_max)) END,
            CASE WHEN vitals[2] NOT BETWEEN $diastolic_min AND $diastolic_max OR vitals[4] NOT BETWEEN $diastolic_min AND $diastolic_max
                THEN problem('impossible_vitals', format('diastolic BP {} / peak {} is outside {}-{} mmHg',
                    vitals_text[2], vitals_text[4], $diastolic_min, $diastolic_max)) END,
            CASE WHEN vitals[2] >= vitals[1] OR vitals[4] >= vitals[3]
                THEN problem('impossible_vitals', format('diastolic BP is not below systolic ({}/{}, peak {}/{})',
                    vitals_text[1], vitals_text[2], vitals_text[3], vitals_text[4])) END,
            CASE WHEN vitals[5] NOT BETWEEN $heart_rate_min AND $heart_rate_max
                THEN problem('impossible_vitals', format('heart rate {} is outside {}-{} bpm', vitals_text[5], $heart_rate_min, $heart_rate_max)) END,
            CASE WHEN vitals[6] NOT BETWEEN $spo2_min AND $spo2_max
                THEN problem('impossible_vitals', format('SpO2 {}% is outside {}-{}%', vitals_text[6], $spo2_min, $spo2_max)) END,
            CASE WHEN vitals[7] NOT BETWEEN 0 AND $cadss_max
                THEN problem('impossible_value', format('CADSS total {} is outside 0-{}', vitals_text[7], $cadss_max)) END
        ], lambda p: p IS NOT NULL) AS found
    FROM with_vitals AS v
    LEFT JOIN patients AS p ON p.patient_id = v.patient_id
)
SELECT
    source_row,
    raw_row,
    found,
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
    TRY_CAST(vitals[1] AS INTEGER)         AS bp_pre_sys,
    TRY_CAST(vitals[2] AS INTEGER)         AS bp_pre_dia,
    TRY_CAST(vitals[3] AS INTEGER)         AS bp_peak_sys,
    TRY_CAST(vitals[4] AS INTEGER)         AS bp_peak_dia,
    TRY_CAST(vitals[5] AS INTEGER)         AS hr_pre,
    TRY_CAST(vitals[6] AS INTEGER)         AS spo2_min,
    TRY_CAST(vitals[7] AS INTEGER)         AS cadss_total,
    side_effects,
    adverse_event,
    hash(session_id, patient_id, started_at, route, dose_mg, weight_kg, duration_min, clinician, site,
         vitals, side_effects, adverse_event) AS row_hash
FROM checked
