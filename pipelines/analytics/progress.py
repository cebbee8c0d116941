"""A patient's progress on each scale: where they stand, and whether they are on the expected course.

Why a module of its own: the status of a scale ("remitter", "responder", "not on track", ...)
is a judgement that combines the outcome definitions (`patient_outcomes`, judged on the latest
follow-up) with the clinic's expected course (`expected.patient_expected`, after Lambert's
not-on-track signal made empirical). The Patient page, its printable summary and a notebook read
it for one patient at a time; `patient.patient_record` gathers it with the rest of the record.

Definitions are the clinical reference's (docs/scoring.md) as the views implement them; the
query is sql/analytics/patient/scales.sql. Infusion numbers follow `scores_by_infusion`: a score
"at infusion k" was taken before infusion k started (k = `sessions_before` + 1).
"""

from __future__ import annotations

import pandas as pd

from .. import sql
from .expected import PATIENT_COLUMNS, patient_expected
from .snapshot import ensure_patient_lookup, lookup_prefix

# Status of a patient on a scale, in the order the page explains them.
STATUSES = ("remitter", "responder", "not on track", "not yet", "no follow-up yet", "no baseline", "no valid score")


def scale_status(con, settings, patient_id: str, expected: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per scale the patient was given: baseline -> latest, change and status.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot (fast) or the outcomes database (scanned).
    settings : Settings
        The expected-course thresholds (`trajectory_max_infusion`, ...).
    patient_id : str
        The patient.
    expected : pandas.DataFrame, optional
        The patient's `patient_expected_course`, when the caller has it already
        (`patient_record`), so the expected course is not looked up twice.

    Returns
    -------
    pandas.DataFrame
        One row per scale with any administration (`assessments`), so a scale given but never
        validly scored still shows. Columns: `instrument`, `n_administrations`, `n_scores`
        (valid totals), `first_score_at`; from `patient_outcomes`: `baseline_at`,
        `baseline_score`, `baseline_band`, `baseline_caseness`, `latest_at`, `latest_score`,
        `latest_band`, `n_followups`, `change`, `pct_change`, `response`, `remission`,
        `reliable_improvement`, `reliable_deterioration`; the scale's rules from `instruments`
        (`response_drop_pct`, `remission_below`, `remission_min_drop`, `reliable_change`,
        `caseness_min`, `total_max`); `latest_k` (infusion number of the latest score); the
        expected-course verdict at the latest assessment: `on_track` (FALSE = not on track,
        NULL = not judged), `expected_threshold` (the percent change it was judged against),
        `not_judged_reason`; and `status` (STATUSES).

    Notes
    -----
    `status` is the first that applies of:

    - 'no valid score': administered, but never with enough items for a total;
    - 'no baseline': no valid score in the baseline window (outcomes cannot be judged);
    - 'no follow-up yet': a baseline only;
    - 'remitter': `remission` at the latest follow-up (PHQ-9 / GAD-7 < 5; PCL-5 < 33 with a
      10-point drop; pain has none);
    - 'responder': `response` (>= 50% reduction; pain 30%);
    - 'not on track': the expected course's verdict at the latest assessment
      (`expected.patient_expected`: improvement below the clinic's 25th percentile);
    - 'not yet': followed up, neither responding nor behind the expected course.

    References
    ----------
    docs/scoring.md; Lambert MJ et al. (2001), "The effects of providing therapists with
    feedback on patient progress", Psychotherapy Research 11(1) (not on track).
    """
    query = sql.render("analytics/patient/scales", lookup_prefix=lookup_prefix(con))
    frame = con.execute(query, {"patient_id": patient_id}).df()
    on_track, thresholds, reasons = [], [], []
    for row in frame.itertuples():
        verdict, threshold, reason = _expected_verdict(con, settings, patient_id, row, expected)
        on_track.append(verdict)
        thresholds.append(threshold)
        reasons.append(reason)
    frame["on_track"] = pd.array(on_track, dtype="boolean")
    frame["expected_threshold"] = pd.array(thresholds, dtype="Float64")
    frame["not_judged_reason"] = pd.Series(reasons, dtype=object)
    frame["status"] = [_status(row) for row in frame.itertuples()]
    return frame


def patient_expected_course(con, settings, patient_id: str) -> pd.DataFrame:
    """The clinic's expected course for this patient on every scale with a baseline.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot or the outcomes database.
    settings : Settings
        The expected-course thresholds.
    patient_id : str
        The patient.

    Returns
    -------
    pandas.DataFrame
        `expected.patient_expected` per scale in one frame (its columns, PATIENT_COLUMNS;
        empty without a baseline).

    Notes
    -----
    The first call for a scale computes the clinic-wide reference (seconds on 200,000
    patients, once per database version; see expected.py); later calls cost a few ms. The
    scales are those with a row in `patient_outcomes` (a baseline), in code order; the expected
    course of each is `expected.patient_expected`'s (the clinic's percentiles of percent change
    by baseline band and infusion, and the patient's verdict against them).

    References
    ----------
    As in `expected.patient_expected`: Lambert MJ et al. (2001), "The effects of providing
    therapists with feedback on patient progress during psychotherapy", Psychotherapy Research
    11(1) (not on track); docs/scoring.md, "Outcomes (per patient and scale)" (baseline).
    """
    ensure_patient_lookup(con)
    scales = [scale for (scale,) in con.execute(
        "SELECT instrument FROM patient_outcomes WHERE patient_id = $patient_id ORDER BY instrument",
        {"patient_id": patient_id}).fetchall()]
    frames = [frame for frame in (patient_expected(con, settings, patient_id, scale) for scale in scales) if len(frame)]
    if not frames:
        return pd.DataFrame(columns=PATIENT_COLUMNS)
    return pd.concat(frames, ignore_index=True)



# --- Helpers -----------------------------------------------------------------------------

def _expected_verdict(con, settings, patient_id: str, row, expected: pd.DataFrame | None = None) -> tuple:
    """(on_track, threshold, reason not judged) at the latest assessment of one scale.

    The latest assessment is `patient_outcomes.latest_at`; `patient_expected` covers
    infusions 1..trajectory_max_infusion, so a latest score in maintenance beyond that (or a
    scale without a reference, or a baseline of 0) is not judged, as in
    `expected.patients_not_on_track`.
    """
    if pd.isna(row.baseline_score):
        return None, None, "no baseline"
    if row.n_followups == 0:
        return None, None, "no follow-up yet"
    beyond = f"latest score after infusion {settings.thresholds.trajectory_max_infusion} (maintenance)"
    if not pd.isna(row.latest_k) and row.latest_k > settings.thresholds.trajectory_max_infusion:
        return None, None, beyond  # the reference stops there: no need to ask it
    if expected is None:
        expected = patient_expected(con, settings, patient_id, row.instrument)
    else:
        expected = expected[expected["instrument"] == row.instrument]
    at_latest = expected[expected["administered_at"] == row.latest_at]
    if at_latest.empty:
        return None, None, beyond
    latest = at_latest.iloc[-1]
    if pd.isna(latest["on_track"]):
        reason = "baseline of 0" if row.baseline_score == 0 else "too few similar patients for a reference"
        return None, None, reason
    threshold = None if pd.isna(latest["threshold"]) else float(latest["threshold"])
    return bool(latest["on_track"]), threshold, None


def _status(row) -> str:
    """The status word of one scale_status row (see scale_status for the order)."""
    if row.n_scores == 0:
        return "no valid score"
    if pd.isna(row.baseline_score):
        return "no baseline"
    if row.n_followups == 0:
        return "no follow-up yet"
    if _is_true(row.remission):
        return "remitter"
    if _is_true(row.response):
        return "responder"
    if _is_false(row.on_track):
        return "not on track"
    return "not yet"


def _is_true(value) -> bool:
    """TRUE, not FALSE or NULL (pandas gives NULL booleans as None, NaN or <NA>)."""
    return value is not None and not pd.isna(value) and bool(value)


def _is_false(value) -> bool:
    return value is not None and not pd.isna(value) and not bool(value)
