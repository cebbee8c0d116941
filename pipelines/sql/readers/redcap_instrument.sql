-- One mapped form's rows of a REDCap export (temp table `redcap_rows`, every field as text), each
-- with its answers that are not numbers: those rows are rejected, like the CSV reader's cast
-- errors, and the others become assessments (or sessions) rows. Rules: docs/import-format.md,
-- "REDCap record export".
-- {{belongs}}: `AND <condition>`: a row with an answer of the form filled in; on a repeating
-- row, only when the instrument it names is this form or no mapped form; a form left blank
-- gives no row.
-- {{bad_cells}}: per numeric field, a struct naming the field and its value when it is filled
-- but neither a number nor one of its choice labels (NULL otherwise).
CREATE OR REPLACE TEMP TABLE redcap_instrument AS
WITH final AS (
    SELECT *, list_filter([{{bad_cells}}], lambda x: x IS NOT NULL) AS bad_cells
    FROM redcap_rows
    WHERE true {{belongs}}
)
SELECT * FROM final
