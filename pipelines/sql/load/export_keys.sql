-- Full export (docs/ingest.md, "Full exports and deletions"): remember every key one validated
-- file sends, loaded or quarantined. A quarantined row's key was sent (wrong, but sent), so its
-- stored version is not deleted. Rows whose key cannot be read are counted by the caller.
-- Parameters: kind.
INSERT INTO export_keys
WITH sent AS (
    SELECT DISTINCT record_key FROM checked WHERE record_key IS NOT NULL
),
final AS (
    SELECT ? AS kind, record_key FROM sent
)
SELECT * FROM final
