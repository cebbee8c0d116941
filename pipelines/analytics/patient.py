"""One patient's record for the clinician's Patient page and the printable progress summary.

Why a module of its own: the clinic-wide questions (cohort outcomes, the worklist) read every
patient at once; a clinician looks at one patient at a time, and on a clinic of 200,000
patients that must cost milliseconds, not the seconds of a clinic-wide query. So every query
here filters by `patient_id` first (named parameter `$patient_id`), reads the snapshot's
per-patient tables (`scores`, `patient_outcomes`, `session_numbers`, `patient_cohorts`,
`phq9_safety`, `last_infusions`; `open_snapshot`) and never loads a whole table into pandas.
The one base table read directly is `assessments`, for what the outcome views leave out
(incomplete administrations and PHQ-9 item answers).

Lookup by patient. Neither the database nor the snapshot has an index (a bulk ingest of
millions of rows is faster without, and an index costs memory). Instead the snapshot stores
its tables sorted by patient, with a sorted copy of the `assessments` columns read here
(`patient_assessments`): DuckDB keeps each block's range of patient ids and skips every block
that cannot hold the patient, so a lookup costs a few ms instead of a scan of millions of
rows (~100 ms for the whole record on 200,000 patients, against ~450 ms unsorted). Each
per-patient CTE is `MATERIALIZED`, so DuckDB looks the patient up first rather than folding the
lookup into a join, where join filters turn it back into a full scan. A plain connection (the
views themselves) is scanned: fine for a notebook or a small clinic.

Definitions are the clinical reference's (docs/scoring.md, with each rule's published source) as the views
implement them; nothing is re-derived here:

- baseline, latest, change, response, remission, reliable change: `patient_outcomes` (judged on
  the latest follow-up);
- "not on track": `expected.patient_expected`'s verdict at the latest assessment (the clinic's
  own distribution of percent change by baseline band and infusion);
- PHQ-9 item 9: `phq9_safety` (every administration, incomplete ones included; unanswered is
  "unknown", never "negative"); BP excursion: peak systolic / diastolic at or above
  `settings.thresholds` (180 / 110 mmHg by default).

Infusion numbers follow `scores_by_infusion`: a score "at infusion k" was taken before
infusion k started (k = `sessions_before` + 1), so the baseline is at k = 1 and a score after
the last recorded infusion counts for the next one.
"""

from __future__ import annotations

import weakref

import pandas as pd

from .expected import PATIENT_COLUMNS, patient_expected
from .snapshot import PATIENT_ASSESSMENTS

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

# Status of a patient on a scale, in the order the page explains them.
STATUSES = ("remitter", "responder", "not on track", "not yet", "no follow-up yet", "no baseline", "no valid score")

# --- SQL ---------------------------------------------------------------------------------

FIND_PATIENTS_SQL = """
WITH matches AS (
    -- Case-insensitive substring of the id (contains(), not LIKE, so '%' and '_' typed by the
    -- user are plain characters). The exact id first, then ids starting with the text, then the
    -- rest, each in id order; only `limit` rows leave DuckDB.
    SELECT
        p.patient_id,
        p.primary_indication,
        p.site,
        p.clinician,
        CASE
            WHEN lower(p.patient_id) = lower($text) THEN 0
            WHEN starts_with(lower(p.patient_id), lower($text)) THEN 1
            ELSE 2
        END AS match_rank
    FROM patients AS p
    WHERE contains(lower(p.patient_id), lower($text))
    ORDER BY match_rank, p.patient_id
    LIMIT $limit
),
final AS (
    SELECT m.patient_id, m.primary_indication, m.site, m.clinician,
           coalesce(c.n_sessions, 0) AS n_infusions, c.last_session_at AS last_infusion_at, m.match_rank
    FROM matches AS m
    LEFT JOIN patient_cohorts AS c ON c.patient_id = m.patient_id
)
SELECT * FROM final ORDER BY match_rank, patient_id
"""

SUMMARY_SQL = """
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
"""

SCALES_SQL = """
WITH administered AS MATERIALIZED (
    -- Every administration, incomplete ones too: a scale given but never scored validly is
    -- still the patient's, with "no valid score".
    SELECT instrument, count(*) AS n_administrations
    FROM {assessments} WHERE patient_id = $patient_id
    GROUP BY instrument
),
valid AS MATERIALIZED (
    SELECT
        instrument,
        count(*) AS n_scores,
        min(administered_at) AS first_score_at,
        -- the infusion number the latest score counts for (k = sessions_before + 1)
        arg_max(sessions_before + 1, administered_at) AS latest_k
    FROM scores WHERE patient_id = $patient_id
    GROUP BY instrument
),
outcome AS MATERIALIZED (
    SELECT * FROM patient_outcomes WHERE patient_id = $patient_id
),
final AS (
    SELECT
        a.instrument,
        a.n_administrations,
        coalesce(v.n_scores, 0) AS n_scores,
        v.first_score_at,
        o.baseline_at,
        o.baseline_score,
        bb.label AS baseline_band,
        o.baseline_caseness,
        o.latest_at,
        o.latest_score,
        lb.label AS latest_band,
        coalesce(o.n_followups, 0) AS n_followups,
        v.latest_k,
        o.change,
        o.pct_change,
        o.response,
        o.remission,
        o.reliable_improvement,
        o.reliable_deterioration,
        i.response_drop_pct,
        i.remission_below,
        i.remission_min_drop,
        i.reliable_change,
        i.caseness_min,
        i.total_max
    FROM administered AS a
    JOIN instruments AS i ON i.code = a.instrument
    LEFT JOIN valid AS v ON v.instrument = a.instrument
    LEFT JOIN outcome AS o ON o.instrument = a.instrument
    LEFT JOIN instrument_bands AS bb ON bb.code = a.instrument AND o.baseline_score BETWEEN bb.low AND bb.high
    LEFT JOIN instrument_bands AS lb ON lb.code = a.instrument AND o.latest_score BETWEEN lb.low AND lb.high
)
SELECT * FROM final ORDER BY instrument
"""

SCORES_SQL = """
WITH patient_scores AS MATERIALIZED (
    SELECT * FROM scores WHERE patient_id = $patient_id
),
baselines AS MATERIALIZED (
    SELECT instrument, baseline_at FROM patient_outcomes WHERE patient_id = $patient_id
),
final AS (
    SELECT
        s.instrument,
        s.administered_at,
        s.total,
        s.severity,
        s.sessions_before + 1 AS k,
        s.days_since_first_session,
        s.prorated,
        s.total_only,
        coalesce(s.administered_at = b.baseline_at, false) AS is_baseline,
        s.assessment_key
    FROM patient_scores AS s
    LEFT JOIN baselines AS b ON b.instrument = s.instrument
)
SELECT * FROM final ORDER BY instrument, administered_at, assessment_key
"""

SESSIONS_SQL = """
WITH infusions AS MATERIALIZED (
    SELECT * FROM session_numbers WHERE patient_id = $patient_id
),
final AS (
    SELECT
        session_id,
        session_number,
        started_at,
        route,
        dose_mg,
        weight_kg,
        dose_mg_per_kg,
        duration_min,
        bp_pre_sys,
        bp_pre_dia,
        bp_peak_sys,
        bp_peak_dia,
        -- BP excursion at peak (settings.thresholds; clinical reference, ketamine session data)
        coalesce(bp_peak_sys >= $bp_sys OR bp_peak_dia >= $bp_dia, false) AS bp_excursion,
        hr_pre,
        spo2_min,
        cadss_total,
        array_to_string(coalesce(side_effects, []), ', ') AS side_effects,
        nullif(trim(adverse_event), '') AS adverse_event
    FROM infusions
)
SELECT * FROM final ORDER BY session_number
"""

PHQ9_ITEMS_SQL = """
WITH administrations AS MATERIALIZED (
    -- every PHQ-9 administration, incomplete ones too (item 9 is a flag whatever the total)
    SELECT assessment_key, administered_at, items, total, complete
    FROM {assessments}
    WHERE patient_id = $patient_id AND instrument = 'PHQ-9'
),
infusions AS MATERIALIZED (
    SELECT started_at, session_number FROM session_numbers WHERE patient_id = $patient_id
),
numbered AS (
    -- k = infusions started strictly before + 1, as scores.sessions_before counts them
    SELECT a.*, coalesce(i.session_number, 0) + 1 AS k
    FROM administrations AS a
    ASOF LEFT JOIN infusions AS i ON a.administered_at > i.started_at
),
final AS (
    -- items 1-9 only: the 10th entry (difficulty) is not part of the scale
    SELECT n.administered_at, n.assessment_key, n.k, n.total, n.complete, r.item,
           list_extract(n.items, r.item)::INTEGER AS answer
    FROM numbered AS n
    CROSS JOIN range(1, 10) AS r(item)
)
SELECT * FROM final ORDER BY administered_at, assessment_key, item
"""

BANDS_SQL = """
SELECT b.code AS instrument, b.band_order, b.low, b.high, b.label
FROM instrument_bands AS b
ORDER BY b.code, b.band_order
"""


# --- Public functions --------------------------------------------------------------------

def find_patients(con, text: str = "", limit: int = 20) -> pd.DataFrame:
    """Patients whose id contains `text` (case-insensitive), at most `limit` of them: the exact
    id first, then ids starting with the text, then the others, each in id order. An empty
    text lists the first `limit` ids, so a clinic with no patients gives an empty frame.

    Why a LIMIT in SQL: a clinic may have 200,000 patients, and a search box must send the
    browser a short list, not every id. Columns: `patient_id`, `primary_indication`, `site`,
    `clinician`, `n_infusions` (0 before the first), `last_infusion_at`, `match_rank`
    (0 exact, 1 prefix, 2 substring).
    """
    params = {"text": (text or "").strip(), "limit": max(int(limit), 0)}
    return con.execute(FIND_PATIENTS_SQL, params).df()


def patient_summary(con, settings, patient_id: str) -> pd.DataFrame:
    """The header facts and safety picture of one patient: one row, none for an unknown id.

    - Who: `primary_indication`, `site`, `clinician`, `sex`, `birth_year`, `intake_date`,
      `contraindications` (text).
    - Course: `n_infusions` (0 before the first), `first_infusion_at`, `latest_infusion_at`,
      `days_in_treatment` = calendar days from the first to the latest infusion (not to today:
      the printed summary stays true; NULL before the first infusion).
    - PHQ-9 item 9 (view `phq9_safety`): `item9_status_latest` 'positive' / 'negative' /
      'unknown' (unanswered or total-only at the latest PHQ-9) / 'no PHQ-9';
      `item9_positive_latest`, `item9_positive_ever` (NULL = never answered),
      `item9_first_positive_at`, `item9_last_positive_at`, `item9_n_positive`,
      `item9_n_unknown`, `n_phq9`, `latest_phq9_at`.
    - Reliable deterioration at the latest follow-up (`patient_outcomes`):
      `reliable_deterioration`, `deteriorated_scales`.
    - BP excursions (peak systolic >= settings.thresholds.bp_excursion_systolic or diastolic
      >= bp_excursion_diastolic): `n_bp_excursions` of `n_infusions_with_bp`,
      `first_bp_excursion_at`, `last_bp_excursion_at`, `max_bp_peak_sys`, `max_bp_peak_dia`,
      and at the latest infusion (view `last_infusions`): `last_infusion_bp_peak_sys`,
      `last_infusion_bp_peak_dia`, `bp_excursion_last_infusion`.
    """
    thresholds = settings.thresholds
    params = {"patient_id": patient_id, "bp_sys": thresholds.bp_excursion_systolic,
              "bp_dia": thresholds.bp_excursion_diastolic}
    ensure_patient_lookup(con)
    return con.execute(SUMMARY_SQL, params).df()


def scale_status(con, settings, patient_id: str, expected: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per scale the patient was given: baseline -> latest, change and status.

    One row per scale with any administration (`assessments`), so a scale given but never
    validly scored still shows ("no valid score"). Columns: `instrument`, `n_administrations`,
    `n_scores` (valid totals), `first_score_at`; from `patient_outcomes`: `baseline_at`,
    `baseline_score`, `baseline_band`, `baseline_caseness`, `latest_at`, `latest_score`,
    `latest_band`, `n_followups`, `change`, `pct_change`, `response`, `remission`,
    `reliable_improvement`, `reliable_deterioration`; the scale's rules from `instruments`
    (`response_drop_pct`, `remission_below`, `remission_min_drop`, `reliable_change`,
    `caseness_min`, `total_max`); `latest_k` (infusion number of the latest score);
    the expected-course verdict at the latest assessment: `on_track` (FALSE = not on track,
    NULL = not judged), `expected_threshold` (the percent change it was judged against),
    `not_judged_reason`; and `status`, the first that applies of:

    - 'no valid score': administered, but never with enough items for a total;
    - 'no baseline': no valid score in the baseline window (outcomes cannot be judged);
    - 'no follow-up yet': a baseline only;
    - 'remitter': `remission` at the latest follow-up (PHQ-9 / GAD-7 < 5; PCL-5 < 33 with a
      10-point drop; pain has none);
    - 'responder': `response` (>= 50% reduction; pain 30%);
    - 'not on track': the expected course's verdict at the latest assessment
      (`expected.patient_expected`: improvement below the clinic's 25th percentile);
    - 'not yet': followed up, neither responding nor behind the expected course.

    `expected`: the patient's `patient_expected_course`, when the caller has it already
    (`patient_record`), so the expected course is not looked up twice.
    """
    sql = SCALES_SQL.format(assessments=ensure_patient_lookup(con))
    frame = con.execute(sql, {"patient_id": patient_id}).df()
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


def patient_scores(con, patient_id: str) -> pd.DataFrame:
    """Every valid score of the patient (view `scores`), all scales, in time order.

    Columns: `instrument`, `administered_at`, `total`, `severity` (band), `k` (the infusion it
    was taken before: `sessions_before` + 1), `days_since_first_session`, `prorated`,
    `total_only`, `is_baseline` (the score `patient_outcomes` uses as baseline),
    `assessment_key`. Incomplete administrations have no total and are left out, as in every
    outcome (their item answers are in `phq9_item_history`).
    """
    ensure_patient_lookup(con)
    return con.execute(SCORES_SQL, {"patient_id": patient_id}).df()


def patient_sessions(con, settings, patient_id: str) -> pd.DataFrame:
    """The patient's infusions in order (view `session_numbers`).

    Columns: `session_id`, `session_number`, `started_at`, `route`, `dose_mg`, `weight_kg`,
    `dose_mg_per_kg` (NULL without a weight), `duration_min`, `bp_pre_sys`, `bp_pre_dia`,
    `bp_peak_sys`, `bp_peak_dia`, `bp_excursion` (peak at or above settings.thresholds),
    `hr_pre`, `spo2_min`, `cadss_total`, `side_effects` (comma-separated text, '' when none),
    `adverse_event` (NULL when blank).
    """
    thresholds = settings.thresholds
    params = {"patient_id": patient_id, "bp_sys": thresholds.bp_excursion_systolic,
              "bp_dia": thresholds.bp_excursion_diastolic}
    ensure_patient_lookup(con)
    return con.execute(SESSIONS_SQL, params).df()


def phq9_item_history(con, patient_id: str) -> pd.DataFrame:
    """PHQ-9 answers item by item over time (which symptoms move), long format.

    One row per PHQ-9 administration (incomplete ones included: their answered items still
    say something, and item 9 is a flag whatever the total) and item 1-9: `administered_at`,
    `assessment_key`, `k` (the infusion it was taken before), `total` (NULL when incomplete),
    `complete`, `item`, `item_label` (short clinical name, PHQ9_ITEM_LABELS), `answer` (0-3,
    NULL when not answered or a total-only record).
    """
    sql = PHQ9_ITEMS_SQL.format(assessments=ensure_patient_lookup(con))
    frame = con.execute(sql, {"patient_id": patient_id}).df()
    frame["item_label"] = frame["item"].map(lambda item: PHQ9_ITEM_LABELS[int(item) - 1]).astype(object)
    frame["answer"] = frame["answer"].astype("Int64")
    return frame


def patient_expected_course(con, settings, patient_id: str) -> pd.DataFrame:
    """The clinic's expected course for this patient on every scale with a baseline:
    `expected.patient_expected` per scale, one frame (its columns; empty without a baseline).

    The first call for a scale computes the clinic-wide reference (seconds on 200,000
    patients, once per database version; see expected.py); later calls cost a few ms.
    """
    ensure_patient_lookup(con)
    scales = [scale for (scale,) in con.execute(
        "SELECT instrument FROM patient_outcomes WHERE patient_id = $patient_id ORDER BY instrument",
        {"patient_id": patient_id}).fetchall()]
    frames = [frame for frame in (patient_expected(con, settings, patient_id, scale) for scale in scales) if len(frame)]
    if not frames:
        return pd.DataFrame(columns=PATIENT_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def patient_record(con, settings, patient_id: str) -> dict[str, pd.DataFrame]:
    """What the Patient page shows first, and the printable summary, of one patient, in one
    call: `summary` (patient_summary), `scales` (scale_status), `expected`
    (patient_expected_course), `scores`, `sessions`. (The PHQ-9 item answers,
    `phq9_item_history`, are fetched when their tab is opened.)

    Why one call: the page then takes the snapshot's lock once and caches one answer, and the
    expected course serves both the status column and the chart. An unknown id gives an
    empty `summary` and empty frames.
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
    """Severity bands of every scale (table `instrument_bands`, written from the instrument
    registry): `instrument`, `band_order` (1 = mildest), `low`, `high`, `label`."""
    return con.execute(BANDS_SQL).df()


# --- Lookup by patient ---------------------------------------------------------------------

# connection -> the relation to read assessments from (weak: a closed connection drops out)
_assessments_relation: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def ensure_patient_lookup(con) -> str:
    """The relation to read one patient's assessments from: the snapshot's copy sorted by
    patient (`patient_assessments`, see `open_snapshot`) when there is one, else `assessments`
    (a plain connection: scanned, fine for a notebook or a small clinic). Looked up once per
    connection: a page asks several times per patient."""
    known = _assessments_relation.get(con)
    if known is None:
        names = {name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
        known = PATIENT_ASSESSMENTS if PATIENT_ASSESSMENTS in names else "assessments"
        _assessments_relation[con] = known
    return known


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
