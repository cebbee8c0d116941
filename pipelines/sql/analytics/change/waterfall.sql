-- Percent change from baseline per evaluable patient, ranked from the largest rise to the largest
-- fall, in at most max_bars bars (parameters after the scale: max_bars twice). Percent change as
-- `patient_outcomes.pct_change`; response and remission as outcomes.cohort_outcomes judges them.
WITH {{cohort}},
-- the step `judged`: each patient's outcomes at the timepoint (outcomes/judged_latest.sql or
-- outcomes/judged_at.sql)
{{judged}}
evaluable AS (
    -- The rates' population: in caseness at baseline, with a follow-up at the timepoint
    -- (baseline >= caseness_min > 0, so percent change is always defined).
    SELECT
        j.patient_id,
        j.baseline_score,
        round(100.0 * j.change / j.baseline_score, 1) AS pct_change,
        j.response,
        j.remission
    FROM judged AS j
    {{cohort_join}}
    WHERE j.baseline_caseness AND j.has_followup
),
ranked AS (
    -- Rank 1 = the largest rise (worst), as waterfall plots are drawn.
    SELECT *, row_number() OVER (ORDER BY pct_change DESC, patient_id) AS rank, count(*) OVER () AS n
    FROM evaluable
),
barred AS (
    -- One bar per patient up to max_bars patients; above, max_bars runs of consecutive ranks
    -- of (almost) equal size.
    SELECT *, CASE WHEN n <= ?::BIGINT THEN rank ELSE (rank - 1) * ?::BIGINT // n + 1 END AS bar
    FROM ranked
),
final AS (
    SELECT
        bar,
        min(rank) AS first_rank,
        max(rank) AS last_rank,
        count(*) AS n_patients,
        -- the bar's height: the median percent change of its patients (lower median)
        quantile_disc(pct_change, 0.5) AS pct_change,
        min(pct_change) AS lowest_pct_change,
        max(pct_change) AS highest_pct_change,
        quantile_disc(baseline_score, 0.5) AS baseline_score,
        count(*) FILTER (WHERE response) AS n_response,
        count(*) FILTER (WHERE remission) AS n_remission
    FROM barred
    GROUP BY bar
)
SELECT * FROM final
ORDER BY bar
