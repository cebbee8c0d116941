-- A token that changes with every acknowledgement (rows are only ever added): keys the
-- worklist page's cache, so a new acknowledgement shows at once.
WITH counted AS (
    SELECT count(*) AS n, coalesce(max(acknowledged_at), '') AS latest FROM acknowledgements
),
final AS (
    SELECT n || '-' || latest AS version FROM counted
)
SELECT * FROM final
