-- Outcome views: the analyst contract. Every column is described in docs/data-dictionary.md.
-- Definitions follow the clinical reference ("Outcome definitions"); thresholds are read from
-- the `instruments` registry table and windows from `outcome_settings`, never written here.

-- Each infusion numbered within its patient's course (1 = treatment start), with dose per kg.
CREATE OR REPLACE VIEW session_numbers AS
SELECT
    s.*,
    row_number() OVER (PARTITION BY s.patient_id ORDER BY s.started_at, s.session_id) AS session_number,
    round(s.dose_mg / s.weight_kg, 3) AS dose_mg_per_kg
FROM sessions AS s;


-- One row per assessment with a valid total (complete, prorated or total-only); incomplete
-- administrations (too many items missing) are left out, as the reference requires.
CREATE OR REPLACE VIEW scores AS
WITH valid AS (
    SELECT * FROM assessments WHERE total IS NOT NULL
),
first_sessions AS (
    SELECT patient_id, min(started_at) AS first_session_at FROM sessions GROUP BY patient_id
),
numbered AS (
    -- sessions_before: infusions started strictly before the assessment (a pre-infusion score
    -- for infusion k has k - 1 before it). ASOF finds the latest earlier infusion per row.
    SELECT v.*, coalesce(sn.session_number, 0) AS sessions_before
    FROM valid AS v
    ASOF LEFT JOIN session_numbers AS sn
        ON sn.patient_id = v.patient_id AND v.administered_at > sn.started_at
),
final AS (
    SELECT
        n.patient_id,
        n.instrument,
        n.administered_at,
        n.total,
        b.label AS severity,
        n.complete,
        n.prorated,
        n.item9_positive,
        n.sessions_before,
        date_diff('day', f.first_session_at::DATE, n.administered_at::DATE) AS days_since_first_session,
        n.assessment_key,
        n.session_id,
        n.total_only
    FROM numbered AS n
    JOIN instruments AS i ON i.code = n.instrument
    LEFT JOIN instrument_bands AS b ON b.code = n.instrument AND n.total BETWEEN b.low AND b.high
    LEFT JOIN first_sessions AS f ON f.patient_id = n.patient_id
)
SELECT * FROM final;


-- One row per patient and scale that has a baseline.
-- Written as grouped aggregates over the valid assessments (arg_max/arg_min with the time and
-- the key as the ordering, so ties resolve the same way every time) rather than windows over
-- the `scores` view: one pass over the assessments, fast on millions of rows.
CREATE OR REPLACE VIEW patient_outcomes AS
WITH settings AS (
    SELECT * FROM outcome_settings
),
course AS (
    -- Treatment start, and the start times that bound the "after induction" window.
    SELECT
        patient_id,
        min(started_at) AS first_session_at,
        max(started_at) FILTER (WHERE session_number = (SELECT induction_sessions FROM settings)) AS induction_done_at,
        max(started_at) FILTER (WHERE session_number = (SELECT after_induction_before_session FROM settings)) AS window_end_at
    FROM session_numbers
    GROUP BY patient_id
),
valid AS (
    SELECT a.patient_id, a.instrument, a.administered_at, a.total, {'at': a.administered_at, 'key': a.assessment_key} AS ordering
    FROM assessments AS a
    WHERE a.total IS NOT NULL
),
baseline AS (
    -- Latest valid score dated from (first-session date - window) to the first session's start,
    -- both ends included: 30 days before counts, 31 does not; after the start does not.
    SELECT
        v.patient_id,
        v.instrument,
        max(v.administered_at) AS baseline_at,
        arg_max(v.total, v.ordering) AS baseline_score
    FROM valid AS v
    JOIN course AS c ON c.patient_id = v.patient_id
    WHERE v.administered_at::DATE >= c.first_session_at::DATE - to_days((SELECT baseline_window_days FROM settings))
      AND v.administered_at <= c.first_session_at
    GROUP BY v.patient_id, v.instrument
),
followed AS (
    -- Follow-ups are the valid scores after the baseline. After induction: the first one after
    -- the 6th infusion started and not after the 9th started (settings) - the scores with 6 to 8
    -- infusions before them, as `sessions_before` counts them, so a pre-infusion score stamped
    -- with the 6th infusion's start reflects 5 infusions and is out.
    SELECT
        b.patient_id,
        b.instrument,
        count(*) AS n_followups,
        max(v.administered_at) AS latest_at,
        arg_max(v.total, v.ordering) AS latest_score,
        min(v.administered_at) FILTER (WHERE v.administered_at > c.induction_done_at
            AND (c.window_end_at IS NULL OR v.administered_at <= c.window_end_at)) AS after_induction_at,
        arg_min(v.total, v.ordering) FILTER (WHERE v.administered_at > c.induction_done_at
            AND (c.window_end_at IS NULL OR v.administered_at <= c.window_end_at)) AS after_induction_score
    FROM baseline AS b
    JOIN valid AS v ON v.patient_id = b.patient_id AND v.instrument = b.instrument
    JOIN course AS c ON c.patient_id = b.patient_id
    WHERE v.administered_at > b.baseline_at
    GROUP BY b.patient_id, b.instrument
),
joined AS (
    SELECT
        b.patient_id,
        b.instrument,
        c.first_session_at,
        b.baseline_at,
        b.baseline_score,
        f.latest_at,
        f.latest_score,
        f.after_induction_at,
        f.after_induction_score,
        coalesce(f.n_followups, 0) AS n_followups,
        f.latest_score - b.baseline_score AS change,
        i.*
    FROM baseline AS b
    JOIN course AS c ON c.patient_id = b.patient_id
    JOIN instruments AS i ON i.code = b.instrument
    LEFT JOIN followed AS f ON f.patient_id = b.patient_id AND f.instrument = b.instrument
),
judged AS (
    SELECT *, judge_outcome(baseline_score, latest_score, caseness_min, response_drop_pct, remission_below,
                            remission_min_drop, reliable_change) AS flags
    FROM joined
),
final AS (
    SELECT
        patient_id,
        instrument,
        baseline_at,
        baseline_score,
        latest_at,
        latest_score,
        after_induction_score,
        n_followups,
        change,
        -- Percent change = 100 x change / baseline; undefined (NULL) for a baseline of 0.
        CASE WHEN baseline_score > 0 THEN round(100.0 * change / baseline_score, 1) END AS pct_change,
        baseline_score >= caseness_min AS baseline_caseness,
        -- Judged on the latest follow-up (outcome_flags.sql has the definitions).
        flags.response,
        flags.remission,
        flags.reliable_improvement,
        flags.reliable_deterioration,
        flags.recovery,
        flags.reliable_recovery,
        first_session_at,
        after_induction_at
    FROM judged
)
SELECT * FROM final;


-- One row per patient who has started treatment (at least one infusion): the attributes
-- every cohort filter and grouping uses. Age is at the first infusion; the dose band is
-- the mean weight-based dose of the patient's IV/IM infusions (intranasal esketamine is a
-- fixed dose and has its own band).
CREATE OR REPLACE VIEW patient_cohorts AS
WITH course AS (
    SELECT
        patient_id,
        min(started_at) AS first_session_at,
        max(started_at) AS last_session_at,
        count(*) AS n_sessions,
        arg_min(route, started_at) AS route,
        avg(dose_mg / weight_kg) FILTER (WHERE route IN ('iv', 'im')) AS mean_dose_mg_per_kg
    FROM sessions
    GROUP BY patient_id
),
final AS (
    SELECT
        p.patient_id,
        p.site,
        p.clinician,
        p.primary_indication,
        p.sex,
        p.birth_year,
        year(c.first_session_at) - p.birth_year AS age_at_start,
        CASE
            WHEN p.birth_year IS NULL THEN NULL  -- age unknown: not the oldest band
            WHEN year(c.first_session_at) - p.birth_year < 25 THEN '18-24'
            WHEN year(c.first_session_at) - p.birth_year < 35 THEN '25-34'
            WHEN year(c.first_session_at) - p.birth_year < 45 THEN '35-44'
            WHEN year(c.first_session_at) - p.birth_year < 55 THEN '45-54'
            WHEN year(c.first_session_at) - p.birth_year < 65 THEN '55-64'
            ELSE '65+'
        END AS age_band,
        c.route,
        round(c.mean_dose_mg_per_kg, 3) AS mean_dose_mg_per_kg,
        CASE
            WHEN c.route = 'intranasal' THEN 'intranasal (fixed dose)'
            WHEN c.mean_dose_mg_per_kg IS NULL THEN 'unknown'
            WHEN c.mean_dose_mg_per_kg < 0.6 THEN 'under 0.6 mg/kg'
            WHEN c.mean_dose_mg_per_kg < 0.8 THEN '0.6-0.8 mg/kg'
            ELSE '0.8 mg/kg or more'
        END AS dose_band,
        c.first_session_at,
        c.last_session_at,
        c.n_sessions,
        date_trunc('month', c.first_session_at)::DATE AS start_month
    FROM patients AS p
    JOIN course AS c ON c.patient_id = p.patient_id
)
SELECT * FROM final;
