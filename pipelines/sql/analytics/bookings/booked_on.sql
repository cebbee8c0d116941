-- Who is booked for an infusion on a day (bookings.booked_on): one row per appointment that is
-- not cancelled or a no-show, with the patient's infusions before that day and whether their
-- pre-infusion scales are in. Parameters: the day (DATE), the window in days.
-- "Scales in": a valid score (the `scores` view) taken after the patient's last infusion before
-- the day (any time, for a patient not yet infused) and no more than the window's days before
-- the day; measurement-based care scores each infusion against the one before (clinical
-- reference, "Measurement-based care").
WITH day AS (
    SELECT ?::DATE AS day, ?::INTEGER AS window_days
),
booked AS (
    SELECT a.appointment_id, a.patient_id, a.planned_at, a.status, a.site, a.clinician, d.day, d.window_days
    FROM appointments AS a, day AS d
    WHERE a.planned_at::DATE = d.day AND a.status NOT IN ('cancelled', 'noshow')
),
infusions_before AS (
    -- the infusions given before the day, and whether one was given on it already
    SELECT
        b.appointment_id,
        count(s.session_id) FILTER (WHERE s.started_at::DATE < b.day) AS n_infusions,
        max(s.started_at) FILTER (WHERE s.started_at::DATE < b.day) AS last_infusion_at,
        count(s.session_id) FILTER (WHERE s.started_at::DATE = b.day) > 0 AS infused_today
    FROM booked AS b
    LEFT JOIN sessions AS s ON s.patient_id = b.patient_id
    GROUP BY b.appointment_id
),
scales_in AS (
    -- valid scores since the last infusion, inside the window, up to the end of the day
    SELECT
        b.appointment_id,
        list(DISTINCT sc.instrument ORDER BY sc.instrument) AS scales_in,
        max(sc.administered_at) FILTER (WHERE sc.instrument = 'PHQ-9') AS phq9_at
    FROM booked AS b
    JOIN infusions_before AS i ON i.appointment_id = b.appointment_id
    JOIN scores AS sc ON sc.patient_id = b.patient_id
        AND sc.administered_at::DATE BETWEEN b.day - b.window_days AND b.day
        AND (i.last_infusion_at IS NULL OR sc.administered_at > i.last_infusion_at)
    GROUP BY b.appointment_id
),
final AS (
    SELECT
        b.appointment_id,
        b.patient_id,
        b.planned_at,
        b.status,
        coalesce(b.site, p.site) AS site,
        coalesce(b.clinician, p.clinician) AS clinician,
        p.primary_indication,
        i.n_infusions,
        i.last_infusion_at,
        i.infused_today,
        s.phq9_at IS NOT NULL AS phq9_in,
        s.phq9_at,
        coalesce(s.scales_in, []) AS scales_in
    FROM booked AS b
    JOIN infusions_before AS i ON i.appointment_id = b.appointment_id
    LEFT JOIN scales_in AS s ON s.appointment_id = b.appointment_id
    LEFT JOIN patients AS p ON p.patient_id = b.patient_id
)
SELECT * FROM final
ORDER BY planned_at, patient_id, appointment_id
