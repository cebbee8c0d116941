-- The lake's patients (docs/scaling.md, "Beyond one machine"): one folder per clinic site, so
-- a site's files can be added, replaced or withheld on their own. {{folder}} is filled by
-- pipelines.lake.write_lake (the path, quotes doubled).
COPY (
    WITH final AS (
        SELECT * FROM patients
    )
    SELECT * FROM final ORDER BY patient_id
)
TO '{{folder}}' (FORMAT parquet, PARTITION_BY (site));
