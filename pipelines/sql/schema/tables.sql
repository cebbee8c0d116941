-- Tables of the outcomes database. Views over them live in views/outcomes.sql.
-- Times are clinic local time (TIMESTAMP without zone): offsets in the exports are converted
-- at ingest, because the clinical rules (baseline window, "on or after the 6th session") are
-- about the clinic's calendar.
-- Keys are enforced by the loader (one row per key, replaced rows kept in *_history) rather
-- than by PRIMARY KEY indexes, which would slow a bulk load of millions of rows.

CREATE SEQUENCE IF NOT EXISTS ingest_run_ids START 1;

CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id       BIGINT,
    started_at   TIMESTAMP,        -- UTC
    finished_at  TIMESTAMP,        -- UTC
    status       VARCHAR,          -- 'completed' (failed runs write nothing)
    rows_in      BIGINT,
    inserted     BIGINT,
    updated      BIGINT,
    unchanged    BIGINT,
    quarantined  BIGINT,
    files        STRUCT(
        path VARCHAR, sha256 VARCHAR, kind VARCHAR, rows_in BIGINT, inserted BIGINT,
        updated BIGINT, unchanged BIGINT, quarantined BIGINT, seconds DOUBLE
    )[],
    -- Columns added later come last (a database made by an older version gets them from
    -- db.init_db's ALTER TABLE, at the same place).
    deleted      BIGINT,           -- stored rows absent from a full export, moved to *_history
    full_export  VARCHAR[]         -- the kinds the run was the whole truth for (NULL: not a full export)
);

CREATE TABLE IF NOT EXISTS patients (
    patient_id          VARCHAR,   -- text: leading zeros are part of the id
    birth_year          INTEGER,
    sex                 VARCHAR,   -- female | male | other | unknown
    primary_indication  VARCHAR,   -- depression | bipolar_depression | anxiety | ptsd | chronic_pain | other
    site                VARCHAR,
    clinician           VARCHAR,
    intake_date         DATE,
    contraindications   VARCHAR[],
    discharge_date      DATE,      -- optional: the course ended (blank = not discharged); docs/analytics.md, "Treatment status"
    source_file         VARCHAR,
    source_row          BIGINT,
    run_id              BIGINT
);

CREATE TABLE IF NOT EXISTS sessions (
    session_id     VARCHAR,
    patient_id     VARCHAR,
    started_at     TIMESTAMP,
    route          VARCHAR,        -- iv | im | intranasal
    dose_mg        DOUBLE,
    weight_kg      DOUBLE,
    duration_min   DOUBLE,
    clinician      VARCHAR,
    site           VARCHAR,
    bp_pre_sys     INTEGER,
    bp_pre_dia     INTEGER,
    bp_peak_sys    INTEGER,
    bp_peak_dia    INTEGER,
    hr_pre         INTEGER,
    spo2_min       INTEGER,
    cadss_total    INTEGER,
    side_effects   VARCHAR[],
    adverse_event  VARCHAR,
    source_file    VARCHAR,
    source_row     BIGINT,
    run_id         BIGINT
);

CREATE TABLE IF NOT EXISTS assessments (
    assessment_key   VARCHAR,      -- assessment_id, or patient|instrument|time when the export has none
    assessment_id    VARCHAR,
    patient_id       VARCHAR,
    instrument       VARCHAR,      -- canonical code from the instrument registry
    administered_at  TIMESTAMP,
    session_id       VARCHAR,
    items            TINYINT[],    -- answers in item order (NULL = not answered), extra questions after
    total_reported   INTEGER,      -- the total as exported, if any
    total            INTEGER,      -- the scored total; NULL when too many items are missing
    n_missing        INTEGER,      -- scored items not answered
    complete         BOOLEAN,      -- every scored item answered (or a total-only record)
    prorated         BOOLEAN,      -- total prorated from the answered items
    total_only       BOOLEAN,      -- only a total was exported
    item9_positive   BOOLEAN,      -- PHQ-9 item 9 above 0; NULL when unanswered or another scale
    source_file      VARCHAR,
    source_row       BIGINT,
    run_id           BIGINT
);

-- Planned infusions (appointments.csv, FHIR Appointment): never read by the outcome views, so a
-- booking cannot count as an infusion. docs/import-format.md, "appointments.csv".
CREATE TABLE IF NOT EXISTS appointments (
    appointment_id VARCHAR,
    patient_id     VARCHAR,
    planned_at     TIMESTAMP,      -- clinic local time
    status         VARCHAR,        -- booked | pending | proposed | arrived | fulfilled | cancelled | noshow
    site           VARCHAR,
    clinician      VARCHAR,
    source_file    VARCHAR,
    source_row     BIGINT,
    run_id         BIGINT
);

CREATE TABLE IF NOT EXISTS quarantine (
    run_id       BIGINT,           -- the run that first met this row
    source_file  VARCHAR,
    file_sha256  VARCHAR,
    kind         VARCHAR,          -- patients | sessions | assessments
    source_row   BIGINT,           -- 1-based data row (the header is row 0)
    record_key   VARCHAR,
    rules        VARCHAR[],        -- machine-readable rule names, e.g. item_out_of_range
    reason       VARCHAR,          -- the same in clinical words
    raw          VARCHAR           -- the row as read (JSON of the exported fields)
);
