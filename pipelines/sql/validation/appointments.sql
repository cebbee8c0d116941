-- Appointments export (one planned infusion per row) -> typed rows with their problems.
-- Parameters: $clinic_tz. A planned time may be in the future (that is the point); it must be
-- a real date-time. Statuses follow FHIR R4 Appointment.status
-- (https://hl7.org/fhir/R4/valueset-appointmentstatus.html); `scheduled` and `planned` are read
-- as booked, a blank status as booked.
WITH typed AS (
    SELECT
        s.source_row,
        s.appointment_id                               AS appointment_id,
        s.patient_id                                   AS patient_id,
        s.planned_at                                   AS planned_text,
        local_time(s.planned_at, $clinic_tz)           AS planned_at,
        s.status                                       AS status_text,
        CASE regexp_replace(lower(coalesce(s.status, 'booked')), '[^a-z]', '', 'g')
            WHEN 'booked' THEN 'booked' WHEN 'scheduled' THEN 'booked' WHEN 'planned' THEN 'booked'
            WHEN 'pending' THEN 'pending' WHEN 'proposed' THEN 'proposed'
            WHEN 'arrived' THEN 'arrived' WHEN 'checkedin' THEN 'arrived'
            WHEN 'fulfilled' THEN 'fulfilled' WHEN 'cancelled' THEN 'cancelled' WHEN 'canceled' THEN 'cancelled'
            WHEN 'noshow' THEN 'noshow' WHEN 'waitlist' THEN 'proposed'
        END                                                  AS status,
        s.site                                         AS site,
        s.clinician                                    AS clinician
    FROM staged AS s
),
checked AS (
    SELECT
        t.*,
        list_filter([
            CASE WHEN t.appointment_id IS NULL THEN problem('missing_value', 'appointment_id is missing') END,
            CASE
                WHEN t.patient_id IS NULL THEN problem('missing_value', 'patient_id is missing')
                WHEN p.patient_id IS NULL
                    THEN problem('unknown_patient', format('patient {} is not loaded (missing from the patients export, or quarantined)', t.patient_id))
            END,
            CASE
                WHEN t.planned_text IS NULL THEN problem('missing_value', 'planned_at is missing')
                WHEN t.planned_at IS NULL AND iso_shaped(t.planned_text)
                    THEN problem('impossible_date', format('planned_at "{}" is not a real date', t.planned_text))
                WHEN t.planned_at IS NULL
                    THEN problem('unparseable_date', format('planned_at "{}" is not an ISO 8601 date-time', t.planned_text))
            END,
            CASE WHEN t.status IS NULL
                THEN problem('unknown_code', format('status "{}" is not one of booked, pending, proposed, arrived, '
                    'fulfilled, cancelled, noshow', t.status_text)) END
        ], lambda x: x IS NOT NULL) AS problems
    FROM typed AS t
    LEFT JOIN patients AS p ON p.patient_id = t.patient_id
),
final AS (
    -- one row per staged row: the typed values to load and the row's problems
    SELECT
        source_row,
        problems,
        appointment_id                         AS record_key,
        appointment_id,
        patient_id,
        planned_at,
        status,
        site,
        clinician
    FROM checked
)
SELECT * FROM final
