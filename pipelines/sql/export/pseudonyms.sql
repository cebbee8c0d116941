-- Per patient: the pseudonym, the date shift, and the birth band. Built once (one HMAC per
-- patient, not per score row) from `patients`, so patients with scores but no infusion have one.
-- Likewise one HMAC per infusion and per staff or site name.
-- $shift_days, $as_of_year, $top_code_age, $band and {top_label} are filled in from the [export]
-- settings by export.py (whole numbers and the settings' own label).
CREATE OR REPLACE TEMP TABLE export_patients AS
WITH hashed AS (
    SELECT
        patient_id,
        birth_year,
        pseudonym('patient', patient_id) AS pseudonym,
        -- 32 bits of a separate keyed hash: magnitude 1..N days, and a sign; never 0, so no
        -- patient keeps real dates.
        ('0x' || left(pseudonym('date-shift', patient_id), 8))::UBIGINT AS draw
    FROM patients
),
final AS (
    SELECT
        patient_id,
        pseudonym,
        (CASE WHEN (draw // $shift_days) % 2 = 0 THEN 1 ELSE -1 END * (1 + draw % $shift_days))::INTEGER AS shift_days,
        -- Safe Harbor (b)(2)(i)(C): ages over 89, and any date element that shows one, are a
        -- single 90-or-older category; judged at the export year, the oldest age in the data.
        birth_year IS NOT NULL AND $as_of_year - birth_year >= $top_code_age AS top_coded,
        CASE
            WHEN birth_year IS NULL THEN NULL
            WHEN $as_of_year - birth_year >= $top_code_age THEN '{top_label}'
            ELSE (birth_year // $band * $band)::VARCHAR || '-' || (birth_year // $band * $band + $band - 1)::VARCHAR
        END AS birth_year_band
    FROM hashed
)
SELECT * FROM final;

-- Infusions and staff/site names, each hashed once: sessions and scores join these.
CREATE OR REPLACE TEMP TABLE export_sessions AS
WITH final AS (
    SELECT session_id, pseudonym('session', session_id) AS pseudonym FROM sessions
)
SELECT * FROM final;

CREATE OR REPLACE TEMP TABLE export_names AS
WITH names AS (
    SELECT 'clinician' AS domain, clinician AS value FROM patients
    UNION SELECT 'clinician', clinician FROM sessions
    UNION SELECT 'site', site FROM patients
    UNION SELECT 'site', site FROM sessions
),
final AS (
    -- Prefixed ("clinician-3f2a...") so a staff or site pseudonym is never mistaken for a patient's.
    SELECT domain, value, domain || '-' || pseudonym(domain, value) AS pseudonym FROM names WHERE value IS NOT NULL
)
SELECT * FROM final;
