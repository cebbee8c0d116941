-- Quarantine one row the reader could not take (it could not be split into fields, or an answer
-- is not a number), with the line as read; not again when the same file is re-read.
-- Parameters: run_id, source file, file sha256, kind, source row, rule, message, raw line,
-- file sha256, source row.
INSERT INTO quarantine
WITH final AS (
    SELECT ?, ?, ?, ?, ?, NULL, [?], ?, to_json({'line': ?})
    WHERE NOT EXISTS (SELECT 1 FROM quarantine WHERE file_sha256 = ? AND source_row = ?)
)
SELECT * FROM final
