-- The clinic's reference course (expected.reference_distribution; docs/scoring.md, "Not on
-- track", after Lambert et al. 2001): over the progress rows (expected_progress.sql's result, named
-- `expected_progress` + the `caller` suffix: registered by analytics/expected_reference.py for one
-- scale, or a temporary table of every scale made by the ingest, pipelines/precomputed_expected.py),
-- per scale, baseline band and infusion k, the band's own distribution of percent change when it
-- has >= min_reference_patients patients, else that of all bands of the scale together
-- (fallback); rows where even that is smaller are left out. Percentiles of improvement
-- (expected.py's docstring): p25 is quantile 0.75 of percent change; the threshold is quantile
-- (100 - P) / 100 of percent change for the configured percentile P of improvement.
-- Parameters: max k, min patients, then that quantile twice.
WITH params AS (
    SELECT ?::BIGINT AS max_k, ?::BIGINT AS min_patients
),
changes AS (
    -- one row per patient, scale and k (scores_by_infusion keeps the latest score per k)
    SELECT pr.instrument, pr.baseline_band, pr.k, pr.pct_change
    FROM expected_progress{{caller}} AS pr
    CROSS JOIN params AS p
    WHERE pr.k BETWEEN 2 AND p.max_k AND pr.pct_change IS NOT NULL
),
bands AS (
    SELECT b.code AS instrument, b.label AS baseline_band, b.band_order
    FROM instrument_bands AS b
),
by_band AS (
    -- the four quantiles from one aggregate: its state holds a group's values once, not four
    -- times (a holistic aggregate keeps them in memory; at 1,000,000 patients four copies did
    -- not fit the ingest's 1 GB)
    SELECT instrument, baseline_band, k, count(*) AS n_patients,
           quantile_cont(pct_change, [0.75, 0.50, 0.25, ?]) AS quantiles
    FROM changes
    GROUP BY instrument, baseline_band, k
),
all_bands AS (
    SELECT instrument, k, count(*) AS n_patients,
           quantile_cont(pct_change, [0.75, 0.50, 0.25, ?]) AS quantiles
    FROM changes
    GROUP BY instrument, k
),
chosen AS (
    -- every band of each scale at every k with data; the band's own distribution if big enough
    SELECT
        bands.instrument,
        bands.baseline_band,
        bands.band_order,
        a.k,
        p.min_patients,
        coalesce(b.n_patients, 0) < p.min_patients AS fallback,
        CASE WHEN fallback THEN a.n_patients ELSE b.n_patients END AS n_patients,
        CASE WHEN fallback THEN a.quantiles ELSE b.quantiles END AS chosen_quantiles,
        chosen_quantiles[1] AS p25,
        chosen_quantiles[2] AS p50,
        chosen_quantiles[3] AS p75,
        chosen_quantiles[4] AS threshold
    FROM bands
    CROSS JOIN params AS p
    JOIN all_bands AS a ON a.instrument = bands.instrument
    LEFT JOIN by_band AS b
        ON b.instrument = bands.instrument AND b.baseline_band = bands.baseline_band AND b.k = a.k
),
final AS (
    SELECT instrument, baseline_band, k, n_patients, p25, p50, p75, threshold, fallback, band_order
    FROM chosen
    WHERE n_patients >= min_patients
)
SELECT * FROM final
ORDER BY instrument, band_order, k
