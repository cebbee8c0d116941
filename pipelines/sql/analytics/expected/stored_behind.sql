-- The patients not on track on one scale as the ingest stored them (expected.patients_not_on_track,
-- from "<catalog>".precomputed.expected_behind: `{{stored}}`), largest excess first.
-- Parameter: the scale.
WITH final AS (
    SELECT *
    FROM {{stored}}expected_behind
    WHERE instrument = ?
)
SELECT * FROM final
ORDER BY position
