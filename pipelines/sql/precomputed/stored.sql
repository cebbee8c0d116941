-- Which of the precomputed tables (pipelines/precomputed.py) a database holds: the tables of
-- schema `precomputed` in catalog ?, and whether `about` (the run and definitions they were
-- computed by) is among them, and about how many rows they hold (the incremental refresh's
-- measure of how much is out of patient order). A database loaded by an older version has none.
WITH stored AS (
    SELECT table_name, estimated_size
    FROM duckdb_tables()
    WHERE database_name = ? AND schema_name = ?
),
final AS (
    SELECT
        count(*) FILTER (WHERE table_name = 'about') > 0 AS has_about,
        list(table_name ORDER BY table_name) AS tables,
        coalesce(sum(estimated_size) FILTER (WHERE table_name <> 'about'), 0) AS stored_rows
    FROM stored
)
SELECT * FROM final
