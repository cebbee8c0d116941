-- Per scale, the cohort's treated patients with a baseline and without one, by reason
-- (coverage.baseline_coverage), in the registry's page order (PHQ-9 first).
WITH {{cohort}},
{{reasoned}}
with_baseline AS (
    SELECT o.instrument, count(*) AS n_with_baseline
    FROM patient_outcomes AS o
    {{cohort_join}}
    GROUP BY ALL
),
without AS (
    SELECT
        instrument,
        count(*) AS n_without_baseline,
        count(*) FILTER (WHERE reason = 'only_incomplete') AS only_incomplete,
        count(*) FILTER (WHERE reason = 'only_too_early') AS only_too_early,
        count(*) FILTER (WHERE reason = 'none_before_start') AS none_before_start,
        count(*) FILTER (WHERE reason = 'never_recorded') AS never_recorded
    FROM reasoned
    GROUP BY ALL
),
final AS (
    -- The counts per scale: with and without a baseline, the latter by reason.
    SELECT
        i.code AS instrument,
        coalesce(b.n_with_baseline, 0) AS n_with_baseline,
        coalesce(w.n_without_baseline, 0) AS n_without_baseline,
        coalesce(w.only_incomplete, 0) AS only_incomplete,
        coalesce(w.only_too_early, 0) AS only_too_early,
        coalesce(w.none_before_start, 0) AS none_before_start,
        coalesce(w.never_recorded, 0) AS never_recorded,
        i.page_order
    FROM instruments AS i
    LEFT JOIN with_baseline AS b ON b.instrument = i.code
    LEFT JOIN without AS w ON w.instrument = i.code
    WHERE b.instrument IS NOT NULL OR w.instrument IS NOT NULL
)
SELECT * FROM final
ORDER BY page_order, instrument
