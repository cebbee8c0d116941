-- Response and remission of one scale per group of a cohort, on one basis (completers,
-- intention to treat, last observation carried forward) at one timepoint (after induction,
-- latest). Definitions: docs/analytics.md, "Three bases for a headline rate"; the outcome flags
-- are the `judge_outcome` macro's (sql/views/outcome_flags.sql), so a response means the same
-- on every basis. Parameters (after the cohort's): the scale, the timepoint, the basis, and
-- the treatment-status days paused_after_days and ended_after_days (settings [treatment]).
WITH {{cohort}},
question AS (
    SELECT ? AS scale, ? AS timepoint, ? AS basis, ? AS paused_after_days, ? AS ended_after_days
),
data_end AS (
    -- the data's end: the latest infusion recorded in the clinic (as in competing/event_counts)
    SELECT max(started_at)::DATE AS data_end_on FROM sessions
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
        i.caseness_min, i.response_drop_pct, i.reliable_change, i.remission_below, i.remission_min_drop
    FROM patient_outcomes AS po
    JOIN instruments AS i ON i.code = po.instrument
    WHERE po.instrument = (SELECT scale FROM question)
),
still_in_induction AS (
    -- Patients who cannot yet have reached the after-induction window: fewer infusions than
    -- the one before the window's closing infusion (`after_induction_before_session` - 1, the
    -- 8th) and, at the data's end, neither paused nor ended (macro `treatment_status`,
    -- sql/views/treatment_status.sql). Without a score after induction they are not yet due, so
    -- only patients without one are looked at, and only when the timepoint is after induction
    -- (at 1,000,000 patients this lookup over every patient was half of a "latest" question).
    SELECT pc.patient_id
    FROM baselines AS b
    JOIN patient_cohorts AS pc ON pc.patient_id = b.patient_id
    JOIN patients AS p ON p.patient_id = pc.patient_id
    CROSS JOIN data_end AS d
    CROSS JOIN question AS q
    CROSS JOIN outcome_settings AS os
    WHERE q.timepoint = 'after_induction'
      AND b.after_induction_score IS NULL
      AND pc.n_sessions < os.after_induction_before_session - 1
      AND treatment_status(pc.n_sessions, pc.last_session_at, p.discharge_date, d.data_end_on,
                           os.induction_sessions, q.paused_after_days, q.ended_after_days)
          NOT IN ('paused', 'ended')
),
carry_needed AS (
    -- The patients whose LOCF score after induction is not their after-induction score: asked
    -- for that basis at that timepoint only, and only for patients without an after-induction
    -- score (LOCF carries the observed score when there is one). Every other question, and every
    -- other patient, skips the scan of their scores below.
    SELECT b.patient_id, b.baseline_at
    FROM baselines AS b
    CROSS JOIN question AS q
    WHERE q.timepoint = 'after_induction' AND q.basis = 'locf' AND b.after_induction_score IS NULL
),
window_ends AS (
    -- The end of the after-induction window: the start of the infusion that closes it (the
    -- 9th, `outcome_settings.after_induction_before_session`). A patient who never had it has no
    -- row: every score so far is before the window's end.
    SELECT patient_id, started_at AS window_end_at
    FROM session_numbers
    WHERE session_number = (SELECT after_induction_before_session FROM outcome_settings)
),
last_by_window_end AS (
    -- LOCF after induction: the last valid score after the baseline dated at or before the
    -- window's end (ties broken by the assessment key, as in `patient_outcomes`). The valid
    -- scores are `scores` (the assessments with a total), stored sorted by patient.
    SELECT
        b.patient_id,
        arg_max(a.total, {'at': a.administered_at, 'key': a.assessment_key}) AS last_score
    FROM carry_needed AS b
    LEFT JOIN window_ends AS w ON w.patient_id = b.patient_id
    JOIN scores AS a
        ON a.patient_id = b.patient_id AND a.instrument = (SELECT scale FROM question)
    WHERE a.administered_at > b.baseline_at
      AND (w.window_end_at IS NULL OR a.administered_at <= w.window_end_at)
    GROUP BY b.patient_id
),
followups AS (
    -- observed: the score the timepoint judges (NULL when missing: completers leave the patient
    -- out, intention to treat counts them as neither responding nor remitted);
    -- carried: LOCF's score, the observed one, else the last one before the window's end
    -- (after induction only), else the baseline itself (no change, so no response).
    SELECT
        b.*,
        s.patient_id IS NOT NULL AS in_induction_at_end,
        q.timepoint,
        CASE q.timepoint WHEN 'latest' THEN b.latest_score ELSE b.after_induction_score END AS observed,
        CASE q.timepoint
            WHEN 'latest' THEN coalesce(b.latest_score, b.baseline_score)
            ELSE coalesce(b.after_induction_score, l.last_score, b.baseline_score)
        END AS carried,
        q.basis
    FROM baselines AS b
    CROSS JOIN question AS q
    LEFT JOIN last_by_window_end AS l ON l.patient_id = b.patient_id
    LEFT JOIN still_in_induction AS s ON s.patient_id = b.patient_id
),
due AS (
    -- not yet due: after induction, in the clinical range at baseline, no score after
    -- induction, and still in induction at the data's end; left out of every basis' n.
    SELECT
        *,
        coalesce(timepoint = 'after_induction' AND baseline_caseness AND observed IS NULL
                 AND in_induction_at_end, false) AS not_yet_due
    FROM followups
),
judged AS (
    SELECT
        patient_id,
        -- the denominator: in the clinical range at baseline, not yet due excluded, and for
        -- completers a score at the timepoint
        coalesce(baseline_caseness AND NOT not_yet_due
                 AND (basis <> 'completers' OR observed IS NOT NULL), false) AS counted,
        not_yet_due,
        judge_outcome(baseline_score, CASE basis WHEN 'locf' THEN carried ELSE observed END, caseness_min,
                      response_drop_pct, remission_below, remission_min_drop, reliable_change) AS flags
    FROM due
),
patients AS (
    -- One row per patient of the cohort: counted in n_patients.
    SELECT {{group_columns}} true AS in_cohort
    FROM cohort
),
judged_in_cohort AS (
    -- One row per patient of the cohort with a baseline on the scale. Joined to the cohort only
    -- when it is filtered or grouped (`cohorts.cohort_join`): every patient with outcomes has
    -- been treated, hence is in `patient_cohorts`.
    SELECT
        {{group_columns}}
        o.counted,
        o.not_yet_due,
        coalesce(o.flags.response, false) AS responded,
        coalesce(o.flags.remission, false) AS remitted,
        true AS has_baseline
    FROM judged AS o
    {{cohort_join}}
),
per_patient AS (
    -- The counts of the cohort LEFT JOIN its judged patients, without a join over every patient
    -- for the whole clinic: n_patients counts the cohort's rows, the others the judged rows.
    SELECT * FROM patients
    UNION ALL BY NAME
    SELECT * FROM judged_in_cohort
),
final AS (
    SELECT
        {{group_columns}}
        count(*) FILTER (WHERE in_cohort) AS n_patients,
        count(*) FILTER (WHERE has_baseline) AS n_baseline,
        count(*) FILTER (WHERE counted) AS n,
        count(*) FILTER (WHERE counted AND responded) AS responders,
        count(*) FILTER (WHERE counted AND remitted) AS remitters,
        count(*) FILTER (WHERE not_yet_due) AS not_yet_due
    FROM per_patient
    GROUP BY ALL
)
SELECT * FROM final
{{order_by}}
