-- Per scale the patient was given: baseline -> latest and change (patient.scale_status).
-- The placeholder lookup_prefix makes `patient_assessments`, the snapshot's copy of `assessments` sorted
-- by patient, when there is one, else `assessments` itself (patient.ensure_patient_lookup).
WITH administered AS MATERIALIZED (
    -- Every administration, incomplete ones too: a scale given but never scored validly is
    -- still the patient's, with "no valid score".
    SELECT instrument, count(*) AS n_administrations
    FROM {{lookup_prefix}}assessments WHERE patient_id = $patient_id
    GROUP BY instrument
),
valid AS MATERIALIZED (
    SELECT
        instrument,
        count(*) AS n_scores,
        min(administered_at) AS first_score_at,
        -- the infusion number the latest score counts for (k = sessions_before + 1)
        arg_max(sessions_before + 1, administered_at) AS latest_k
    FROM scores WHERE patient_id = $patient_id
    GROUP BY instrument
),
outcome AS MATERIALIZED (
    SELECT * FROM patient_outcomes WHERE patient_id = $patient_id
),
final AS (
    SELECT
        a.instrument,
        a.n_administrations,
        coalesce(v.n_scores, 0) AS n_scores,
        v.first_score_at,
        o.baseline_at,
        o.baseline_score,
        bb.label AS baseline_band,
        o.baseline_caseness,
        o.latest_at,
        o.latest_score,
        lb.label AS latest_band,
        coalesce(o.n_followups, 0) AS n_followups,
        v.latest_k,
        o.change,
        o.pct_change,
        o.response,
        o.remission,
        o.reliable_improvement,
        o.reliable_deterioration,
        i.response_drop_pct,
        i.remission_below,
        i.remission_min_drop,
        i.reliable_change,
        i.caseness_min,
        i.total_max
    FROM administered AS a
    JOIN instruments AS i ON i.code = a.instrument
    LEFT JOIN valid AS v ON v.instrument = a.instrument
    LEFT JOIN outcome AS o ON o.instrument = a.instrument
    LEFT JOIN instrument_bands AS bb ON bb.code = a.instrument AND o.baseline_score BETWEEN bb.low AND bb.high
    LEFT JOIN instrument_bands AS lb ON lb.code = a.instrument AND o.latest_score BETWEEN lb.low AND lb.high
)
SELECT * FROM final
ORDER BY instrument
