-- One acknowledgement (acknowledgements.record), inside the transaction that also audits it.
INSERT INTO acknowledgements (ack_id, patient_id, reason, event_key, raised_at, action, note, acknowledged_by, role,
                              acknowledged_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
