-- Treated patients of the cohort without a baseline on a scale, and why: one row per patient
-- and scale. A step (`reasoned`) of patients_without_baseline.sql and baseline_coverage.sql,
-- so the rule is written once; the cohort's CTE `cohort` comes from the including query, and
-- `{{cohort_join}}` joins `patient_cohorts AS pc` to it.
-- Baseline (docs/scoring.md, "Baseline"): the latest valid score from the first infusion's date
-- minus the window up to its start, read from the same `outcome_settings` table the
-- `patient_outcomes` view reads, so "no baseline" here is exactly "no row in `patient_outcomes`".
WITH window_setting AS (
    -- The baseline window the `patient_outcomes` view uses (outcome_settings, 30 days by default).
    SELECT baseline_window_days AS days FROM outcome_settings
),
treated AS (
    SELECT pc.patient_id, pc.site, pc.clinician, pc.first_session_at
    FROM patient_cohorts AS pc
    {{cohort_join}}
),
expected AS (
    -- Who should have a baseline on which scale: PHQ-9 for every treated patient (the clinic's
    -- primary measure; the worklist flags "no PHQ-9 baseline" too), any other scale once the
    -- patient has been given it at all.
    SELECT patient_id, 'PHQ-9' AS instrument FROM treated
    UNION
    SELECT DISTINCT a.patient_id, a.instrument
    FROM assessments AS a
    SEMI JOIN treated AS t ON t.patient_id = a.patient_id
),
missing AS (
    -- ... and has none: no row in `patient_outcomes`.
    SELECT e.*
    FROM expected AS e
    ANTI JOIN patient_outcomes AS o ON o.patient_id = e.patient_id AND o.instrument = e.instrument
),
placed AS (
    -- Each administration of a missing scale, placed against the baseline window (clinical
    -- reference: from the first infusion's date minus the window, both ends included, up to
    -- the first infusion's start). Valid = has a total (the `scores` view's rule).
    SELECT
        a.patient_id,
        a.instrument,
        a.administered_at,
        a.total IS NOT NULL AS valid,
        CASE
            WHEN a.administered_at > t.first_session_at THEN 'after_start'
            WHEN a.administered_at::DATE < t.first_session_at::DATE - to_days(w.days) THEN 'too_early'
            ELSE 'in_window'
        END AS place
    FROM missing AS m
    JOIN assessments AS a ON a.patient_id = m.patient_id AND a.instrument = m.instrument
    JOIN treated AS t ON t.patient_id = m.patient_id
    CROSS JOIN window_setting AS w
),
per_scale AS (
    SELECT
        patient_id,
        instrument,
        count(*) AS n_administrations,
        count(*) FILTER (WHERE NOT valid AND place = 'in_window') AS incomplete_in_window,
        max(administered_at) FILTER (WHERE valid AND place = 'too_early') AS latest_too_early_at,
        min(administered_at) FILTER (WHERE valid AND place = 'after_start') AS first_after_start_at
    FROM placed
    GROUP BY ALL
),
final AS (
    -- The reason, the first that applies (coverage.BASELINE_GAP_REASONS).
    SELECT
        m.patient_id,
        m.instrument,
        t.site,
        t.clinician,
        t.first_session_at,
        CASE
            WHEN s.incomplete_in_window > 0 THEN 'only_incomplete'
            WHEN s.latest_too_early_at IS NOT NULL THEN 'only_too_early'
            WHEN s.n_administrations > 0 THEN 'none_before_start'
            ELSE 'never_recorded'
        END AS reason,
        s.latest_too_early_at,
        date_diff('day', s.latest_too_early_at::DATE, t.first_session_at::DATE) AS days_too_early,
        s.first_after_start_at,
        coalesce(s.n_administrations, 0) AS n_administrations
    FROM missing AS m
    JOIN treated AS t ON t.patient_id = m.patient_id
    LEFT JOIN per_scale AS s ON s.patient_id = m.patient_id AND s.instrument = m.instrument
)
SELECT * FROM final
