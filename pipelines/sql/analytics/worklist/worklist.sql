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
    -- Everything the reasons are judged on that depends neither on the day nor on the settings:
    -- one stored row per treated patient (view `worklist_patients`: the cohort attributes, the
    -- latest PHQ-9 and its item 9, reliable deterioration on any scale, the last infusion's peak
    -- blood pressure).
    SELECT pc.*
    FROM worklist_patients AS pc
    {{cohort_join}}
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
        c.latest_phq9_score,
        c.latest_phq9_score_at AS latest_phq9_at,
        -- (1) item 9 > 0 at the latest PHQ-9, complete or not (view `phq9_safety`)
        coalesce(c.item9_positive_latest, false) AS item9_positive,
        -- (1b) item 9 unanswered at the latest PHQ-9: unknown, never negative (clinical reference)
        c.latest_phq9_at IS NOT NULL AND c.item9_positive_latest IS NULL AS item9_unknown,
        -- (2) reliable deterioration on any scale at the latest follow-up
        coalesce(c.reliable_deterioration, false) AS reliable_deterioration,
        -- (3) PHQ-9 improvement worse than the clinic's expected trajectory
        n.patient_id IS NOT NULL AS not_on_track,
        -- (4) BP excursion at the last infusion
        coalesce(c.last_bp_peak_sys >= w.bp_systolic OR c.last_bp_peak_dia >= w.bp_diastolic, false)
            AS bp_excursion_last_infusion,
        -- (5) treated, but no PHQ-9 baseline
        c.has_phq9_baseline IS NOT TRUE AS no_baseline,
        -- (6) in active treatment and no valid PHQ-9 within the last phq9_overdue_days days
        c.last_session_at::DATE >= w.as_of - w.active_treatment_days
            AND (c.latest_phq9_score_at IS NULL OR c.latest_phq9_score_at::DATE < w.as_of - w.phq9_overdue_days)
            AS phq9_overdue,
        -- (7) mid-induction with a recent infusion, and no valid PHQ-9 since it started
        c.n_sessions < w.induction_sessions
            AND c.last_session_at::DATE >= w.as_of - w.upcoming_infusion_days
            AND (c.latest_phq9_score_at IS NULL OR c.latest_phq9_score_at <= c.last_session_at)
            AS pre_infusion_phq9_missing,
        c.deteriorated_scales,
        c.last_bp_peak_sys AS last_peak_systolic,
        c.last_bp_peak_dia AS last_peak_diastolic,
        w.phq9_overdue_days
    FROM treated AS c
    CROSS JOIN worklist_settings AS w
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
