-- The reference of one scale as the ingest stored it (expected.reference_distribution, read
-- from "<catalog>".precomputed.expected_reference: `{{stored}}`), in the order computed.
-- Parameter: the scale.
WITH final AS (
    SELECT *
    FROM {{stored}}expected_reference
    WHERE instrument = ?
)
SELECT * FROM final
ORDER BY band_order, k
