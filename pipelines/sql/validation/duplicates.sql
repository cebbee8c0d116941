-- Rows of one file that passed validation but share a key must agree with each other:
-- copies with different values are all quarantined (none can be trusted over the others);
-- identical copies after the first are counted as unchanged and not loaded again.
-- Runs on temp table `checked` (one validated file). Repeated keys are found with a grouped
-- count over the key column alone; only their (usually few) rows are then compared and touched.
CREATE OR REPLACE TEMP TABLE repeated_keys AS
WITH repeated AS (
    SELECT record_key FROM checked WHERE len(problems) = 0 GROUP BY record_key HAVING count(*) > 1
)
SELECT
    c.record_key,
    count(*) AS copies,
    -- the copies disagree if their values (every column but the bookkeeping ones) differ
    count(DISTINCT struct_pack(*COLUMNS(* EXCLUDE (source_row, problems, is_first_copy)))) > 1 AS conflicting,
    min(c.source_row) AS first_copy_row,
    max(c.source_row) AS last_copy_row
FROM checked AS c
SEMI JOIN repeated AS r ON r.record_key = c.record_key
WHERE len(c.problems) = 0
GROUP BY c.record_key;

UPDATE checked
SET problems = [problem('conflicting_duplicate', format(
        '{} rows in this file (rows {} to {}) carry {} with different values',
        r.copies, r.first_copy_row, r.last_copy_row, r.record_key))]
FROM repeated_keys AS r
WHERE checked.record_key = r.record_key AND r.conflicting AND len(checked.problems) = 0;

UPDATE checked
SET is_first_copy = false
FROM repeated_keys AS r
WHERE checked.record_key = r.record_key AND (r.conflicting OR checked.source_row <> r.first_copy_row);
