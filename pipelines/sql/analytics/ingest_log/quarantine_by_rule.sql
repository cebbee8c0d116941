-- Quarantined rows per rule (docs/ingest.md, "Quarantine rules"), most frequent first
-- (ingest_log.quarantine_by_rule). Parameters: run (NULL = every run), rules (empty = all rows).
WITH chosen AS (
    -- Rows first met in the chosen run that broke any of the chosen rules (all when not chosen).
    SELECT *
    FROM quarantine
    WHERE (?::BIGINT IS NULL OR run_id = ?::BIGINT)
      AND (len(?::VARCHAR[]) = 0 OR list_has_any(rules, ?::VARCHAR[]))
),
broken AS (
    -- A row can break several rules (all are listed): it counts under each of them. Its reason
    -- joins one message per rule with "; " in the rules' order; each rule gets its own message
    -- (the whole reason if a message itself holds "; ").
    SELECT
        unnest(rules) AS rule,
        unnest(CASE WHEN len(string_split(reason, '; ')) = len(rules) THEN string_split(reason, '; ')
                    ELSE list_transform(rules, lambda r: reason) END) AS message,
        kind,
        source_file,
        run_id
    FROM chosen
),
final AS (
    SELECT
        rule,
        count(*) AS n_rows,
        count(DISTINCT source_file) AS n_files,
        list(DISTINCT kind ORDER BY kind) AS kinds,
        min(message) AS example_reason,
        min(run_id) AS first_run,
        max(run_id) AS last_run
    FROM broken
    GROUP BY rule
)
SELECT * FROM final
ORDER BY n_rows DESC, rule
