-- Full export: the stored appointments whose key no file of the run sent (temp table
-- `export_keys`). Nothing refers to an appointment, so every one left out is deleted.
CREATE OR REPLACE TEMP TABLE absent AS
WITH sent AS (
    SELECT record_key FROM export_keys WHERE kind = 'appointments'
),
missing AS (
    SELECT a.appointment_id AS record_key
    FROM appointments AS a
    ANTI JOIN sent AS e ON e.record_key = a.appointment_id
),
final AS (
    SELECT record_key, false AS still_referenced
    FROM missing
)
SELECT * FROM final
