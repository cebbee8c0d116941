-- The latest acknowledgement of each alert (patient, reason, event): what closes it on the
-- worklist (acknowledgements.latest). Later acknowledgements of the same event are kept in the
-- history; the latest one is shown.
WITH ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY patient_id, reason, event_key
                           ORDER BY acknowledged_at DESC, ack_id DESC) AS newest_first
    FROM acknowledgements
),
final AS (
    SELECT ack_id, patient_id, reason, event_key, raised_at, action, note, acknowledged_by, role, acknowledged_at
    FROM ranked
    WHERE newest_first = 1
)
SELECT * FROM final
