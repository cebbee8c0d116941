-- Assessment completion by infusion number (coverage.completion_by_infusion). Parameters after
-- the cohort's: max_infusion, scale, max_infusion, max_infusion.
WITH {{cohort}},
window_setting AS (
    SELECT baseline_window_days AS days FROM outcome_settings
),
infusions AS (
    -- Infusions 1..max_infusion of the cohort's patients, numbered in their course.
    SELECT sn.patient_id, sn.session_number AS infusion
    FROM session_numbers AS sn
    {{cohort_join}}
    WHERE sn.session_number <= ?
),
scored_before AS (
    -- A valid score "for" infusion k: taken before it started and after infusion k - 1 started,
    -- i.e. `scores.sessions_before` = k - 1 (a score stamped at an infusion's start counts for
    -- that infusion, as everywhere). For the first infusion it must lie in the baseline window,
    -- so infusion 1 reads "has a usable baseline".
    SELECT DISTINCT s.patient_id, s.sessions_before + 1 AS infusion
    FROM scores AS s, window_setting AS w
    WHERE s.instrument = ?
      AND s.sessions_before < ?
      AND (s.sessions_before > 0 OR s.days_since_first_session >= -w.days)
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
