-- The buckets of one file's rows (rows in = inserted + updated + unchanged + quarantined):
-- rows that broke a rule, first copies of their key, and good repeats of a key in the same file.
WITH final AS (
    SELECT count(*) FILTER (WHERE len(problems) > 0) AS quarantined,
           count(*) FILTER (WHERE is_first_copy) AS first_copies,
           count(*) FILTER (WHERE len(problems) = 0 AND NOT is_first_copy) AS repeats
    FROM checked
)
SELECT * FROM final
