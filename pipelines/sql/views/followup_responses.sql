-- Views for time to response (pipelines/analytics/survival.py). Run by init_db after views/outcomes.sql.

-- Every valid follow-up of a patient in the clinical range at baseline, with whether it meets
-- its scale's response criterion: a reduction of at least `instruments.response_drop_pct`
-- (PHQ-9 50%, pain 30%), the same integer test as `patient_outcomes.response`. The
-- population is that of the response rates (clinical reference, "Caseness").
CREATE OR REPLACE VIEW followup_responses AS
WITH final AS (
    SELECT
        s.patient_id,
        s.instrument,
        s.administered_at,
        s.sessions_before,
        s.days_since_first_session AS days,
        (o.baseline_score - s.total) * 100 >= i.response_drop_pct * o.baseline_score AS responded
    FROM scores AS s
    JOIN patient_outcomes AS o ON o.patient_id = s.patient_id AND o.instrument = s.instrument
    JOIN instruments AS i ON i.code = s.instrument
    WHERE o.baseline_caseness AND s.administered_at > o.baseline_at
)
SELECT * FROM final;
