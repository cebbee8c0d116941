-- Where a patient is in treatment on a given day, from their infusions and the export's
-- discharge date (docs/analytics.md, "Treatment status"). One macro, so the Patient page, the
-- cohort filter and the worklist judge a course by the same rule:
--   ended          discharged on or before the day (and on or after the last infusion's date:
--                  a discharge followed by a later infusion is a re-admission, not an end),
--                  or no infusion for ended_after_days (90);
--   paused         no infusion for paused_after_days (63): beyond the longest usual
--                  maintenance interval, 2 to 8 weeks (clinical reference, "Treatment course");
--   in induction   fewer than induction_sessions (6) infusions;
--   in maintenance otherwise.
-- Days are calendar days between the last infusion's date and the day, so a patient last
-- infused exactly 63 days before is paused, 62 days before is not.
CREATE OR REPLACE MACRO treatment_status(n_infusions, last_infusion_at, discharge_date, as_of,
                                         induction_sessions, paused_after_days, ended_after_days) AS
    CASE
        WHEN discharge_date IS NOT NULL AND discharge_date <= as_of
             AND discharge_date >= last_infusion_at::DATE THEN 'ended'
        WHEN date_diff('day', last_infusion_at::DATE, as_of) >= ended_after_days THEN 'ended'
        WHEN date_diff('day', last_infusion_at::DATE, as_of) >= paused_after_days THEN 'paused'
        WHEN n_infusions < induction_sessions THEN 'in induction'
        ELSE 'in maintenance'
    END;
