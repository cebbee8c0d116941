-- Retention per group of a cohort (clinical reference, "Typical course"): started = every
-- treated patient; completed induction = at least `induction_sessions` infusions (parameter 1);
-- any maintenance = more than `induction_sessions` infusions (parameter 2).
WITH {{cohort}},
final AS (
    SELECT
        {{group_columns}}
        count(*) AS n_started,
        count(*) FILTER (WHERE n_sessions >= ?) AS completed_induction_n,
        count(*) FILTER (WHERE n_sessions > ?) AS any_maintenance_n
    FROM cohort
    GROUP BY ALL
)
SELECT * FROM final
{{order_by}}
