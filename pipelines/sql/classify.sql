-- Rows of one file that passed validation but share a key must agree with each other:
-- copies with different values are all quarantined (none can be trusted over the others);
-- identical copies after the first are counted as unchanged. Wraps a validate_*.sql query,
-- which the loader puts in place of the placeholder in braces below.
WITH validated AS (
{validated}
),
flagged AS (
    SELECT
        *,
        len(found) = 0 AS valid,
        count(*) FILTER (WHERE len(found) = 0) OVER by_key AS copies,
        min(row_hash) FILTER (WHERE len(found) = 0) OVER by_key
            <> max(row_hash) FILTER (WHERE len(found) = 0) OVER by_key AS conflicting,
        min(source_row) FILTER (WHERE len(found) = 0) OVER by_key AS first_copy_row,
        max(source_row) FILTER (WHERE len(found) = 0) OVER by_key AS last_copy_row
    FROM validated
    WINDOW by_key AS (PARTITION BY record_key)
),
final AS (
    SELECT
        * EXCLUDE (found, valid, copies, conflicting, first_copy_row, last_copy_row),
        CASE
            WHEN valid AND conflicting THEN [problem('conflicting_duplicate', format(
                '{} rows in this file (rows {} to {}) carry {} with different values', copies, first_copy_row,
                last_copy_row, record_key))]
            ELSE found
        END AS problems,
        valid AND NOT conflicting AND source_row = first_copy_row AS is_first_copy
    FROM flagged
)
SELECT
    * EXCLUDE (raw_row),
    CASE WHEN len(problems) > 0 THEN to_json(raw_row) END AS raw
FROM final
