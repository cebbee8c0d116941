-- Side effects and adverse events per group and effect (safety.side_effect_rates).
-- `sessions.side_effects` is a lower-case list; `sessions.adverse_event` free text, where any
-- non-blank entry counts as one adverse event.
WITH {{cohort}},
cohort_infusions AS (
    -- Every infusion of the cohort's patients, the grouping attributes in front.
    SELECT {{cohort_columns}} s.*
    FROM sessions AS s
    {{cohort_join}}
),
infusions AS (
    SELECT
        {{group_columns}}
        -- an effect listed twice for one infusion counts once: keep its first position only
        list_filter(side_effects, lambda effect, i: list_position(side_effects, effect) = i) AS side_effects,
        nullif(trim(adverse_event), '') IS NOT NULL AS adverse_event
    FROM cohort_infusions
),
group_sizes AS (
    -- Denominator: every infusion of the group, whether or not side effects were recorded.
    SELECT {{group_columns}} count(*) AS n_infusions, count(*) FILTER (WHERE adverse_event) AS n_adverse_events
    FROM infusions
    GROUP BY ALL
    HAVING count(*) > 0
),
side_effect_counts AS (
    SELECT {{group_columns}} effect, count(*) AS n_affected_infusions
    FROM (SELECT {{group_columns}} unnest(side_effects) AS effect FROM infusions)
    GROUP BY ALL
),
effects_seen AS (
    -- Every side effect seen anywhere in the cohort is reported for every group (0 where
    -- absent), so groups can be compared row by row.
    SELECT DISTINCT effect FROM side_effect_counts
),
rates AS (
    SELECT {{group_keys}} 'side effect' AS kind, k.effect, g.n_infusions,
           coalesce(e.n_affected_infusions, 0) AS n_affected_infusions
    FROM group_sizes AS g
    CROSS JOIN effects_seen AS k
    LEFT JOIN side_effect_counts AS e ON e.effect = k.effect {{same_group}}
    UNION ALL
    SELECT {{group_columns}} 'adverse event' AS kind, 'adverse event (any)' AS effect, n_infusions,
           n_adverse_events AS n_affected_infusions
    FROM group_sizes
),
final AS (
    SELECT * FROM rates
)
SELECT * FROM final
ORDER BY {{group_columns}} kind DESC, n_affected_infusions DESC, effect
