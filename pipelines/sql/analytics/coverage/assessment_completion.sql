-- Of a cohort's infusions, how many were preceded by a valid score of the scale that covers
-- them (coverage/covering_scores.sql, the step `covering`; parameter: the scale).
WITH {{cohort}},
{{covering}}
covered_early AS (
    -- Which of infusions 1..64 each patient has covered, as the bits of one integer: several
    -- scores in one gap set the same bit, so they count once. (A per-patient bit mask is a plain
    -- hash aggregate; a DISTINCT over a million (patient, infusion) pairs costs twice as much.)
    SELECT patient_id, bit_or(1::UBIGINT << sessions_before::UBIGINT) AS mask
    FROM covering
    WHERE sessions_before < 64
    GROUP BY patient_id
),
covered_late AS (
    -- infusions 65 and later, rare: counted pair by pair
    SELECT DISTINCT patient_id, sessions_before FROM covering WHERE sessions_before >= 64
),
counts AS (
    -- A score after the patient's last infusion (sessions_before = n_sessions) covers an
    -- infusion that has not happened: masked out.
    SELECT sum(bit_count(CASE WHEN c.n_sessions >= 64 THEN e.mask
                              ELSE e.mask & ((1::UBIGINT << c.n_sessions::UBIGINT) - 1::UBIGINT) END)) AS n
    FROM covered_early AS e
    JOIN cohort AS c ON c.patient_id = e.patient_id
    UNION ALL
    SELECT count(*) AS n
    FROM covered_late AS l
    JOIN cohort AS c ON c.patient_id = l.patient_id
    WHERE l.sessions_before < c.n_sessions
),
final AS (
    -- the denominator from the cohort's infusion counts rather than a million infusion rows
    SELECT
        (SELECT coalesce(sum(n_sessions), 0) FROM cohort)::BIGINT AS n_infusions,
        (SELECT coalesce(sum(n), 0) FROM counts)::BIGINT AS n_with_score
)
SELECT * FROM final
