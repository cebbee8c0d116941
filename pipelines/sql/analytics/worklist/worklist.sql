-- The worklist (worklist.worklist): patients of the cohort who need attention now, one row per
-- patient with every reason. Definitions: docs/scoring.md (the clinical reference). Parameters
-- after the cohort's: the settings of `worklist_settings`, then the wording of the reasons
-- (`wording`, from worklist.REASONS: a `{}` marks where format() puts the details).
-- `{{caller}}` names the registered not-on-track patients of this thread.
WITH {{cohort}},
worklist_settings AS (
    SELECT
        ?::DATE AS as_of,
        ?::INTEGER AS bp_systolic,
        ?::INTEGER AS bp_diastolic,
        ?::INTEGER AS active_treatment_days,
        ?::INTEGER AS phq9_overdue_days,
        ?::INTEGER AS induction_sessions,
        ?::INTEGER AS upcoming_infusion_days
),
wording AS (
    -- The phrase of each reason, by reason column (a struct: item9_positive, item9_unknown, ...).
    SELECT ? AS phrase
),
treated AS (
    SELECT pc.patient_id, pc.site, pc.clinician, pc.primary_indication, pc.last_session_at, pc.n_sessions
    FROM patient_cohorts AS pc
    {{cohort_join}}
),
last_infusion AS (
    -- The patient's most recent infusion (view `last_infusions`) and whether its peak BP was an
    -- excursion.
    SELECT
        patient_id,
        {'systolic': bp_peak_sys, 'diastolic': bp_peak_dia,
         'excursion': coalesce(bp_peak_sys >= w.bp_systolic OR bp_peak_dia >= w.bp_diastolic, false)} AS last
    FROM last_infusions, worklist_settings AS w
),
outcomes AS (
    -- Reliable deterioration on any scale at the latest follow-up; a PHQ-9 row = a PHQ-9 baseline.
    SELECT
        patient_id,
        bool_or(reliable_deterioration) AS reliable_deterioration,
        list(instrument ORDER BY instrument) FILTER (WHERE reliable_deterioration) AS deteriorated_scales,
        bool_or(instrument = 'PHQ-9') AS has_phq9_baseline
    FROM patient_outcomes
    GROUP BY patient_id
),
not_on_track AS (
    SELECT DISTINCT patient_id FROM worklist_not_on_track{{caller}}
),
flags AS (
    SELECT
        c.patient_id,
        c.site,
        c.clinician,
        c.primary_indication,
        c.last_session_at AS last_infusion_at,
        c.n_sessions AS n_infusions,
        p.latest_score AS latest_phq9_score,
        p.latest_score_at AS latest_phq9_at,
        -- (1) item 9 > 0 at the latest PHQ-9, complete or not (view `phq9_safety`)
        coalesce(p.item9_positive_latest, false) AS item9_positive,
        -- (1b) item 9 unanswered at the latest PHQ-9: unknown, never negative (clinical reference)
        p.latest_phq9_at IS NOT NULL AND p.item9_positive_latest IS NULL AS item9_unknown,
        -- (2) reliable deterioration on any scale at the latest follow-up
        coalesce(o.reliable_deterioration, false) AS reliable_deterioration,
        -- (3) PHQ-9 improvement worse than the clinic's expected trajectory
        n.patient_id IS NOT NULL AS not_on_track,
        -- (4) BP excursion at the last infusion
        coalesce(l.last.excursion, false) AS bp_excursion_last_infusion,
        -- (5) treated, but no PHQ-9 baseline
        o.has_phq9_baseline IS NOT TRUE AS no_baseline,
        -- (6) in active treatment and no valid PHQ-9 within the last phq9_overdue_days days
        c.last_session_at::DATE >= w.as_of - w.active_treatment_days
            AND (p.latest_score_at IS NULL OR p.latest_score_at::DATE < w.as_of - w.phq9_overdue_days)
            AS phq9_overdue,
        -- (7) mid-induction with a recent infusion, and no valid PHQ-9 since it started
        c.n_sessions < w.induction_sessions
            AND c.last_session_at::DATE >= w.as_of - w.upcoming_infusion_days
            AND (p.latest_score_at IS NULL OR p.latest_score_at <= c.last_session_at)
            AS pre_infusion_phq9_missing,
        o.deteriorated_scales,
        l.last.systolic AS last_peak_systolic,
        l.last.diastolic AS last_peak_diastolic,
        w.phq9_overdue_days
    FROM treated AS c
    CROSS JOIN worklist_settings AS w
    LEFT JOIN phq9_safety AS p ON p.patient_id = c.patient_id
    LEFT JOIN outcomes AS o ON o.patient_id = c.patient_id
    LEFT JOIN last_infusion AS l ON l.patient_id = c.patient_id
    LEFT JOIN not_on_track AS n ON n.patient_id = c.patient_id
),
counted AS (
    SELECT
        *,
        item9_positive::INTEGER + item9_unknown::INTEGER + reliable_deterioration::INTEGER + not_on_track::INTEGER
            + bp_excursion_last_infusion::INTEGER + no_baseline::INTEGER + phq9_overdue::INTEGER
            + pre_infusion_phq9_missing::INTEGER AS n_reasons
    FROM flags
),
final AS (
    -- Only patients with a reason get their phrases built, in the order of worklist.REASONS.
    SELECT
        r.patient_id,
        r.site,
        r.clinician,
        r.primary_indication,
        r.last_infusion_at,
        r.n_infusions,
        r.latest_phq9_score,
        r.latest_phq9_at,
        list_filter([
            CASE WHEN r.item9_positive THEN format(t.phrase.item9_positive) END,
            CASE WHEN r.item9_unknown THEN format(t.phrase.item9_unknown) END,
            CASE WHEN r.reliable_deterioration
                 THEN format(t.phrase.reliable_deterioration, array_to_string(r.deteriorated_scales, ', ')) END,
            CASE WHEN r.not_on_track THEN format(t.phrase.not_on_track) END,
            CASE WHEN r.bp_excursion_last_infusion
                 THEN format(t.phrase.bp_excursion_last_infusion, coalesce(r.last_peak_systolic::VARCHAR, '?'),
                             coalesce(r.last_peak_diastolic::VARCHAR, '?')) END,
            CASE WHEN r.no_baseline THEN format(t.phrase.no_baseline) END,
            CASE WHEN r.phq9_overdue THEN format(t.phrase.phq9_overdue, r.phq9_overdue_days) END,
            CASE WHEN r.pre_infusion_phq9_missing THEN format(t.phrase.pre_infusion_phq9_missing) END
        ], lambda reason: reason IS NOT NULL) AS reasons,
        r.n_reasons,
        r.item9_positive,
        r.item9_unknown,
        r.reliable_deterioration,
        r.not_on_track,
        r.bp_excursion_last_infusion,
        r.no_baseline,
        r.phq9_overdue,
        r.pre_infusion_phq9_missing
    FROM counted AS r
    CROSS JOIN wording AS t
    WHERE r.n_reasons > 0
)
SELECT * FROM final
ORDER BY n_reasons DESC, item9_positive DESC, item9_unknown DESC, patient_id
