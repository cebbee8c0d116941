-- The quarantined rows themselves, for sending back to whoever keeps the records
-- (ingest_log.quarantined_rows). Parameters: run (NULL = every run), rules (empty = all rows),
-- limit (NULL = no limit).
WITH chosen AS (
    -- Rows first met in the chosen run that broke any of the chosen rules (all when not chosen).
    SELECT *
    FROM quarantine
    WHERE (?::BIGINT IS NULL OR run_id = ?::BIGINT)
      AND (len(?::VARCHAR[]) = 0 OR list_has_any(rules, ?::VARCHAR[]))
),
final AS (
    SELECT
        run_id,
        source_file,
        kind,
        source_row,
        record_key,
        array_to_string(rules, ', ') AS rules,
        reason,
        -- The exported row in one line, "field=value", blanks and the row number left out.
        array_to_string(list_transform(
            list_filter(json_keys(raw),
                        lambda k: k <> 'source_row' AND json_extract_string(raw, '$."' || k || '"') IS NOT NULL),
            lambda k: k || '=' || json_extract_string(raw, '$."' || k || '"')), ', ') AS raw_values,
        raw
    FROM chosen
)
SELECT * FROM final
ORDER BY run_id, source_file, source_row
LIMIT ?
