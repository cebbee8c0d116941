"""The worklist: which patients need a clinician's attention now, and every reason why.

Why one list: the safety signals (item 9, deterioration, blood pressure) and the
measurement-based-care gaps (no baseline, overdue PHQ-9, a pre-infusion score missing) are
each easy to compute but easy to miss when they live on different pages. One row per patient
with all of their reasons lets a clinician work down a single list, sorted so that patients
with the most reasons, and item 9 among them, come first.

All per-patient logic is one DuckDB query of named CTEs; Python only supplies the settings,
the date the list is "as of", and the not-on-track patients from the expected-trajectory
module. Definitions follow the clinical reference, as docs/scoring.md documents them.

The reasons are worded once, here (`REASONS`): the list's phrases, the chart's and the
filter's labels and the patient summary's safety flags all read them, so a reason reads the
same on every page.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pandas as pd

from .cohorts import CohortFilter, cohort_query
from .expected import patients_not_on_track
from .frames import patient_rows
from .freshness import clinic_today

# "Mid-induction" needs a recent infusion: the induction schedule is two or three infusions a
# week, so a patient whose last infusion is more than a week old is not about to have the next.
UPCOMING_INFUSION_DAYS = 7


@dataclass(frozen=True)
class Reason:
    """One reason a patient is on the worklist, in words.

    `column`: the worklist's boolean column. `label`: its short name (the chart's bars, the
    page's filter and counts). `phrase`: the clinical phrase in a row's `reasons`; each `{}`
    is filled with a detail (the scales, the peak BP, the days), by DuckDB's format() in the
    query and by `reason_phrase` elsewhere. `safety`: a safety signal (drawn in the alert
    colour) rather than a gap in measurement-based care.
    """

    column: str
    label: str
    phrase: str
    safety: bool


# The reasons, most urgent first: the order of a row's `reasons` and of every list of them.
REASONS = (
    Reason("item9_positive", "Item 9 positive (thoughts of death or self-harm)",
           "item 9 positive at latest PHQ-9 (thoughts of death or self-harm)", safety=True),
    Reason("item9_unknown", "Item 9 unanswered (safety unknown)",
           "item 9 unanswered at latest PHQ-9 (safety status unknown)", safety=True),
    Reason("reliable_deterioration", "Reliable deterioration",
           "reliable deterioration since baseline: {}", safety=True),
    Reason("not_on_track", "Not on track (PHQ-9 behind expected)",
           "not on track: PHQ-9 improvement below expected", safety=False),
    Reason("bp_excursion_last_infusion", "BP excursion at last infusion",
           "BP excursion at last infusion (peak {}/{} mmHg)", safety=True),
    Reason("no_baseline", "No PHQ-9 baseline", "no PHQ-9 baseline", safety=False),
    Reason("phq9_overdue", "PHQ-9 overdue", "PHQ-9 overdue (none in {} days, in active treatment)", safety=False),
    Reason("pre_infusion_phq9_missing", "No PHQ-9 since last infusion",
           "no PHQ-9 since last infusion (mid-induction)", safety=False),
)
# Boolean reason columns, in the order the `reasons` list gives them (most urgent first).
REASON_COLUMNS = tuple(reason.column for reason in REASONS)
# Reason column -> short label, in the same order.
REASON_LABELS = {reason.column: reason.label for reason in REASONS}
# The reasons that are safety signals.
SAFETY_REASONS = tuple(reason.column for reason in REASONS if reason.safety)


def reason_phrase(column: str, *details) -> str:
    """The clinical phrase of a reason with its details filled in.

    A building block, not a question: it words a reason the way the worklist query does (which
    fills the same phrases with DuckDB's format()), so that a reason reads the same everywhere.
    Public because the printable patient summary (`dashboard/summary.py`) words its safety
    flags with it.

    Parameters
    ----------
    column : str
        A reason column (REASON_COLUMNS).
    *details
        The values for the phrase's `{}` in order (e.g. the peak systolic and diastolic).

    Returns
    -------
    str
        The phrase as a worklist row gives it, e.g. ``reason_phrase("bp_excursion_last_infusion",
        185, 100)`` is "BP excursion at last infusion (peak 185/100 mmHg)".
    """
    return _BY_COLUMN[column].phrase.format(*details)


_BY_COLUMN = {reason.column: reason for reason in REASONS}


def _default_as_of(con, settings) -> dt.date | None:
    """The day the worklist is for by default: today in the clinic's time zone
    (`freshness.clinic_today`), not the last infusion in the data, so an old export reads as
    old (the pages warn when it is: `freshness.data_freshness`).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        `clinic_timezone`.

    Returns
    -------
    datetime.date or None
        None without infusions (nobody can be on the list).
    """
    [(latest,)] = con.execute("SELECT max(started_at)::DATE FROM sessions").fetchall()
    return None if latest is None else clinic_today(settings)


def _not_on_track_ids(con, settings) -> pd.DataFrame:
    """Patients whose PHQ-9 improvement is behind the clinic's expected trajectory (`patient_id`).

    Handed to the query as a registered frame: binding tens of thousands of ids as a list
    parameter costs more than the rest of the worklist's joins.
    """
    return patients_not_on_track(con, settings, scale="PHQ-9")[["patient_id"]]


def worklist(con, settings, as_of: dt.date | None = None, cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Patients of the cohort who need attention now: one row per patient with at least one reason.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        `settings.thresholds` (BP limits, `active_treatment_days`, `phq9_overdue_days`, the
        expected-course settings) and `settings.induction_sessions`.
    as_of : datetime.date, optional
        The day the list is for. Defaults to today in the clinic's time zone
        (`_default_as_of`; $OUTCOMES_TODAY pins it), so an old export gives an old-looking list
        rather than one that seems current. It only sets the windows of reasons 6 and 7,
        counted in calendar days; data dated after `as_of` is not excluded. Reasons 1-5 use all
        data. Who is listed at all (in treatment or not) is the cohort's treatment-status
        filter (`treatment_status.status_filter`).
    cohort : CohortFilter
        Which treated patients (all by default).

    Returns
    -------
    pandas.DataFrame
        Columns: `patient_id`, `site`, `clinician`, `primary_indication`, `last_infusion_at`,
        `n_infusions`, `latest_phq9_score` and `latest_phq9_at` (latest valid PHQ-9; of two at
        the same time, the higher), `reasons` (per row an array of phrases, REASONS' wording,
        as DuckDB returns lists, in the order below), `n_reasons`, then the eight boolean
        reason columns (REASON_COLUMNS). Sorted by number of reasons (most first), then item 9
        positive, then unknown, then patient id. `frame.attrs["as_of"]` holds the date used. An
        empty cohort, or a database without infusions, gives an empty frame.

    Notes
    -----
    The reasons, a boolean column each:

    1. `item9_positive` - PHQ-9 item 9 > 0 at the latest PHQ-9 administration, incomplete ones
       included (`assessments`; a safety flag whatever the total). `item9_unknown` - item 9
       unanswered at the latest PHQ-9: the safety status is unknown, never negative, so the
       clinician asks before the infusion.
    2. `reliable_deterioration` - reliable deterioration on any scale at the latest follow-up
       (`patient_outcomes`).
    3. `not_on_track` - PHQ-9 improvement worse than the clinic's expected trajectory
       (`pipelines.analytics.expected.patients_not_on_track`, judged on all data loaded).
    4. `bp_excursion_last_infusion` - peak systolic >= settings.thresholds.bp_excursion_systolic
       or diastolic >= bp_excursion_diastolic at the patient's last infusion (of two at the
       same latest time, the higher peaks, so an excursion at either counts).
    5. `no_baseline` - treated, but no PHQ-9 row in `patient_outcomes` (no valid PHQ-9 in the
       baseline window).
    6. `phq9_overdue` - in active treatment (last infusion dated within
       settings.thresholds.active_treatment_days days before `as_of`) and no valid PHQ-9 dated
       within phq9_overdue_days days before `as_of` (one exactly that many days before is in
       time).
    7. `pre_infusion_phq9_missing` - an upcoming infusion without a pre-infusion score. Future
       sessions are quarantined at ingest, so "upcoming" is inferred: the patient is
       mid-induction (fewer than settings.induction_sessions infusions, the last one dated
       within UPCOMING_INFUSION_DAYS (7) days before `as_of`) and no valid PHQ-9 was taken
       after the last infusion started (a score stamped at that start belongs to that
       infusion).

    "Valid PHQ-9" means one with a total, as the `scores` view defines it.

    References
    ----------
    Kroenke K, Spitzer RL, Williams JBW (2001), "The PHQ-9", J Gen Intern Med 16(9) (item 9);
    Jacobson NS, Truax P (1991), J Consult Clin Psychol 59(1) (reliable change); Lambert MJ et
    al. (2001), Psychotherapy Research 11(1) (not-on-track feedback); docs/scoring.md.
    """
    as_of = as_of if as_of is not None else _default_as_of(con, settings)
    thresholds = settings.thresholds
    caller = f"_{threading.get_ident()}"
    query, cohort_params = cohort_query("analytics/worklist/worklist", cohort, rows="pc", caller=caller)
    params = [
        *cohort_params,
        as_of,
        thresholds.bp_excursion_systolic,
        thresholds.bp_excursion_diastolic,
        thresholds.active_treatment_days,
        thresholds.phq9_overdue_days,
        settings.induction_sessions,
        UPCOMING_INFUSION_DAYS,
        {reason.column: reason.phrase for reason in REASONS},
    ]
    behind = f"worklist_not_on_track{caller}"
    con.register(behind, _not_on_track_ids(con, settings))
    try:
        frame = patient_rows(con, query, params)
    finally:
        con.unregister(behind)
    frame.attrs["as_of"] = as_of
    return frame
