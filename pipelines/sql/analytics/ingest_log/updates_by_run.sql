-- Duplicates and updates per run and kind of export (ingest_log.updates_by_run).
WITH files AS (
    -- What each run did per kind of export (summed over the run's files of that kind).
    SELECT run_id, f.kind AS kind, sum(f.rows_in)::BIGINT AS rows_in, sum(f.unchanged)::BIGINT AS unchanged,
           sum(f.updated)::BIGINT AS updated
    FROM (SELECT run_id, unnest(files) AS f FROM ingest_runs)
    GROUP BY ALL
),
versions AS (
    -- Earlier versions kept when a run replaced a row with new values (docs/ingest.md); rows a
    -- full export deleted are kept there too, counted apart.
    SELECT 'patients' AS kind, replaced_by_run AS run_id, count(*) FILTER (WHERE NOT deleted) AS versions_kept,
           count(*) FILTER (WHERE deleted) AS deleted
    FROM patients_history GROUP BY ALL
    UNION ALL
    SELECT 'sessions', replaced_by_run, count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted)
    FROM sessions_history GROUP BY ALL
    UNION ALL
    SELECT 'assessments', replaced_by_run, count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted)
    FROM assessments_history GROUP BY ALL
),
duplicates AS (
    -- Rows of one file sharing an id with different values: all quarantined (rule
    -- conflicting_duplicate), counted in the run that first met them.
    SELECT run_id, kind, count(*) AS conflicting_rows, count(DISTINCT record_key) AS conflicting_ids
    FROM quarantine
    WHERE list_contains(rules, 'conflicting_duplicate')
    GROUP BY ALL
),
final AS (
    SELECT
        f.run_id,
        f.kind,
        f.rows_in,
        f.unchanged,
        f.updated,
        coalesce(v.versions_kept, 0) AS versions_kept,
        coalesce(d.conflicting_rows, 0) AS conflicting_rows,
        coalesce(d.conflicting_ids, 0) AS conflicting_ids,
        coalesce(v.deleted, 0) AS deleted
    FROM files AS f
    LEFT JOIN versions AS v ON v.run_id = f.run_id AND v.kind = f.kind
    LEFT JOIN duplicates AS d ON d.run_id = f.run_id AND d.kind = f.kind
)
SELECT * FROM final
ORDER BY run_id DESC, CASE kind WHEN 'patients' THEN 1 WHEN 'sessions' THEN 2 ELSE 3 END
