-- Patients per severity band at baseline and band after induction, every pair of the scale's
-- bands (`instrument_bands`, e.g. PHQ-9 minimal 0-4 ... severe 20-27; Kroenke et al. 2001), 0
-- where nobody moved that way. Parameters: the scale, twice.
WITH {{cohort}},
bands AS (
    SELECT band_order, low, high, label FROM instrument_bands WHERE code = ?
),
pairs AS (
    -- Patients with a baseline and an after-induction score (patient_outcomes: the first valid
    -- score with 6 to 8 infusions before it), each score in its severity band.
    SELECT b0.band_order AS baseline_order, b1.band_order AS after_order
    FROM patient_outcomes AS o
    {{cohort_join}}
    JOIN bands AS b0 ON o.baseline_score BETWEEN b0.low AND b0.high
    JOIN bands AS b1 ON o.after_induction_score BETWEEN b1.low AND b1.high
    WHERE o.instrument = ? AND o.after_induction_score IS NOT NULL
),
counts AS (
    SELECT baseline_order, after_order, count(*) AS n_patients FROM pairs GROUP BY ALL
),
final AS (
    -- every band pair, 0 where nobody moved that way, so the grid is always complete
    SELECT
        f.label AS baseline_band, f.band_order AS baseline_order,
        t.label AS after_band, t.band_order AS after_order,
        coalesce(c.n_patients, 0) AS n_patients
    FROM bands AS f
    CROSS JOIN bands AS t
    LEFT JOIN counts AS c ON c.baseline_order = f.band_order AND c.after_order = t.band_order
)
SELECT * FROM final
ORDER BY baseline_order, after_order
