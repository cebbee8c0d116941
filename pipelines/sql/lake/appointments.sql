-- The lake's planned infusions (appointments): by calendar month of the plan. The outcome views
-- never read them; the lake keeps every base table.
COPY (
    WITH final AS (
        SELECT *, strftime(planned_at, '%Y-%m') AS month FROM appointments
    )
    SELECT * FROM final ORDER BY patient_id
)
TO '{{folder}}' (FORMAT parquet, PARTITION_BY (month));
