-- Per patient, in one pass over every PHQ-9 administration: the item 9 picture the safety page
-- and the worklist share (at the latest PHQ-9 and ever), and the latest valid PHQ-9 score.
-- Incomplete administrations count, because item 9 is a safety flag whatever the total.
--
-- "At the latest PHQ-9", when several PHQ-9s share the latest time, the most concerning answer
-- wins: for item 9 positive, then unknown, then negative; for the score the higher total. Each
-- ordering key packs the time and that preference into one number so this stays a plain hash
-- aggregate (a tuple key costs several times more); arg_max_null keeps a NULL item 9 at the chosen row.
CREATE OR REPLACE VIEW phq9_safety AS
WITH phq9_administrations AS (
    SELECT
        a.patient_id,
        a.administered_at,
        a.item9_positive,
        a.total,
        epoch_us(a.administered_at) * 4
            + CASE WHEN a.item9_positive THEN 2 WHEN a.item9_positive IS NULL THEN 1 ELSE 0 END AS item9_order,
        epoch_us(a.administered_at) * 32 + a.total AS score_order
    FROM assessments AS a
    WHERE a.instrument = 'PHQ-9'
),
final AS (
    SELECT
        patient_id,
        count(*) AS n_phq9,
        max(administered_at) AS latest_phq9_at,
        arg_max_null(item9_positive, item9_order) AS item9_positive_latest,
        -- bool_or skips unknowns: TRUE if any positive, FALSE if none positive among the
        -- answered ones, NULL if item 9 was never answered.
        bool_or(item9_positive) AS item9_positive_ever,
        min(administered_at) FILTER (WHERE item9_positive) AS first_positive_at,
        max(administered_at) FILTER (WHERE item9_positive) AS last_positive_at,
        count(*) FILTER (WHERE item9_positive) AS n_positive,
        count(*) FILTER (WHERE item9_positive IS NULL) AS n_unknown,
        max(administered_at) FILTER (WHERE total IS NOT NULL) AS latest_score_at,
        arg_max(total, score_order) AS latest_score
    FROM phq9_administrations
    GROUP BY patient_id
),
worded AS (
    -- item 9 at the latest PHQ-9 in words; unanswered is 'unknown', never 'negative'
    SELECT
        *,
        CASE
            WHEN item9_positive_latest THEN 'positive'
            WHEN NOT item9_positive_latest THEN 'negative'
            ELSE 'unknown'
        END AS item9_status_latest
    FROM final
)
SELECT * FROM worded;


-- Per patient: the most recent infusion and its peak blood pressure. Two infusions at the
-- same latest time report the higher peak of each, so an excursion at either is not missed
-- (safety first).
CREATE OR REPLACE VIEW last_infusions AS
WITH latest AS (
    SELECT patient_id, max(started_at) AS started_at FROM sessions GROUP BY patient_id
),
final AS (
    SELECT l.patient_id, l.started_at, max(s.bp_peak_sys) AS bp_peak_sys, max(s.bp_peak_dia) AS bp_peak_dia
    FROM latest AS l
    JOIN sessions AS s ON s.patient_id = l.patient_id AND s.started_at = l.started_at
    GROUP BY l.patient_id, l.started_at
)
SELECT * FROM final;
