-- De-identified infusions (docs/export.md): every column named (see patients.sql); ids by their
-- keyed hash, dates moved with the patient's, free text reduced to what the controlled lists
-- allow. {{clinician}} and {{site}} as in patients.sql; {{allowed_side_effects}} is the
-- [export] settings' controlled list of side effects, as SQL strings.
WITH final AS (
    SELECT
        x.pseudonym AS session_id,
        m.pseudonym AS patient_id,
        export_date(s.started_at, m.shift_days) AS started_at,
        s.session_number,
        s.route,
        s.dose_mg,
        s.weight_kg,
        s.dose_mg_per_kg,
        s.duration_min,
        {{clinician}}
        {{site}}
        s.bp_pre_sys,
        s.bp_pre_dia,
        s.bp_peak_sys,
        s.bp_peak_dia,
        s.hr_pre,
        s.spo2_min,
        s.cadss_total,
        -- The controlled list only: a free-typed entry becomes 'other'.
        list_transform(s.side_effects,
                       lambda e: CASE WHEN list_contains([{{allowed_side_effects}}], e) THEN e ELSE 'other' END) AS side_effects,
        coalesce(trim(s.adverse_event), '') <> '' AS adverse_event_recorded
    FROM session_numbers AS s
    JOIN export_patients AS m USING (patient_id)
    JOIN export_sessions AS x USING (session_id)
)
SELECT * FROM final ORDER BY patient_id, started_at, session_id
