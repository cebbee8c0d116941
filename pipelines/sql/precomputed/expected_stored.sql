-- Whether the expected-course references stored by the ingest (pipelines/precomputed_expected.py)
-- serve a reader: `expected_about` of the stored tables (`{{stored}}` = '"<catalog>".precomputed.')
-- beside the outcome tables' own `about`: whether both name the same run, and the definitions
-- and thresholds the references were computed by.
WITH expected_about AS (
    SELECT run_id, definitions, thresholds
    FROM {{stored}}expected_about
),
tables_about AS (
    SELECT run_id
    FROM {{stored}}about
),
final AS (
    SELECT e.run_id = t.run_id AS same_run, e.definitions, e.thresholds
    FROM expected_about AS e
    CROSS JOIN tables_about AS t
)
SELECT * FROM final
