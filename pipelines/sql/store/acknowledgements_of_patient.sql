-- Every acknowledgement of one patient's alerts, newest first (acknowledgements.for_patient).
WITH of_patient AS (
    SELECT ack_id, patient_id, reason, event_key, raised_at, action, note, acknowledged_by, role, acknowledged_at
    FROM acknowledgements
    WHERE patient_id = ?
),
final AS (
    SELECT * FROM of_patient
)
SELECT * FROM final
ORDER BY acknowledged_at DESC, ack_id DESC
