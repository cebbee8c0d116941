-- Quarantine the rows of `checked` that broke a rule, each with its rules, its reasons in clinical
-- words and the row as exported (docs/ingest.md, "Quarantine").
-- A file re-read in a later run does not add its bad rows a second time (keyed on the file's
-- hash and the row).
-- Parameters: run_id, source file, file sha256, kind (table), file sha256 again.
INSERT INTO quarantine
WITH bad_rows AS (
    SELECT c.source_row, c.record_key, c.problems, to_json(s) AS raw  -- the row as exported
    FROM checked AS c
    JOIN staged AS s ON s.source_row = c.source_row
    WHERE len(c.problems) > 0
),
final AS (
    SELECT ?, ?, ?, ?, b.source_row, b.record_key,
           list_transform(b.problems, lambda p: p.rule),
           array_to_string(list_transform(b.problems, lambda p: p.message), '; '),
           b.raw
    FROM bad_rows AS b
    WHERE NOT EXISTS (SELECT 1 FROM quarantine AS q WHERE q.file_sha256 = ? AND q.source_row = b.source_row)
)
SELECT * FROM final
