"""One patient's record for the clinician's Patient page and the printable progress summary.

Why a module of its own: the clinic-wide questions (cohort outcomes, the worklist) read every
patient at once; a clinician looks at one patient at a time, and on a clinic of 200,000
patients that must cost milliseconds, not the seconds of a clinic-wide query. So every query
here filters by `patient_id` first (named parameter `$patient_id`), reads the snapshot's
per-patient tables (`scores`, `patient_outcomes`, `session_numbers`, `patient_cohorts`,
`phq9_safety`, `last_infusions`; `open_snapshot`) and never loads a whole table into pandas.
The one base table read directly is `assessments`, for what the outcome views leave out
(incomplete administrations and PHQ-9 item answers).

Lookup by patient: the snapshot stores its tables sorted by patient, so DuckDB skips every
block of rows that cannot hold the patient (`snapshot.ensure_patient_lookup`), and each
per-patient CTE is `MATERIALIZED`, so DuckDB looks the patient up first. A plain connection
(the views themselves) is scanned: fine for a notebook or a small clinic.

Definitions are the clinical reference's (docs/scoring.md) as the views implement them;
nothing is re-derived here (the queries are in sql/analytics/patient/):

- baseline, latest, change, response, remission, reliable change: `patient_outcomes` (judged on
  the latest follow-up);
- the status of each scale and "not on track": `progress.scale_status` (the expected course's
  verdict at the latest assessment: the clinic's own distribution of percent change by
  baseline band and infusion);
- PHQ-9 item 9: `phq9_safety` (every administration, incomplete ones included; unanswered is
  "unknown", never "negative"); BP excursion: peak systolic / diastolic at or above
  `settings.thresholds` (180 / 110 mmHg by default).

Infusion numbers follow `scores_by_infusion`: a score "at infusion k" was taken before
infusion k started (k = `sessions_before` + 1), so the baseline is at k = 1 and a score after
the last recorded infusion counts for the next one.
"""

from __future__ import annotations

import pandas as pd

from .. import sql
from .progress import patient_expected_course, scale_status
from .snapshot import ensure_patient_lookup, lookup_prefix

# Short clinical names of the nine PHQ-9 items (Kroenke et al. 2001), in item order, for the
# item heatmap and the summary: which symptoms move.
PHQ9_ITEM_LABELS = (
    "Little interest or pleasure",
    "Feeling down or hopeless",
    "Sleep problems",
    "Tired, little energy",
    "Appetite",
    "Feeling bad about oneself",
    "Trouble concentrating",
    "Slowed down or restless",
    "Thoughts of death or self-harm",
)

# The words of the PHQ-9 answer scale (0-3), for hovers.
PHQ9_ANSWERS = ("Not at all", "Several days", "More than half the days", "Nearly every day")

# --- Public functions --------------------------------------------------------------------

def find_patients(con, text: str = "", limit: int = 20) -> pd.DataFrame:
    """Patients whose id contains `text` (case-insensitive), at most `limit` of them.

    Why a LIMIT in SQL: a clinic may have 200,000 patients, and a search box must send the
    browser a short list, not every id.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    text : str
        Part of an id; empty lists the first `limit` ids (none in a clinic without patients).
    limit : int
        The most rows returned.

    Returns
    -------
    pandas.DataFrame
        The exact id first, then ids starting with the text, then the others, each in id order:
        `patient_id`, `primary_indication`, `site`, `clinician`, `n_infusions` (0 before the
        first), `last_infusion_at`, `match_rank` (0 exact, 1 prefix, 2 substring).

    Notes
    -----
    A match is a case-insensitive substring of `patients.patient_id` (DuckDB's `contains` on
    lower-cased text, so `%` and `_` typed by a user are plain characters); surrounding spaces
    of `text` are dropped. Every loaded patient can be found, treated or not: `n_infusions` and
    `last_infusion_at` come from `patient_cohorts` (0 and NULL before the first infusion). Only
    `limit` rows leave DuckDB. A lookup, not a statistic: no interval.

    References
    ----------
    docs/analytics.md ("one patient"); the identifiers are the clinic's own, as loaded
    (docs/import-format.md).
    """
    params = {"text": (text or "").strip(), "limit": max(int(limit), 0)}
    return con.execute(sql.read("analytics/patient/find_patients"), params).df()


def patient_summary(con, settings, patient_id: str) -> pd.DataFrame:
    """The header facts and safety picture of one patient.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot (fast) or the outcomes database (scanned).
    settings : Settings
        `settings.thresholds.bp_excursion_systolic` / `bp_excursion_diastolic` (180 / 110).
    patient_id : str
        The patient.

    Returns
    -------
    pandas.DataFrame
        One row, none for an unknown id:

        - who: `primary_indication`, `site`, `clinician`, `sex`, `birth_year`, `intake_date`,
          `contraindications` (text);
        - course: `n_infusions` (0 before the first), `first_infusion_at`,
          `latest_infusion_at`, `days_in_treatment`;
        - PHQ-9 item 9 (view `phq9_safety`): `item9_status_latest` 'positive' / 'negative' /
          'unknown' (unanswered or total-only at the latest PHQ-9) / 'no PHQ-9';
          `item9_positive_latest`, `item9_positive_ever` (NULL = never answered),
          `item9_first_positive_at`, `item9_last_positive_at`, `item9_n_positive`,
          `item9_n_unknown`, `n_phq9`, `latest_phq9_at`;
        - reliable deterioration at the latest follow-up (`patient_outcomes`):
          `reliable_deterioration`, `deteriorated_scales`;
        - BP excursions: `n_bp_excursions` of `n_infusions_with_bp`, `first_bp_excursion_at`,
          `last_bp_excursion_at`, `max_bp_peak_sys`, `max_bp_peak_dia`, and at the latest
          infusion (view `last_infusions`): `last_infusion_bp_peak_sys`,
          `last_infusion_bp_peak_dia`, `bp_excursion_last_infusion`.

    Notes
    -----
    `days_in_treatment` = calendar days from the first to the latest infusion (not to today,
    so the printed summary stays true; NULL before the first infusion). A BP excursion is a
    peak systolic >= the systolic limit or diastolic >= the diastolic limit.

    References
    ----------
    docs/scoring.md; Kroenke K et al. (2001), "The PHQ-9", J Gen Intern Med 16(9) (item 9).
    """
    ensure_patient_lookup(con)
    return con.execute(sql.read("analytics/patient/summary"), _with_bp_limits(settings, patient_id)).df()


def patient_scores(con, patient_id: str) -> pd.DataFrame:
    """Every valid score of the patient (view `scores`), all scales, in time order.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot (fast) or the outcomes database (scanned).
    patient_id : str
        The patient.

    Returns
    -------
    pandas.DataFrame
        `instrument`, `administered_at`, `total`, `severity` (band), `k` (the infusion it was
        taken before: `sessions_before` + 1), `days_since_first_session`, `prorated`,
        `total_only`, `is_baseline` (the score `patient_outcomes` uses as baseline),
        `assessment_key`. Incomplete administrations have no total and are left out, as in
        every outcome (their item answers are in `phq9_item_history`).

    Notes
    -----
    Rows are ordered by scale, then time (then key). A valid score is one with a total, prorated
    when up to the scale's allowance of items is missing: total = mean of the answered items x
    the number of items, rounded half up. `k` = `scores.sessions_before` + 1, infusions started
    strictly before the score counted, so a score stamped at an infusion's start counts as taken
    before it. `is_baseline` marks the score whose time is the scale's `patient_outcomes.
    baseline_at`: the latest valid score within the baseline window (30 days before the first
    infusion's date, not after its start). `severity` is the scale's band of the total.

    References
    ----------
    docs/scoring.md, "Scales" (totals, prorating, bands) and "Outcomes (per patient and scale)"
    (baseline, follow-up); Kroenke K, Spitzer RL, Williams JBW (2001), J Gen Intern Med
    16:606-613 (PHQ-9); Spitzer RL et al. (2006), Arch Intern Med 166:1092-1097 (GAD-7).
    """
    ensure_patient_lookup(con)
    return con.execute(sql.read("analytics/patient/scores"), {"patient_id": patient_id}).df()


def patient_sessions(con, settings, patient_id: str) -> pd.DataFrame:
    """The patient's infusions in order (view `session_numbers`).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot (fast) or the outcomes database (scanned).
    settings : Settings
        The BP excursion limits (`settings.thresholds`).
    patient_id : str
        The patient.

    Returns
    -------
    pandas.DataFrame
        `session_id`, `session_number`, `started_at`, `route`, `dose_mg`, `weight_kg`,
        `dose_mg_per_kg` (NULL without a weight), `duration_min`, `bp_pre_sys`, `bp_pre_dia`,
        `bp_peak_sys`, `bp_peak_dia`, `bp_excursion` (peak at or above the limits), `hr_pre`,
        `spo2_min`, `cadss_total`, `side_effects` (comma-separated text, '' when none),
        `adverse_event` (NULL when blank).

    Notes
    -----
    `session_number` numbers the patient's infusions by start time (ties by id).
    dose_mg_per_kg = dose_mg / weight_kg, three decimals. bp_excursion = bp_peak_sys >=
    `settings.thresholds.bp_excursion_systolic` (180) or bp_peak_dia >= `bp_excursion_diastolic`
    (110) mmHg; an infusion without a peak reading is FALSE here (nothing to flag), while the
    clinic-wide rate (`safety.bp_excursions`) leaves such infusions out of its denominator.

    References
    ----------
    docs/scoring.md (the session data of the clinical reference); Bremner JD et al. (1998), J
    Trauma Stress 11:125-136 (CADSS).
    """
    ensure_patient_lookup(con)
    return con.execute(sql.read("analytics/patient/sessions"), _with_bp_limits(settings, patient_id)).df()


def phq9_item_history(con, patient_id: str) -> pd.DataFrame:
    """PHQ-9 answers item by item over time (which symptoms move), long format.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot (fast) or the outcomes database (scanned).
    patient_id : str
        The patient.

    Returns
    -------
    pandas.DataFrame
        One row per PHQ-9 administration (incomplete ones included: their answered items still
        say something, and item 9 is a flag whatever the total) and item 1-9:
        `administered_at`, `assessment_key`, `k` (the infusion it was taken before), `total`
        (NULL when incomplete), `complete`, `item`, `item_label` (short clinical name,
        PHQ9_ITEM_LABELS), `answer` (0-3, NULL when not answered or a total-only record).

    Notes
    -----
    Read from `assessments` (every administration), not from `scores` (valid totals only). `k`
    = infusions started strictly before the administration + 1, as `scores.sessions_before`
    counts them. Items 1-9 only: the 10th, "difficulty", answer is stored but is not part of the
    scale. Any answer above 0 on item 9 is a safety flag whatever the total (docs/scoring.md,
    "Scales"); an unanswered item is NULL, never 0.

    References
    ----------
    Kroenke K, Spitzer RL, Williams JBW (2001), "The PHQ-9: validity of a brief depression
    severity measure", J Gen Intern Med 16:606-613; docs/scoring.md, "Scales".
    """
    query = sql.render("analytics/patient/phq9_items", lookup_prefix=lookup_prefix(con))
    frame = con.execute(query, {"patient_id": patient_id}).df()
    frame["item_label"] = frame["item"].map(lambda item: PHQ9_ITEM_LABELS[int(item) - 1]).astype(object)
    frame["answer"] = frame["answer"].astype("Int64")
    return frame


def patient_record(con, settings, patient_id: str) -> dict[str, pd.DataFrame]:
    """What the Patient page shows first, and the printable summary, of one patient, in one call.

    Why one call: the page then takes the snapshot's lock once and caches one answer, and the
    expected course serves both the status column and the chart. (The PHQ-9 item answers,
    `phq9_item_history`, are fetched when their tab is opened.)

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot or the outcomes database.
    settings : Settings
        The clinic's settings.
    patient_id : str
        The patient.

    Returns
    -------
    dict of str to pandas.DataFrame
        `summary` (patient_summary), `scales` (scale_status), `expected`
        (patient_expected_course), `scores` (patient_scores), `sessions` (patient_sessions).
        An unknown id gives an empty `summary` and empty frames.

    Notes
    -----
    Each frame is the function named, with its own definitions; the expected course is
    computed once and handed to `scale_status`, so its verdict and the chart agree.

    References
    ----------
    As in `patient_summary`, `progress.scale_status`, `progress.patient_expected_course`,
    `patient_scores` and `patient_sessions`: docs/scoring.md; Lambert MJ et al. (2001),
    Psychotherapy Research 11(1) (not on track).
    """
    expected = patient_expected_course(con, settings, patient_id)
    return {
        "summary": patient_summary(con, settings, patient_id),
        "scales": scale_status(con, settings, patient_id, expected=expected),
        "expected": expected,
        "scores": patient_scores(con, patient_id),
        "sessions": patient_sessions(con, settings, patient_id),
    }


def scale_bands(con) -> pd.DataFrame:
    """Severity bands of every scale (table `instrument_bands`, from the instrument registry).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.

    Returns
    -------
    pandas.DataFrame
        `instrument`, `band_order` (1 = mildest), `low`, `high`, `label`, by scale and band.

    Notes
    -----
    A total t is in a band when low <= t <= high (both inclusive, whole-number totals). The
    bands are the registry's (`pipelines/instruments.py`), written into `instrument_bands` on
    every ingest; e.g. PHQ-9: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe,
    20-27 severe.

    References
    ----------
    docs/scoring.md, "Scales"; Kroenke K, Spitzer RL, Williams JBW (2001), J Gen Intern Med
    16:606-613 (PHQ-9); Spitzer RL, Kroenke K, Williams JBW, Löwe B (2006), Arch Intern Med
    166:1092-1097 (GAD-7); Dworkin RH et al. (2008), J Pain 9:105-121 (pain NRS); Blevins CA et
    al. (2015), J Trauma Stress 28:489-498 (PCL-5).
    """
    return con.execute(sql.read("analytics/patient/bands")).df()


# --- Helpers -----------------------------------------------------------------------------

def _with_bp_limits(settings, patient_id: str) -> dict:
    """The named parameters of a query that judges BP excursions (settings.thresholds)."""
    thresholds = settings.thresholds
    return {"patient_id": patient_id, "bp_sys": thresholds.bp_excursion_systolic,
            "bp_dia": thresholds.bp_excursion_diastolic}
