-- De-identified patients (docs/export.md): one row per patient of `patient_cohorts`, under the
-- patient's pseudonym. Every column is named: a column added to a view later is not exported
-- until someone decides here how to treat it (`SELECT *` would let a new date or free-text
-- column through). export_date() moves a date by the patient's shift or cuts it to its month;
-- {{site}} and {{clinician}} are the name's pseudonym (with a trailing comma) or empty when the
-- [export] settings drop it.
WITH final AS (
    SELECT
        m.pseudonym AS patient_id,
        {{site}}
        {{clinician}}
        c.primary_indication,
        c.sex,
        m.birth_year_band,
        CASE WHEN NOT m.top_coded THEN c.age_at_start END AS age_at_start,
        c.age_band,
        c.route,
        c.mean_dose_mg_per_kg,
        c.dose_band,
        export_date(c.first_session_at, m.shift_days) AS first_session_at,
        export_date(c.last_session_at, m.shift_days) AS last_session_at,
        c.n_sessions,
        -- From the exported (moved) start, so the real month does not undo the shift.
        date_trunc('month', export_date(c.first_session_at, m.shift_days))::DATE AS start_month
    FROM patient_cohorts AS c
    JOIN export_patients AS m USING (patient_id)
)
SELECT * FROM final ORDER BY patient_id
