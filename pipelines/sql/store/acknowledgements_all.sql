-- Every acknowledgement, oldest first (acknowledgements.all_rows: the checks of the tests and of
-- `reconcile`).
WITH every_row AS (
    SELECT ack_id, patient_id, reason, event_key, raised_at, action, note, acknowledged_by, role, acknowledged_at
    FROM acknowledgements
),
final AS (
    SELECT * FROM every_row
)
SELECT * FROM final
ORDER BY acknowledged_at, ack_id
