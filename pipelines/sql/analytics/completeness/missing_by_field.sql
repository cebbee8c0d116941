-- How many loaded records miss each field an analysis uses, of how many records of that kind.
-- The missing values are listed by analytics/completeness/missing_values.sql, included as the
-- step `missing` (cohorts.step); every field is listed, 0 where nothing is missing.
WITH {{missing}}
fields AS (
    SELECT * FROM (VALUES
        ('patients', 'primary_indication', 1), ('patients', 'intake_date', 2), ('patients', 'birth_year', 3),
        ('patients', 'sex', 4), ('patients', 'site', 5), ('patients', 'clinician', 6),
        ('sessions', 'route', 7), ('sessions', 'dose_mg', 8), ('sessions', 'weight_kg', 9)
    ) AS f (kind, field, field_order)
),
records AS (
    SELECT 'patients' AS kind, count(*) AS n_records FROM patients
    UNION ALL
    SELECT 'sessions' AS kind, count(*) AS n_records FROM sessions
),
counted AS (
    SELECT kind, field, count(*) AS n_missing, count(DISTINCT patient_id) AS n_patients
    FROM missing
    GROUP BY kind, field
),
final AS (
    SELECT
        f.kind,
        f.field,
        r.n_records,
        coalesce(c.n_missing, 0) AS n_missing,
        coalesce(c.n_patients, 0) AS n_patients,
        f.field_order
    FROM fields AS f
    JOIN records AS r ON r.kind = f.kind
    LEFT JOIN counted AS c ON c.kind = f.kind AND c.field = f.field
)
SELECT * FROM final
ORDER BY field_order
