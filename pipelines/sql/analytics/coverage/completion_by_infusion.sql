-- Assessment completion by infusion number (coverage.completion_by_infusion): for each infusion
-- number, the infusions given and those covered by a valid score (coverage/covering_scores.sql,
-- the step `covering`). Parameters after the cohort's: the scale, then max_infusion three times.
WITH {{cohort}},
{{covering}}
infusions AS (
    -- Infusions 1..max_infusion of the cohort's patients, numbered in their course.
    SELECT sn.patient_id, sn.session_number AS infusion
    FROM session_numbers AS sn
    {{cohort_join}}
    WHERE sn.session_number <= ?
),
scored_before AS (
    -- Several scores in one gap cover the infusion once.
    SELECT DISTINCT patient_id, sessions_before + 1 AS infusion
    FROM covering
    WHERE sessions_before < ?
),
per_infusion AS (
    SELECT
        i.infusion,
        count(*) AS n_infusions,
        count(b.patient_id) AS n_with_score
    FROM infusions AS i
    LEFT JOIN scored_before AS b ON b.patient_id = i.patient_id AND b.infusion = i.infusion
    GROUP BY i.infusion
),
every_infusion AS (
    SELECT range AS infusion FROM range(1, ? + 1)
),
final AS (
    SELECT
        e.infusion,
        coalesce(p.n_infusions, 0) AS n_infusions,
        coalesce(p.n_with_score, 0) AS n_with_score,
        p.n_with_score / p.n_infusions AS share
    FROM every_infusion AS e
    LEFT JOIN per_infusion AS p ON p.infusion = e.infusion
)
SELECT * FROM final
ORDER BY infusion
