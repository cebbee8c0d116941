-- How old the data is (analytics/freshness.py): the newest infusion (clinic local time) and the
-- end of the latest ingest run (UTC, as `ingest_runs` stores it). Either is NULL when absent.
WITH infusions AS (
    SELECT max(started_at) AS latest_infusion_at FROM sessions
),
runs AS (
    SELECT max(finished_at) AS latest_ingest_utc FROM ingest_runs WHERE status = 'completed'
),
final AS (
    SELECT i.latest_infusion_at, r.latest_ingest_utc
    FROM infusions AS i, runs AS r
)
SELECT * FROM final
