-- Every file of every run, newest run first, then patients, sessions, assessments
-- (ingest_log.ingest_files).
WITH per_file AS (
    -- ingest_runs.files: one struct per file read in the run.
    SELECT run_id, unnest(files) AS f
    FROM ingest_runs
),
final AS (
    SELECT
        run_id,
        f.path AS path,
        f.kind AS kind,
        f.rows_in AS rows_in,
        f.inserted AS inserted,
        f.updated AS updated,
        f.unchanged AS unchanged,
        f.quarantined AS quarantined,
        f.seconds AS seconds,
        f.sha256 AS sha256
    FROM per_file
)
SELECT * FROM final
ORDER BY run_id DESC, CASE kind WHEN 'patients' THEN 1 WHEN 'sessions' THEN 2 ELSE 3 END, path
