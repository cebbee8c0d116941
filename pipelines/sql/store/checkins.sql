-- The check-in tables of the dashboard's own store (SQLite, pipelines/store/connection.py).
-- Written so DuckDB's parser reads them too (tests/test_sql_style.py): no AUTOINCREMENT, which
-- is not needed because rows are never deleted, so an INTEGER PRIMARY KEY is never reused.

-- A one-time code a clinician opened for one patient. Only the SHA-256 of the code is kept: a
-- copy of the store does not let anyone start a check-in (the code is 128 random bits).
CREATE TABLE IF NOT EXISTS checkin_codes (
    id          INTEGER PRIMARY KEY,
    code_sha256 TEXT NOT NULL UNIQUE,
    patient_id  TEXT NOT NULL,
    created_by  TEXT NOT NULL,         -- the staff member (e-mail, or local:<user>)
    created_at  TEXT NOT NULL,         -- UTC, ISO 8601
    expires_at  TEXT NOT NULL,         -- UTC, ISO 8601
    used_at     TEXT                   -- UTC, when the check-in saved with it; NULL: not used
);

-- One scale a patient answered in a check-in: one row per scale, so a row is one assessment
-- (its id is the assessment's source_row; `check-in-<id>` its assessment_id).
CREATE TABLE IF NOT EXISTS checkin_answers (
    id              INTEGER PRIMARY KEY,
    code_id         INTEGER NOT NULL REFERENCES checkin_codes (id),
    patient_id      TEXT NOT NULL,
    instrument      TEXT NOT NULL,     -- registry code (PHQ-9, GAD-7, PAIN-NRS, PCL-5)
    items           TEXT NOT NULL,     -- JSON list, item order, extra questions after; null = skipped
    skipped         TEXT NOT NULL,     -- JSON list of the item numbers the patient chose to skip
    administered_at TEXT NOT NULL,     -- UTC, ISO 8601 with +00:00 (submitted)
    published_run   INTEGER,           -- the ingest run that first loaded it; NULL: not yet published
    published_at    TEXT               -- UTC, when that run's database was swapped in
);

CREATE INDEX IF NOT EXISTS checkin_answers_unpublished ON checkin_answers (published_run);
