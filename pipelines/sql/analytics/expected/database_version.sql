-- The version of the connection's database that expected.py's cache is keyed on: its file, and
-- its ingest history (last run, when it ended, how many runs), which changes with every ingest.
WITH final AS (
    SELECT
        (SELECT path FROM duckdb_databases() WHERE database_name = current_database()) AS path,
        max(run_id) AS last_run,
        max(finished_at) AS last_finished_at,
        count(*) AS n_runs
    FROM ingest_runs
)
SELECT * FROM final
