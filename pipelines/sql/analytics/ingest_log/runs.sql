-- Every completed ingest run, newest first (ingest_log.ingest_runs).
WITH final AS (
    -- One row per completed run; rows_in = inserted + updated + unchanged + quarantined
    -- (docs/ingest.md), the check the page shows. `deleted` (full exports only) are stored rows
    -- the export left out: not rows in, so outside the sum.
    SELECT
        run_id,
        started_at,
        finished_at,
        round(epoch(finished_at - started_at), 1) AS seconds,
        len(files) AS n_files,
        rows_in,
        inserted,
        updated,
        unchanged,
        quarantined,
        rows_in = inserted + updated + unchanged + quarantined AS balanced,
        coalesce(deleted, 0) AS deleted,
        full_export IS NOT NULL AS full_export
    FROM ingest_runs
)
SELECT * FROM final
ORDER BY run_id DESC
