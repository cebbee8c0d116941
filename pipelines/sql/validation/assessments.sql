-- Assessments export (one administration of a scale per row) -> scored, typed rows with the
-- problems that keep a row out. Scale facts come from the `instruments` registry table.
-- Parameters: $now_local, $clinic_tz, $max_days_before_intake.
--
-- Scoring (clinical reference, "Scales"): total = sum of the scored items when all are
-- answered; with up to `max_missing` unanswered, prorate: mean of answered items x number of
-- items, rounded half up (4.5 -> 5), computed exactly in integers as
-- (2 * sum * n_items + answered) // (2 * answered); with more missing, no valid total
-- (kept as incomplete, excluded from outcomes). A row with only a total is a total-only record.
--
-- Speed: checks use whole-list functions (list_count, list_min, list_max, list casts) that run
-- natively over millions of rows; the per-item wording of a problem is only built for failing
-- rows. Item answers that are not numbers at all never get here: the reader rejects them.
WITH typed AS (
    SELECT
        s.source_row,
        s.assessment_id                                AS assessment_id,
        s.patient_id                                   AS patient_id,
        s.instrument                                   AS instrument_text,
        s.administered_at                              AS administered_text,
        local_time(s.administered_at, $clinic_tz)      AS administered_at,
        s.session_id                                   AS session_id,
        -- item_1 ... item_20 as one list of numbers (the reader has parsed them; NULL = blank)
        list_value(*COLUMNS('^item_\d+$'))                   AS item_numbers,
        s.total                                        AS total_number
    FROM staged AS s
),
spellings AS (
    -- The few distinct spellings of the scale name, mapped once (not once per row):
    -- case, spaces and punctuation are ignored, so phq9, PHQ 9 and PHQ-9 are all PHQ-9.
    SELECT d.instrument_text, a.code
    FROM (SELECT DISTINCT instrument AS instrument_text FROM staged) AS d
    JOIN instrument_aliases AS a ON a.alias = regexp_replace(upper(d.instrument_text), '[^A-Z0-9]', '', 'g')
),
scored AS (
    SELECT
        t.*,
        i.code AS instrument,
        i.n_items, i.n_columns, i.item_min, i.item_max, i.max_missing, i.total_max, i.safety_item,
        t.item_numbers[1:i.n_columns]                        AS answers,      -- scored items + extra questions
        t.item_numbers[1:i.n_items]                          AS scored_items
    FROM typed AS t
    LEFT JOIN spellings AS sp ON sp.instrument_text = t.instrument_text
    LEFT JOIN instruments AS i ON i.code = sp.code
),
counted AS (
    SELECT *, list_count(scored_items) AS answered, list_sum(scored_items)::BIGINT AS item_sum FROM scored
),
computed AS (
    SELECT
        *,
        n_items - answered AS n_missing,
        CASE
            WHEN answered = 0 THEN NULL
            WHEN answered = n_items THEN item_sum
            WHEN n_items - answered <= max_missing THEN (2 * item_sum * n_items + answered) // (2 * answered)
        END AS item_total
    FROM counted
),
first_infusions AS (
    -- Stands in for a missing intake date (sessions load before assessments in every run).
    SELECT patient_id, min(started_at)::DATE AS first_infusion
    FROM sessions
    WHERE patient_id IN (SELECT patient_id FROM patients WHERE intake_date IS NULL)
    GROUP BY patient_id
),
checked AS (
    SELECT
        c.*,
        CASE
            WHEN c.patient_id IS NULL THEN problem('missing_value', 'patient_id is missing')
            WHEN p.patient_id IS NULL
                THEN problem('unknown_patient', format('patient {} is not loaded (missing from the patients export, or quarantined)', c.patient_id))
        END AS patient_problem,
        CASE
            WHEN instrument_text IS NULL THEN problem('missing_value', 'instrument is missing')
            WHEN instrument IS NULL
                THEN problem('unknown_instrument', format('instrument "{}" is not a known scale (PHQ-9, GAD-7, PAIN-NRS, PCL-5)', instrument_text))
        END AS instrument_problem,
        coalesce(
            date_problem('administered_at', administered_text, administered_at, $now_local, p.birth_year),
            CASE
                -- Without an intake date the first infusion stands in for it.
                WHEN administered_at::DATE < coalesce(p.intake_date, f.first_infusion) - to_days($max_days_before_intake)
                    THEN problem('before_intake', format('administered_at {} is more than {} days before {} on {}',
                        administered_at, $max_days_before_intake,
                        CASE WHEN p.intake_date IS NULL THEN 'the first infusion' ELSE 'intake' END,
                        coalesce(p.intake_date, f.first_infusion)))
            END
        ) AS time_problem,
        CASE
            WHEN c.session_id IS NOT NULL AND ses.session_id IS NULL
                THEN problem('unknown_session', format('session {} is not loaded (missing from the sessions export, or quarantined)', c.session_id))
            WHEN ses.patient_id <> c.patient_id
                THEN problem('session_of_other_patient', format('session {} belongs to patient {}, not {}', c.session_id, ses.patient_id, c.patient_id))
        END AS session_problem,
        -- Item answers: whole numbers, inside the scale's answer range, only the scale's items.
        -- (A whole number survives a round trip through an integer list unchanged.)
        CASE WHEN instrument IS NOT NULL AND item_numbers <> TRY_CAST(item_numbers AS BIGINT[])::DOUBLE[]
            THEN problem('item_not_whole', format('{} item answers must be whole numbers: {}', instrument, array_to_string(
                list_filter(list_transform(range(1, len(item_numbers) + 1),
                    lambda k: CASE WHEN NOT is_whole(item_numbers[k]) THEN format('item_{} = {}', k, shown(item_numbers[k])) END),
                lambda m: m IS NOT NULL), ', ')))
        END AS item_fraction_problem,
        CASE WHEN list_min(answers) < item_min OR list_max(answers) > item_max
            THEN problem('item_out_of_range', format('{} answers run {}-{}; out of range: {}', instrument, item_min, item_max, array_to_string(
                list_filter(list_transform(range(1, n_columns + 1),
                    lambda k: CASE WHEN answers[k] NOT BETWEEN item_min AND item_max THEN format('item_{} = {}', k, shown(answers[k])) END),
                lambda m: m IS NOT NULL), ', ')))
        END AS item_range_problem,
        CASE WHEN list_count(item_numbers) > list_count(answers)  -- answers beyond the scale's columns
            THEN problem('item_not_in_scale', format('{} has {} item columns, but later item columns are filled', instrument, n_columns))
        END AS item_extra_problem,
        -- The exported total: whole, in range, and equal to the items' total when both exist.
        CASE
            WHEN instrument IS NULL THEN NULL
            WHEN NOT is_whole(total_number)
                THEN problem('total_not_whole', format('total {} is not a whole number', shown(total_number)))
            WHEN total_number NOT BETWEEN 0 AND total_max
                THEN problem('total_out_of_range', format('{} total {} is outside 0-{}', instrument, shown(total_number), total_max))
            -- With prorating, a total equal to the plain sum of the answered items is the same answers, not a conflict.
            WHEN total_number <> item_total AND NOT (n_items > answered AND total_number = item_sum)
                THEN problem('total_mismatch', format('total {} disagrees with the items, which give {}', shown(total_number), item_total))
            WHEN answered = 0 AND total_number IS NULL
                THEN problem('missing_value', format('no {} item answers and no total', instrument))
        END AS total_problem
    FROM computed AS c
    LEFT JOIN patients AS p ON p.patient_id = c.patient_id
    LEFT JOIN sessions AS ses ON ses.session_id = c.session_id
    LEFT JOIN first_infusions AS f ON f.patient_id = c.patient_id
),
final AS (
    -- one row per staged row: the typed values to load and the row's problems
    SELECT
        source_row,
        CASE
            WHEN coalesce(patient_problem, instrument_problem, time_problem, session_problem,
                          item_fraction_problem, item_range_problem, item_extra_problem, total_problem) IS NULL THEN []
            ELSE list_filter([patient_problem, instrument_problem, time_problem, session_problem,
                              item_fraction_problem, item_range_problem, item_extra_problem, total_problem],
                             lambda p: p IS NOT NULL)
        END AS problems,
        coalesce(assessment_id, patient_id || '|' || instrument || '|' || strftime(administered_at, '%Y-%m-%dT%H:%M:%S')) AS record_key,
        assessment_id,
        patient_id,
        instrument,
        administered_at,
        session_id,
        TRY_CAST(answers AS TINYINT[])                           AS items,
        TRY_CAST(total_number AS INTEGER)                        AS total_reported,
        CASE WHEN answered = 0 THEN TRY_CAST(total_number AS INTEGER) ELSE item_total END AS total,
        CASE WHEN answered > 0 THEN n_missing END                AS n_missing,
        answered = n_items OR answered = 0                       AS complete,
        answered < n_items AND answered > 0 AND item_total IS NOT NULL AS prorated,
        answered = 0                                             AS total_only,
        -- Safety item (PHQ-9 item 9) answered above 0, whatever the total and even when the
        -- administration is incomplete; NULL when not answered (unknown, never negative).
        CASE WHEN safety_item IS NOT NULL THEN answers[safety_item] > 0 END AS item9_positive
    FROM checked
)
SELECT * FROM final
