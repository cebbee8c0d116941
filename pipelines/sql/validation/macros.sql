-- Parsing helpers shared by the validation queries (created as temp macros for each ingest).
-- Readers deliver text already trimmed, with blank cells as NULL.

-- An ISO 8601 date or date-time in clinic local time. Text with an offset (Z, +01:00, -0500)
-- is converted to the clinic's zone first; text without one already is clinic local time.
-- (A plain cast to TIMESTAMP would silently drop the offset.) An offset or zone is a sign
-- after the date part, or a letter at the end (Z, UTC, EST, America/Chicago); testing that
-- with string functions rather than a regular expression keeps the common case, no offset,
-- at the speed of a plain cast.
CREATE OR REPLACE TEMP MACRO local_time(text, clinic_tz) AS
    CASE
        WHEN length(text) > 19  -- longer than YYYY-MM-DDTHH:MM:SS, so there may be more
             AND (upper(text[-1]) BETWEEN 'A' AND 'Z' OR contains(text[11:], '+') OR contains(text[11:], '-'))
            THEN timezone(clinic_tz, TRY_CAST(regexp_replace(text, 'z$', 'Z') AS TIMESTAMPTZ))
        ELSE TRY_CAST(text AS TIMESTAMP)
    END;

-- Looks like an ISO date (YYYY-MM-DD...): a failed parse then means an impossible date
-- such as 2025-02-30 rather than text in another format.
CREATE OR REPLACE TEMP MACRO iso_shaped(text) AS regexp_matches(text, '^\d{4}-\d{1,2}-\d{1,2}');

-- A finite number, or NULL. (TRY_CAST to an integer type would round 1.5 to 2, so numbers
-- are read as DOUBLE and checked for being whole separately.)
CREATE OR REPLACE TEMP MACRO number(text) AS
    CASE WHEN isfinite(TRY_CAST(text AS DOUBLE)) THEN TRY_CAST(text AS DOUBLE) END;

CREATE OR REPLACE TEMP MACRO is_whole(x) AS x = floor(x);

-- A problem found in a row: the rule's name (for counting) and a message in clinical words.
CREATE OR REPLACE TEMP MACRO problem(rule, message) AS {'rule': rule, 'message': message};

-- A number for a message: 4 rather than 4.0, 1.5 as it is.
CREATE OR REPLACE TEMP MACRO shown(x) AS CASE WHEN is_whole(x) THEN x::BIGINT::VARCHAR ELSE x::VARCHAR END;

-- The checks every date in an export gets, in order: present, a real date in ISO 8601,
-- not in the future, not before the patient's birth year. NULL when the date is fine.
CREATE OR REPLACE TEMP MACRO date_problem(column_name, text, parsed, now_local, birth_year) AS
    CASE
        WHEN text IS NULL THEN problem('missing_value', column_name || ' is missing')
        WHEN parsed IS NULL AND iso_shaped(text)
            THEN problem('impossible_date', format('{} "{}" is not a real date', column_name, text))
        WHEN parsed IS NULL
            THEN problem('unparseable_date', format('{} "{}" is not an ISO 8601 date or date-time', column_name, text))
        WHEN parsed > now_local
            THEN problem('future_date', format('{} {} is in the future', column_name, parsed))
        WHEN year(parsed) < birth_year
            THEN problem('before_birth', format('{} {} is before birth year {}', column_name, parsed, birth_year))
    END;
