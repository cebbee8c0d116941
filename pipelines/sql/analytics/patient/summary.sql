-- The header facts and safety picture of one patient (patient.patient_summary). Parameters:
-- $patient_id, and the BP excursion limits $bp_sys / $bp_dia (settings.thresholds).
-- Each per-patient CTE is MATERIALIZED so DuckDB looks the patient up first (patient.py).
WITH patient AS MATERIALIZED (
    SELECT * FROM patients WHERE patient_id = $patient_id
),
infusions AS MATERIALIZED (
    SELECT * FROM session_numbers WHERE patient_id = $patient_id
),
course AS (
    -- Treatment start is the first infusion (clinical reference); days in treatment are
    -- calendar days from the first to the latest infusion, so the figure does not change with
    -- the day the page is opened.
    SELECT
        count(*) AS n_infusions,
        min(started_at) AS first_infusion_at,
        max(started_at) AS latest_infusion_at,
        date_diff('day', min(started_at)::DATE, max(started_at)::DATE) AS days_in_treatment,
        -- BP excursion at peak (settings.thresholds; clinical reference, ketamine session data)
        count(*) FILTER (WHERE bp_peak_sys IS NOT NULL OR bp_peak_dia IS NOT NULL) AS n_infusions_with_bp,
        count(*) FILTER (WHERE bp_peak_sys >= $bp_sys OR bp_peak_dia >= $bp_dia) AS n_bp_excursions,
        min(started_at) FILTER (WHERE bp_peak_sys >= $bp_sys OR bp_peak_dia >= $bp_dia) AS first_bp_excursion_at,
        max(started_at) FILTER (WHERE bp_peak_sys >= $bp_sys OR bp_peak_dia >= $bp_dia) AS last_bp_excursion_at,
        max(bp_peak_sys) AS max_bp_peak_sys,
        max(bp_peak_dia) AS max_bp_peak_dia
    FROM infusions
),
last_infusion AS MATERIALIZED (
    -- view `last_infusions`: the latest infusion's peak (the higher of two at the same time)
    SELECT bp_peak_sys, bp_peak_dia,
           coalesce(bp_peak_sys >= $bp_sys OR bp_peak_dia >= $bp_dia, false) AS excursion
    FROM last_infusions WHERE patient_id = $patient_id
),
item9 AS MATERIALIZED (
    -- view `phq9_safety`: item 9 at the latest PHQ-9 and ever, incomplete PHQ-9s included
    SELECT * FROM phq9_safety WHERE patient_id = $patient_id
),
deterioration AS MATERIALIZED (
    -- reliable deterioration at the latest follow-up, any scale (`patient_outcomes`)
    SELECT
        coalesce(bool_or(reliable_deterioration), false) AS reliable_deterioration,
        coalesce(list(instrument ORDER BY instrument) FILTER (WHERE reliable_deterioration), []) AS deteriorated_scales
    FROM patient_outcomes WHERE patient_id = $patient_id
),
final AS (
    SELECT
        p.patient_id,
        p.primary_indication,
        p.site,
        p.clinician,
        p.sex,
        p.birth_year,
        p.intake_date,
        array_to_string(p.contraindications, ', ') AS contraindications,
        c.n_infusions,
        c.first_infusion_at,
        c.latest_infusion_at,
        c.days_in_treatment,
        coalesce(i.n_phq9, 0) AS n_phq9,
        i.latest_phq9_at,
        coalesce(i.item9_status_latest, 'no PHQ-9') AS item9_status_latest,
        i.item9_positive_latest,
        i.item9_positive_ever,
        i.first_positive_at AS item9_first_positive_at,
        i.last_positive_at AS item9_last_positive_at,
        coalesce(i.n_positive, 0) AS item9_n_positive,
        coalesce(i.n_unknown, 0) AS item9_n_unknown,
        d.reliable_deterioration,
        d.deteriorated_scales,
        c.n_infusions_with_bp,
        c.n_bp_excursions,
        c.first_bp_excursion_at,
        c.last_bp_excursion_at,
        c.max_bp_peak_sys,
        c.max_bp_peak_dia,
        l.bp_peak_sys AS last_infusion_bp_peak_sys,
        l.bp_peak_dia AS last_infusion_bp_peak_dia,
        coalesce(l.excursion, false) AS bp_excursion_last_infusion
    FROM patient AS p
    CROSS JOIN course AS c
    CROSS JOIN deterioration AS d
    LEFT JOIN item9 AS i ON true
    LEFT JOIN last_infusion AS l ON true
)
SELECT * FROM final
