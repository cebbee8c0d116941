-- Loaded records with a value missing, one row per record and missing field (issue 14:
-- "quarantine what is wrong, load what is incomplete"; docs/import-format.md, "Required and
-- optional values"). Only the fields an analysis uses are listed: a blank adverse event or
-- side-effect list means "none", not "unknown", and vitals are optional by design.
WITH patient_gaps AS (
    SELECT
        'patients' AS kind,
        p.patient_id AS record_key,
        p.patient_id,
        gap.field,
        p.source_file,
        p.source_row
    FROM patients AS p
    CROSS JOIN LATERAL (
        SELECT unnest([
            CASE WHEN p.primary_indication IS NULL THEN 'primary_indication' END,
            CASE WHEN p.intake_date IS NULL THEN 'intake_date' END,
            CASE WHEN p.birth_year IS NULL THEN 'birth_year' END,
            CASE WHEN p.sex IS NULL OR p.sex = 'unknown' THEN 'sex' END,
            CASE WHEN p.site IS NULL THEN 'site' END,
            CASE WHEN p.clinician IS NULL THEN 'clinician' END
        ]) AS field
    ) AS gap
    WHERE gap.field IS NOT NULL
),
session_gaps AS (
    SELECT
        'sessions' AS kind,
        s.session_id AS record_key,
        s.patient_id,
        gap.field,
        s.source_file,
        s.source_row
    FROM sessions AS s
    CROSS JOIN LATERAL (
        SELECT unnest([
            CASE WHEN s.route IS NULL THEN 'route' END,
            CASE WHEN s.dose_mg IS NULL THEN 'dose_mg' END,
            -- mg/kg needs the weight: without it the infusion is left out of dose per kg
            CASE WHEN s.weight_kg IS NULL THEN 'weight_kg' END
        ]) AS field
    ) AS gap
    WHERE gap.field IS NOT NULL
),
final AS (
    SELECT * FROM patient_gaps
    UNION ALL
    SELECT * FROM session_gaps
)
SELECT * FROM final
ORDER BY kind, field, patient_id, record_key
