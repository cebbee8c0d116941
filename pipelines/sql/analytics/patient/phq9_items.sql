-- PHQ-9 answers item by item over time, long format (patient.phq9_item_history).
-- The placeholder lookup_prefix makes `patient_assessments`, the snapshot's copy of `assessments` sorted
-- by patient, when there is one, else `assessments` itself (patient.ensure_patient_lookup).
WITH administrations AS MATERIALIZED (
    -- every PHQ-9 administration, incomplete ones too (item 9 is a flag whatever the total)
    SELECT assessment_key, administered_at, items, total, complete
    FROM {{lookup_prefix}}assessments
    WHERE patient_id = $patient_id AND instrument = 'PHQ-9'
),
infusions AS MATERIALIZED (
    SELECT started_at, session_number FROM session_numbers WHERE patient_id = $patient_id
),
numbered AS (
    -- k = infusions started strictly before + 1, as scores.sessions_before counts them
    SELECT a.*, coalesce(i.session_number, 0) + 1 AS k
    FROM administrations AS a
    ASOF LEFT JOIN infusions AS i ON a.administered_at > i.started_at
),
final AS (
    -- items 1-9 only: the 10th entry (difficulty) is not part of the scale
    SELECT n.administered_at, n.assessment_key, n.k, n.total, n.complete, r.item,
           list_extract(n.items, r.item)::INTEGER AS answer
    FROM numbered AS n
    CROSS JOIN range(1, 10) AS r(item)
)
SELECT * FROM final
ORDER BY administered_at, assessment_key, item
