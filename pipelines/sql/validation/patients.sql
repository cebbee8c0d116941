-- Patients export -> typed rows, each with the list of problems that keep it out of `patients`.
-- Parameters: $now_local (run start, clinic local time), $earliest_birth_year.
WITH typed AS (
    SELECT
        s.source_row,
        s.patient_id                                   AS patient_id,
        s.birth_year                                   AS birth_year_text,
        number(s.birth_year)                           AS birth_year_number,
        s.sex                                          AS sex_text,
        CASE lower(s.sex)
            WHEN 'female' THEN 'female' WHEN 'f' THEN 'female' WHEN 'woman' THEN 'female'
            WHEN 'male' THEN 'male' WHEN 'm' THEN 'male' WHEN 'man' THEN 'male'
            WHEN 'other' THEN 'other' WHEN 'x' THEN 'other' WHEN 'non-binary' THEN 'other'
            WHEN 'nonbinary' THEN 'other'
            WHEN 'unknown' THEN 'unknown' WHEN 'u' THEN 'unknown'
        END                                                  AS sex,
        s.primary_indication                           AS indication_text,
        regexp_replace(lower(s.primary_indication), '[^a-z]+', '_', 'g') AS indication,
        s.site                                         AS site,
        s.clinician                                    AS clinician,
        s.intake_date                                  AS intake_text,
        TRY_CAST(s.intake_date AS DATE)                AS intake_date,
        list_filter(list_transform(string_split(coalesce(s.contraindications, ''), ';'), lambda c: trim(c)),
                    lambda c: c <> '')                       AS contraindications,
        s.discharge_date                               AS discharge_text,
        TRY_CAST(s.discharge_date AS DATE)             AS discharge_date
    FROM staged AS s
),
checked AS (
    SELECT
        *,
        list_filter([
            CASE WHEN patient_id IS NULL THEN problem('missing_value', 'patient_id is missing') END,
            -- Only patient_id is required. A blank birth year, sex, indication, site, clinician or
            -- intake date is a gap, not an error: the patient loads with it unknown and the gap is
            -- listed on the Data quality page (docs/import-format.md, "Required and optional fields").
            CASE
                WHEN birth_year_text IS NULL THEN NULL
                WHEN birth_year_number IS NULL OR NOT is_whole(birth_year_number)
                    THEN problem('not_a_number', format('birth_year "{}" is not a year', birth_year_text))
                WHEN birth_year_number < $earliest_birth_year OR birth_year_number > year($now_local)
                    THEN problem('impossible_value', format('birth_year {} is not a plausible year of birth', birth_year_text))
            END,
            CASE WHEN sex IS NULL AND sex_text IS NOT NULL
                THEN problem('unknown_code', format('sex "{}" is not one of female, male, other, unknown', sex_text)) END,
            CASE
                WHEN indication_text IS NULL THEN NULL
                WHEN indication NOT IN ('depression', 'bipolar_depression', 'anxiety', 'ptsd', 'chronic_pain', 'other')
                    THEN problem('unknown_code', format('primary_indication "{}" is not one of depression, '
                        'bipolar_depression, anxiety, ptsd, chronic_pain, other', indication_text))
            END,
            CASE WHEN intake_text IS NOT NULL
                THEN date_problem('intake_date', intake_text, intake_date, $now_local, birth_year_number) END,
            -- Discharge is optional (blank = still in the clinic's care); a date must be real,
            -- not in the future, and not before intake (docs/import-format.md).
            CASE
                WHEN discharge_text IS NULL THEN NULL
                WHEN discharge_date IS NULL OR discharge_date > $now_local
                    THEN date_problem('discharge_date', discharge_text, discharge_date, $now_local, birth_year_number)
                WHEN discharge_date < intake_date
                    THEN problem('impossible_value', format('discharge_date {} is before intake_date {}',
                                                           discharge_date, intake_date))
            END
        ], lambda p: p IS NOT NULL) AS problems
    FROM typed
),
final AS (
    -- one row per staged row: the typed values to load and the row's problems
    SELECT
        source_row,
        problems,
        patient_id                                   AS record_key,
        patient_id,
        TRY_CAST(birth_year_number AS INTEGER)       AS birth_year,
        coalesce(sex, 'unknown')                     AS sex,
        indication                                   AS primary_indication,
        site,
        clinician,
        intake_date,
        contraindications,
        discharge_date
    FROM checked
)
SELECT * FROM final
