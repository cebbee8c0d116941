-- Severity bands of every scale (patient.scale_bands), from the instrument registry.
WITH final AS (
    SELECT b.code AS instrument, b.band_order, b.low, b.high, b.label
    FROM instrument_bands AS b
)
SELECT * FROM final
ORDER BY instrument, band_order
