-- A fingerprint of the reference tables the outcome views read (the instrument registry, its
-- severity bands and the outcome settings; pipelines/db.py writes them on every run): stored
-- tables computed with other thresholds or windows are recomputed whole
-- (pipelines/incremental.py). Each table as the text of its rows in a fixed order.
WITH registry AS (
    SELECT string_agg(i::VARCHAR, ';' ORDER BY i::VARCHAR) AS rows_text FROM instruments AS i
),
bands AS (
    SELECT string_agg(b::VARCHAR, ';' ORDER BY b::VARCHAR) AS rows_text FROM instrument_bands AS b
),
windows AS (
    SELECT string_agg(o::VARCHAR, ';' ORDER BY o::VARCHAR) AS rows_text FROM outcome_settings AS o
),
final AS (
    SELECT md5(concat_ws('|', r.rows_text, b.rows_text, w.rows_text)) AS reference
    FROM registry AS r, bands AS b, windows AS w
)
SELECT * FROM final
