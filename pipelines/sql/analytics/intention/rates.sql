-- Response and remission of one scale per group of a cohort, on one basis (completers,
-- intention to treat, last observation carried forward) at one timepoint (after induction,
-- latest). Definitions: docs/analytics.md, "Three bases for a headline rate"; the outcome flags
-- are the `judge_outcome` macro's (sql/views/outcome_flags.sql), so a response means the same
-- on every basis. Parameters (after the cohort's): the scale, the timepoint, the basis.
WITH {{cohort}},
question AS (
    SELECT ? AS scale, ? AS timepoint, ? AS basis
),
sessions_to_window_end AS (
    -- The end of the after-induction window: the start of the infusion that closes it (the
    -- 9th, `outcome_settings.after_induction_before_session`); NULL for a patient who never
    -- had it, whose every score so far is before the window's end.
    SELECT
        patient_id,
        max(started_at) FILTER (WHERE session_number = (SELECT after_induction_before_session FROM outcome_settings))
            AS window_end_at
    FROM session_numbers
    GROUP BY patient_id
),
baselines AS (
    -- Everyone who started treatment (at least one infusion) with a baseline on the scale.
    SELECT
        po.patient_id,
        po.baseline_at,
        po.baseline_score,
        po.baseline_caseness,
        po.after_induction_score,
        po.latest_score,
        w.window_end_at,
        i.caseness_min, i.response_drop_pct, i.reliable_change, i.remission_below, i.remission_min_drop
    FROM patient_outcomes AS po
    JOIN instruments AS i ON i.code = po.instrument
    LEFT JOIN sessions_to_window_end AS w ON w.patient_id = po.patient_id
    WHERE po.instrument = (SELECT scale FROM question)
),
last_by_window_end AS (
    -- LOCF after induction: the last valid score after the baseline dated at or before the
    -- window's end (ties broken by the assessment key, as in `patient_outcomes`).
    SELECT
        b.patient_id,
        arg_max(a.total, {'at': a.administered_at, 'key': a.assessment_key}) AS last_score
    FROM baselines AS b
    JOIN assessments AS a
        ON a.patient_id = b.patient_id AND a.instrument = (SELECT scale FROM question) AND a.total IS NOT NULL
    WHERE a.administered_at > b.baseline_at
      AND (b.window_end_at IS NULL OR a.administered_at <= b.window_end_at)
    GROUP BY b.patient_id
),
followups AS (
    -- observed: the score the timepoint judges (NULL when missing: completers leave the patient
    -- out, intention to treat counts them as neither responding nor remitted);
    -- carried: LOCF's score, the observed one, else the last one before the window's end
    -- (after induction only), else the baseline itself (no change, so no response).
    SELECT
        b.*,
        CASE q.timepoint WHEN 'latest' THEN b.latest_score ELSE b.after_induction_score END AS observed,
        CASE q.timepoint
            WHEN 'latest' THEN coalesce(b.latest_score, b.baseline_score)
            ELSE coalesce(b.after_induction_score, l.last_score, b.baseline_score)
        END AS carried,
        q.basis
    FROM baselines AS b
    CROSS JOIN question AS q
    LEFT JOIN last_by_window_end AS l ON l.patient_id = b.patient_id
),
judged AS (
    SELECT
        patient_id,
        -- the denominator: in the clinical range at baseline, and for completers a score at the
        -- timepoint
        coalesce(baseline_caseness AND (basis <> 'completers' OR observed IS NOT NULL), false) AS counted,
        judge_outcome(baseline_score, CASE basis WHEN 'locf' THEN carried ELSE observed END, caseness_min,
                      response_drop_pct, remission_below, remission_min_drop, reliable_change) AS flags
    FROM followups
),
per_patient AS (
    SELECT
        cohort.*,
        coalesce(judged.counted, false) AS counted,
        coalesce(judged.flags.response, false) AS responded,
        coalesce(judged.flags.remission, false) AS remitted,
        judged.patient_id IS NOT NULL AS has_baseline
    FROM cohort
    LEFT JOIN judged USING (patient_id)
),
final AS (
    SELECT
        {{group_columns}}
        count(*) AS n_patients,
        count(*) FILTER (WHERE has_baseline) AS n_baseline,
        count(*) FILTER (WHERE counted) AS n,
        count(*) FILTER (WHERE counted AND responded) AS responders,
        count(*) FILTER (WHERE counted AND remitted) AS remitters
    FROM per_patient
    GROUP BY ALL
)
SELECT * FROM final
{{order_by}}
