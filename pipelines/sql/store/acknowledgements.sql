-- The store's acknowledgements (SQLite, pipelines/store/acknowledgements.py): one row per
-- acknowledgement of a worklist alert, never updated or deleted, so a patient's alert history is
-- the rows themselves. docs/data-dictionary.md describes the columns.
CREATE TABLE IF NOT EXISTS acknowledgements (
    ack_id           TEXT PRIMARY KEY NOT NULL,  -- a UUID made before the write (named in its audit entry)
    patient_id       TEXT NOT NULL,
    reason           TEXT NOT NULL,              -- a worklist reason column, e.g. item9_positive
    event_key        TEXT NOT NULL,              -- the event that raised it (analytics.alerts.alert_events)
    raised_at        TEXT,                       -- when that event happened (clinic local time), as the worklist said
    action           TEXT NOT NULL,              -- one of acknowledgements.ACTIONS
    note             TEXT NOT NULL DEFAULT '',
    acknowledged_by  TEXT NOT NULL,              -- the signed-in e-mail, or local:<user>
    role             TEXT NOT NULL,
    acknowledged_at  TEXT NOT NULL               -- UTC, ISO 8601 with microseconds
);

CREATE INDEX IF NOT EXISTS acknowledgements_by_alert ON acknowledgements (patient_id, reason, event_key);
