-- The rows DuckDB's CSV reader could not take in one scan (its rejects table
-- `rejects_<scan>`), one row per physical line with every error on it in column order.
-- DuckDB reports the physical line (header = line 1); the reader turns it into the data row.
WITH final AS (
    SELECT line, any_value(csv_line) AS csv_line,
           list({'type': error_type, 'column': column_name, 'message': error_message} ORDER BY column_idx) AS errors
    FROM rejects_{{scan_no}}
    GROUP BY line
)
SELECT * FROM final ORDER BY line
