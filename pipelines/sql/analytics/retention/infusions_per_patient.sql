-- Patients of a cohort by the number of infusions they have had so far, and their share.
WITH {{cohort}},
per_count AS (
    SELECT n_sessions AS n_infusions, count(*) AS n_patients
    FROM cohort
    GROUP BY n_sessions
),
every_count AS (
    -- 1 .. the largest count, so counts nobody reached show as 0 patients
    SELECT range AS n_infusions
    FROM range(1, (SELECT coalesce(max(n_infusions), 0) + 1 FROM per_count))
),
final AS (
    SELECT
        e.n_infusions,
        coalesce(p.n_patients, 0) AS n_patients,
        coalesce(p.n_patients, 0) / (SELECT sum(n_patients) FROM per_count) AS share
    FROM every_count AS e
    LEFT JOIN per_count AS p USING (n_infusions)
)
SELECT * FROM final
ORDER BY n_infusions
