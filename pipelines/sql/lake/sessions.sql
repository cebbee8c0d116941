-- The lake's infusion sessions: by site and calendar month of the infusion (a month's new rows
-- go into new files; queries on a period skip the other months). Sorted by patient, so one
-- patient's rows sit in a row group or two of each file.
COPY (
    WITH final AS (
        SELECT *, strftime(started_at, '%Y-%m') AS month FROM sessions
    )
    SELECT * FROM final ORDER BY patient_id
)
TO '{{folder}}' (FORMAT parquet, PARTITION_BY (site, month));
