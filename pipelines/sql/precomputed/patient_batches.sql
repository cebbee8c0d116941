-- The first patient id of each batch after the first, when the clinic's patients (sorted by
-- id) are split into contiguous ranges of at most $batch_patients: a full computation of the
-- stored tables (pipelines/incremental.py) computes one range at a time, so its memory is
-- bounded by one batch, and appends the ranges in order, so the tables come out sorted by
-- patient. Range i runs from boundary i-1 (the first from the lowest id) up to, not including,
-- boundary i (the last to the highest), so ids found only in sessions or assessments fall in one.
WITH numbered AS (
    SELECT patient_id, row_number() OVER (ORDER BY patient_id) - 1 AS position
    FROM patients
),
final AS (
    SELECT patient_id AS starts_at
    FROM numbered
    WHERE position > 0 AND position % $batch_patients = 0
)
SELECT * FROM final ORDER BY starts_at
