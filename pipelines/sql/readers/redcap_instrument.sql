-- One instrument's rows of a REDCap export (temp table `redcap_rows`, every field as text), each
-- with its answers that are not numbers: those rows are rejected, like the CSV reader's cast
-- errors, and the others become assessments rows.
-- {{belongs}}: `AND <condition>`: a repeating row belongs to the instrument it names, a
-- non-repeating row to every instrument with an answer in it; a form left blank gives no row.
-- {{bad_cells}}: per numeric field, a struct naming the field and its value when it is filled
-- but not a number (NULL otherwise).
CREATE OR REPLACE TEMP TABLE redcap_instrument AS
WITH final AS (
    SELECT *, list_filter([{{bad_cells}}], lambda x: x IS NOT NULL) AS bad_cells
    FROM redcap_rows
    WHERE true {{belongs}}
)
SELECT * FROM final
