"""The worklist: which patients need a clinician's attention now, and every reason why.

Why one list: the safety signals (item 9, deterioration, blood pressure) and the
measurement-based-care gaps (no baseline, overdue PHQ-9, a pre-infusion score missing) are
each easy to compute but easy to miss when they live on different pages. One row per patient
with all of their reasons lets a clinician work down a single list, sorted so that patients
with the most reasons, and item 9 among them, come first.

All per-patient logic is one DuckDB query of named CTEs; Python only supplies the settings,
the date the list is "as of", and the not-on-track patients from the expected-trajectory
module. Definitions follow the clinical reference (docs/scoring.md, with each rule's published source).
"""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd

from .cohorts import CohortFilter
from .expected import patients_not_on_track
from .frames import patient_rows
from .safety import PHQ9_PER_PATIENT

# "Mid-induction" needs a recent infusion: the induction schedule is two or three infusions a
# week, so a patient whose last infusion is more than a week old is not about to have the next.
UPCOMING_INFUSION_DAYS = 7

# Boolean reason columns, in the order the `reasons` list gives them (most urgent first).
REASON_COLUMNS = (
    "item9_positive",
    "item9_unknown",
    "reliable_deterioration",
    "not_on_track",
    "bp_excursion_last_infusion",
    "no_baseline",
    "phq9_overdue",
    "pre_infusion_phq9_missing",
)

WORKLIST_SQL = """
WITH worklist_settings AS (
    SELECT
        ?::DATE AS as_of,
        ?::INTEGER AS bp_systolic,
        ?::INTEGER AS bp_diastolic,
        ?::INTEGER AS active_treatment_days,
        ?::INTEGER AS phq9_overdue_days,
        ?::INTEGER AS induction_sessions,
        ?::INTEGER AS upcoming_infusion_days
),
cohort AS (
    SELECT c.patient_id, c.site, c.clinician, c.primary_indication, c.last_session_at, c.n_sessions
    FROM patient_cohorts AS c
    WHERE {cohort}
),
{phq9},
last_infusion AS (
    -- The patient's most recent infusion (view `last_infusions`) and whether its peak BP was an
    -- excursion.
    SELECT
        patient_id,
        {{'systolic': bp_peak_sys, 'diastolic': bp_peak_dia,
          'excursion': coalesce(bp_peak_sys >= w.bp_systolic OR bp_peak_dia >= w.bp_diastolic, false)}} AS last
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
    SELECT DISTINCT patient_id FROM {not_on_track}
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
        -- (1) item 9 > 0 at the latest PHQ-9, complete or not
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
    FROM cohort AS c
    CROSS JOIN worklist_settings AS w
    LEFT JOIN phq9_per_patient AS p ON p.patient_id = c.patient_id
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
    -- Only patients with a reason get their phrases built.
    SELECT
        patient_id,
        site,
        clinician,
        primary_indication,
        last_infusion_at,
        n_infusions,
        latest_phq9_score,
        latest_phq9_at,
        list_filter([
            CASE WHEN item9_positive THEN 'item 9 positive at latest PHQ-9 (thoughts of death or self-harm)' END,
            CASE WHEN item9_unknown THEN 'item 9 unanswered at latest PHQ-9 (safety status unknown)' END,
            CASE WHEN reliable_deterioration
                 THEN 'reliable deterioration: ' || array_to_string(deteriorated_scales, ', ') END,
            CASE WHEN not_on_track THEN 'not on track: PHQ-9 improvement below expected' END,
            CASE WHEN bp_excursion_last_infusion
                 THEN format('BP excursion at last infusion (peak {{}}/{{}} mmHg)',
                             coalesce(last_peak_systolic::VARCHAR, '?'),
                             coalesce(last_peak_diastolic::VARCHAR, '?')) END,
            CASE WHEN no_baseline THEN 'no PHQ-9 baseline' END,
            CASE WHEN phq9_overdue
                 THEN format('PHQ-9 overdue (none in {{}} days, in active treatment)', phq9_overdue_days) END,
            CASE WHEN pre_infusion_phq9_missing THEN 'no PHQ-9 since last infusion (mid-induction)' END
        ], lambda reason: reason IS NOT NULL) AS reasons,
        n_reasons,
        item9_positive,
        item9_unknown,
        reliable_deterioration,
        not_on_track,
        bp_excursion_last_infusion,
        no_baseline,
        phq9_overdue,
        pre_infusion_phq9_missing
    FROM counted
    WHERE n_reasons > 0
)
SELECT * FROM final
ORDER BY n_reasons DESC, item9_positive DESC, item9_unknown DESC, patient_id
"""


def default_as_of(con) -> dt.date | None:
    """The date of the latest infusion in the database (None without infusions)."""
    [(latest,)] = con.execute("SELECT max(started_at)::DATE FROM sessions").fetchall()
    return latest


def _not_on_track_ids(con, settings) -> pd.DataFrame:
    """Patients whose PHQ-9 improvement is behind the clinic's expected trajectory (`patient_id`).

    Handed to the query as a registered frame: binding tens of thousands of ids as a list
    parameter costs more than the rest of the worklist's joins.
    """
    return patients_not_on_track(con, settings, scale="PHQ-9")[["patient_id"]]


def worklist(con, settings, as_of: dt.date | None = None, cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Patients of the cohort who need attention now: one row per patient with at least one reason.

    Reasons (a boolean column each, and together a list `reasons` of short clinical phrases):

    1. `item9_positive` - PHQ-9 item 9 > 0 at the latest PHQ-9 administration, incomplete ones
       included (`assessments`; clinical reference: a safety flag whatever the total).
       `item9_unknown` - item 9 unanswered at the latest PHQ-9: the safety status is unknown,
       never negative (clinical reference), so the clinician asks before the infusion.
    2. `reliable_deterioration` - reliable deterioration on any scale at the latest follow-up
       (`patient_outcomes`).
    3. `not_on_track` - PHQ-9 improvement worse than the clinic's expected trajectory
       (`pipelines.analytics.expected.patients_not_on_track`, judged on all data loaded).
    4. `bp_excursion_last_infusion` - peak systolic >= settings.thresholds.bp_excursion_systolic
       or diastolic >= bp_excursion_diastolic at the patient's last infusion (of two at the same
       latest time, the higher peaks, so an excursion at either counts).
    5. `no_baseline` - treated, but no PHQ-9 row in `patient_outcomes` (no valid PHQ-9 in the
       baseline window).
    6. `phq9_overdue` - in active treatment (last infusion dated within
       settings.thresholds.active_treatment_days days before `as_of`) and no valid PHQ-9 dated
       within phq9_overdue_days days before `as_of` (one exactly that many days before is in time).
    7. `pre_infusion_phq9_missing` - an upcoming infusion without a pre-infusion score. Future
       sessions are quarantined at ingest, so "upcoming" is inferred: the patient is
       mid-induction (fewer than settings.induction_sessions infusions, the last one dated within
       7 days before `as_of`) and no valid PHQ-9 was taken after the last infusion started (a
       score stamped at that start belongs to that infusion).

    "Valid PHQ-9" means one with a total, as the `scores` view defines it. `as_of` is the day the
    list is for. It defaults to the date of the latest infusion in the database rather than
    today, so a database loaded from an export (such as the synthetic sample, which ends in
    October 2026) gives the list as it stood when the data ends. It only sets the windows of
    reasons 6 and 7, counted in calendar days; data dated after `as_of` is not excluded (the
    ingest keeps future rows out, so with the default there is none). Reasons 1-5 use all data.

    Columns: `patient_id`, `site`, `clinician`, `primary_indication`, `last_infusion_at`,
    `n_infusions`, `latest_phq9_score` and `latest_phq9_at` (latest valid PHQ-9; of two at the
    same time, the higher), `reasons` (per row an array of phrases, as DuckDB returns lists, in
    the order above), `n_reasons`, then the eight boolean reason columns (REASON_COLUMNS).
    Sorted by number of reasons (most first), then item 9 positive, then unknown, then patient id.
    `frame.attrs["as_of"]` holds the date used. An empty cohort, or a database without
    infusions, gives an empty frame.
    """
    as_of = as_of if as_of is not None else default_as_of(con)
    thresholds = settings.thresholds
    where, cohort_params = cohort.where("c")
    params = [
        as_of,
        thresholds.bp_excursion_systolic,
        thresholds.bp_excursion_diastolic,
        thresholds.active_treatment_days,
        thresholds.phq9_overdue_days,
        settings.induction_sessions,
        UPCOMING_INFUSION_DAYS,
        *cohort_params,
    ]
    behind = f"worklist_not_on_track_{threading.get_ident()}"
    con.register(behind, _not_on_track_ids(con, settings))
    try:
        frame = patient_rows(con, WORKLIST_SQL.format(cohort=where, phq9=PHQ9_PER_PATIENT, not_on_track=behind), params)
    finally:
        con.unregister(behind)
    frame.attrs["as_of"] = as_of
    return frame
