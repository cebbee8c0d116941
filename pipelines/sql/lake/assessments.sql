-- The lake's assessments: by site and calendar month of the administration. Assessments carry
-- no site of their own, so they take their patient's.
COPY (
    WITH final AS (
        SELECT a.*, p.site, strftime(a.administered_at, '%Y-%m') AS month
        FROM assessments AS a
        LEFT JOIN patients AS p USING (patient_id)
    )
    SELECT * FROM final ORDER BY patient_id
)
TO '{{folder}}' (FORMAT parquet, PARTITION_BY (site, month));
