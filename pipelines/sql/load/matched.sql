-- The first copies of `checked` whose key is already stored (view `merge_target`: the kind's
-- table with its key as `merge_key`), and whether every value is the same (unchanged) or not
-- (an update; the stored row moves to history). {{stored}} and {{incoming}} are the non-key
-- columns of the table, as t.<column> and c.<column>.
CREATE OR REPLACE TEMP TABLE matched AS
WITH final AS (
    SELECT c.source_row, c.record_key, row({{stored}}) IS NOT DISTINCT FROM row({{incoming}}) AS same
    FROM checked AS c
    JOIN merge_target AS t ON t.merge_key = c.record_key
    WHERE c.is_first_copy
)
SELECT * FROM final
