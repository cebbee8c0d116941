-- Which of the precomputed tables (pipelines/precomputed.py) a database holds: the tables of
-- schema `precomputed` in catalog ?, and whether `about` (the run and definitions they were
-- computed by) is among them. A database loaded by an older version has none.
WITH stored AS (
    SELECT table_name
    FROM duckdb_tables()
    WHERE database_name = ? AND schema_name = ?
),
final AS (
    SELECT
        count(*) FILTER (WHERE table_name = 'about') > 0 AS has_about,
        list(table_name ORDER BY table_name) AS tables
    FROM stored
)
SELECT * FROM final
