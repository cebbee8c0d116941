"""Data quality: what the ingest did with the clinic's exports, and where the measurement gaps are.

Why a module of its own: outcome numbers are only as good as the rows behind them. An analyst
(or the clinic's admin) needs to see, in one place, what each ingest run read and did with
every row (inserted, updated, unchanged, quarantined), which rows were kept out and why (so
they can be sent back to whoever keeps the records), which patients cannot be counted in the
outcome rates because they have no baseline, and how reliably a PHQ-9 is taken before each
infusion (measurement-based care). The dashboard's Data quality page shows these answers; the
notebooks and the CLI can ask the same questions.

Sources: the tables `ingest_runs` (one row per run, per-file counts in its `files` list),
`quarantine`, `patients_history` / `sessions_history` / `assessments_history` (earlier versions
of updated rows) and the outcome views (`patient_cohorts`, `scores`, `patient_outcomes`,
`session_numbers`). Definitions: the ingest rules are docs/ingest.md's; baseline is the
clinical reference's ("Baseline": the latest valid score from the first infusion's date minus
30 days up to its start), read from the same `outcome_settings` table the `patient_outcomes`
view reads, so "no baseline" here is exactly "no row in `patient_outcomes`".

Every function takes `(con, settings, ...)` like the rest of `pipelines.analytics`; the
ingest and quarantine questions do not depend on the settings (the database records what
happened) and take them for the common signature.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..reports import suppression
from .cohorts import CohortFilter
from .frames import patient_rows

# The quarantine rules in plain words (docs/ingest.md, "Quarantine rules"), for the page.
RULE_DESCRIPTIONS = {
    "wrong_field_count": "more or fewer fields than the header",
    "unreadable_row": "the row cannot be read as CSV",
    "missing_value": "a required value is blank",
    "not_a_number": "a number field holds something else",
    "unknown_code": "sex, indication or route outside the allowed codes",
    "unparseable_date": "a date that is not ISO 8601",
    "impossible_date": "a date that does not exist",
    "future_date": "dated after the run",
    "before_birth": "dated before the patient's birth year",
    "before_intake": "more than a year before intake",
    "impossible_value": "birth year, duration or CADSS out of range",
    "unknown_patient": "the patient is not loaded",
    "unknown_session": "the infusion is not loaded",
    "session_of_other_patient": "the infusion belongs to another patient",
    "unknown_instrument": "not a known scale",
    "item_not_whole": "an item answer that is not a whole number",
    "item_out_of_range": "an item answer outside the scale's range",
    "item_not_in_scale": "item columns beyond the scale's items",
    "total_not_whole": "a total that is not a whole number",
    "total_out_of_range": "a total outside the scale's range",
    "total_mismatch": "the total disagrees with the items",
    "impossible_vitals": "blood pressure, heart rate, SpO2 or weight impossible",
    "dose_out_of_range": "dose outside 1-500 mg or above 3 mg/kg",
    "conflicting_duplicate": "rows of one file share an id but differ",
    "invalid_fhir": "a FHIR resource that breaks the R4 specification",
    "entered_in_error": "a FHIR resource marked entered-in-error",
    "not_given": "a FHIR infusion with status not-done",
}

# Why a patient has no baseline on a scale, most actionable first (see `patients_without_baseline`).
BASELINE_GAP_REASONS = {
    "only_incomplete": "only incomplete scores in the baseline window (too many items missing)",
    "only_too_early": "scored before treatment, but only more than the baseline window before the first infusion",
    "none_before_start": "no score before the first infusion",
    "never_recorded": "never recorded",
}

# --- ingest runs --------------------------------------------------------------------------

RUNS_SQL = """
WITH final AS (
    -- One row per completed run; rows_in = inserted + updated + unchanged + quarantined
    -- (docs/ingest.md), the check the page shows.
    SELECT
        run_id,
        started_at,
        finished_at,
        round(epoch(finished_at - started_at), 1) AS seconds,
        len(files) AS n_files,
        rows_in,
        inserted,
        updated,
        unchanged,
        quarantined,
        rows_in = inserted + updated + unchanged + quarantined AS balanced
    FROM ingest_runs
)
SELECT * FROM final
ORDER BY run_id DESC
"""

FILES_SQL = """
WITH per_file AS (
    -- ingest_runs.files: one struct per file read in the run.
    SELECT run_id, unnest(files) AS f
    FROM ingest_runs
),
final AS (
    SELECT
        run_id,
        f.path AS path,
        f.kind AS kind,
        f.rows_in AS rows_in,
        f.inserted AS inserted,
        f.updated AS updated,
        f.unchanged AS unchanged,
        f.quarantined AS quarantined,
        f.seconds AS seconds,
        f.sha256 AS sha256
    FROM per_file
)
SELECT * FROM final
ORDER BY run_id DESC, CASE kind WHEN 'patients' THEN 1 WHEN 'sessions' THEN 2 ELSE 3 END, path
"""


def ingest_runs(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Every completed ingest run, newest first.

    Columns: `run_id`, `started_at`, `finished_at` (UTC, as recorded), `seconds`, `n_files`,
    `rows_in`, `inserted`, `updated`, `unchanged`, `quarantined` and `balanced` (rows in =
    inserted + updated + unchanged + quarantined, the ingest's invariant). Empty before the
    first run (a failed run writes nothing).
    """
    return con.execute(RUNS_SQL).df()


def ingest_files(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Every file of every run, newest run first, then patients, sessions, assessments.

    Columns: `run_id`, `path`, `kind`, `rows_in`, `inserted`, `updated`, `unchanged`,
    `quarantined`, `seconds`, `sha256` (the content hash the quarantine is keyed on).
    """
    return con.execute(FILES_SQL).df()


# --- quarantine ---------------------------------------------------------------------------

QUARANTINE_BY_RULE_SQL = """
WITH broken AS (
    -- A row can break several rules (all are listed): it counts under each of them. Its reason
    -- joins one message per rule with "; " in the rules' order; each rule gets its own message
    -- (the whole reason if a message itself holds "; ").
    SELECT
        unnest(rules) AS rule,
        unnest(CASE WHEN len(string_split(reason, '; ')) = len(rules) THEN string_split(reason, '; ')
                    ELSE list_transform(rules, lambda r: reason) END) AS message,
        kind,
        source_file,
        run_id
    FROM quarantine
),
final AS (
    SELECT
        rule,
        count(*) AS n_rows,
        count(DISTINCT source_file) AS n_files,
        list(DISTINCT kind ORDER BY kind) AS kinds,
        min(message) AS example_reason,
        min(run_id) AS first_run,
        max(run_id) AS last_run
    FROM broken
    GROUP BY rule
)
SELECT * FROM final
ORDER BY n_rows DESC, rule
"""

QUARANTINE_ROWS_SQL = """
WITH chosen AS (
    -- Rows that broke any of the chosen rules (all rows when none are chosen).
    SELECT *
    FROM quarantine
    WHERE len(?::VARCHAR[]) = 0 OR list_has_any(rules, ?::VARCHAR[])
),
final AS (
    SELECT
        run_id,
        source_file,
        kind,
        source_row,
        record_key,
        array_to_string(rules, ', ') AS rules,
        reason,
        -- The exported row in one line, "field=value", blanks and the row number left out.
        array_to_string(list_transform(
            list_filter(json_keys(raw),
                        lambda k: k <> 'source_row' AND json_extract_string(raw, '$."' || k || '"') IS NOT NULL),
            lambda k: k || '=' || json_extract_string(raw, '$."' || k || '"')), ', ') AS raw_values,
        raw
    FROM chosen
)
SELECT * FROM final
ORDER BY run_id, source_file, source_row
"""


def quarantine_by_rule(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Quarantined rows per rule (docs/ingest.md), most frequent first.

    Columns: `rule`, `description` (RULE_DESCRIPTIONS), `n_rows` (a row breaking several rules
    counts under each), `n_files`, `kinds` (patients/sessions/assessments), `example_reason`
    (one reason as recorded, naming values and limits), `first_run`, `last_run`.
    """
    frame = con.execute(QUARANTINE_BY_RULE_SQL).df()
    frame.insert(1, "description", frame["rule"].map(RULE_DESCRIPTIONS).fillna(""))
    return frame


def quarantined_rows(con: duckdb.DuckDBPyConnection, settings=None, rules: tuple[str, ...] = ()) -> pd.DataFrame:
    """The quarantined rows themselves, for sending back to whoever keeps the records.

    `rules`: only rows that broke any of these (all rows when empty). Columns: `run_id` (the run
    that first met the row), `source_file`, `kind`, `source_row` (data row in the file, 1 = first
    after the header), `record_key` (the row's id where readable), `rules` (comma-separated),
    `reason` (in words), `raw_values` (the exported fields as `name=value`, blanks left out) and
    `raw` (the row as exported, JSON). Ordered by run, file and row.
    """
    chosen = list(rules)
    return con.execute(QUARANTINE_ROWS_SQL, [chosen, chosen]).df()


# --- duplicates and updates ---------------------------------------------------------------

UPDATES_SQL = """
WITH files AS (
    -- What each run did per kind of export (summed over the run's files of that kind).
    SELECT run_id, f.kind AS kind, sum(f.rows_in)::BIGINT AS rows_in, sum(f.unchanged)::BIGINT AS unchanged,
           sum(f.updated)::BIGINT AS updated
    FROM (SELECT run_id, unnest(files) AS f FROM ingest_runs)
    GROUP BY ALL
),
versions AS (
    -- Earlier versions kept when a run replaced a row with new values (docs/ingest.md).
    SELECT 'patients' AS kind, replaced_by_run AS run_id, count(*) AS versions_kept FROM patients_history GROUP BY ALL
    UNION ALL
    SELECT 'sessions', replaced_by_run, count(*) FROM sessions_history GROUP BY ALL
    UNION ALL
    SELECT 'assessments', replaced_by_run, count(*) FROM assessments_history GROUP BY ALL
),
duplicates AS (
    -- Rows of one file sharing an id with different values: all quarantined (rule
    -- conflicting_duplicate), counted in the run that first met them.
    SELECT run_id, kind, count(*) AS conflicting_rows, count(DISTINCT record_key) AS conflicting_ids
    FROM quarantine
    WHERE list_contains(rules, 'conflicting_duplicate')
    GROUP BY ALL
),
final AS (
    SELECT
        f.run_id,
        f.kind,
        f.rows_in,
        f.unchanged,
        f.updated,
        coalesce(v.versions_kept, 0) AS versions_kept,
        coalesce(d.conflicting_rows, 0) AS conflicting_rows,
        coalesce(d.conflicting_ids, 0) AS conflicting_ids
    FROM files AS f
    LEFT JOIN versions AS v ON v.run_id = f.run_id AND v.kind = f.kind
    LEFT JOIN duplicates AS d ON d.run_id = f.run_id AND d.kind = f.kind
)
SELECT * FROM final
ORDER BY run_id DESC, CASE kind WHEN 'patients' THEN 1 WHEN 'sessions' THEN 2 ELSE 3 END
"""

UPDATED_RECORDS_SQL = """
WITH replaced AS (
    -- One row per earlier version kept, with the id it is stored under.
    SELECT 'patients' AS kind, patient_id AS record_key, patient_id, replaced_by_run, replaced_at,
           run_id AS loaded_by_run, source_file, source_row
    FROM patients_history
    UNION ALL
    SELECT 'sessions', session_id, patient_id, replaced_by_run, replaced_at, run_id, source_file, source_row
    FROM sessions_history
    UNION ALL
    SELECT 'assessments', assessment_key, patient_id, replaced_by_run, replaced_at, run_id, source_file, source_row
    FROM assessments_history
),
final AS (
    SELECT * FROM replaced
)
SELECT * FROM final
ORDER BY replaced_by_run DESC, CASE kind WHEN 'patients' THEN 1 WHEN 'sessions' THEN 2 ELSE 3 END, record_key
"""


def updates_by_run(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Duplicates and updates, per run and kind of export (patients, sessions, assessments).

    - `unchanged`: rows identical to the stored version, or an identical repeat of an earlier
      row in the same file (the ingest counts both as unchanged: loaded once, nothing lost);
    - `updated`: rows that replaced a stored row with new values (ingest_runs), and
      `versions_kept`: the earlier versions kept in `<kind>_history` for that run (the two agree
      unless history was pruned);
    - `conflicting_rows` / `conflicting_ids`: rows of one file that share an id but differ, all
      quarantined (none can be trusted over the others), and how many ids they carry.

    Also `run_id`, `kind` and `rows_in`. Newest run first.
    """
    return con.execute(UPDATES_SQL).df()


def updated_records(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Every earlier version of an updated row: `kind`, `record_key` (the id it is stored under),
    `patient_id`, `replaced_by_run`, `replaced_at` (UTC), `loaded_by_run`, and the `source_file`
    and `source_row` the old version came from. Newest replacement first."""
    return con.execute(UPDATED_RECORDS_SQL).df()


# --- baselines ----------------------------------------------------------------------------

BASELINE_GAPS_SQL = """
WITH window_setting AS (
    -- The baseline window the `patient_outcomes` view uses (outcome_settings, 30 days by default).
    SELECT baseline_window_days AS days FROM outcome_settings
),
treated AS (
    SELECT c.patient_id, c.site, c.clinician, c.first_session_at
    FROM patient_cohorts AS c
    WHERE {cohort}
),
expected AS (
    -- Who should have a baseline on which scale: PHQ-9 for every treated patient (the clinic's
    -- primary measure; the worklist flags "no PHQ-9 baseline" too), any other scale once the
    -- patient has been given it at all.
    SELECT patient_id, 'PHQ-9' AS instrument FROM treated
    UNION
    SELECT DISTINCT a.patient_id, a.instrument
    FROM assessments AS a
    SEMI JOIN treated AS t ON t.patient_id = a.patient_id
),
missing AS (
    -- ... and has none: no row in `patient_outcomes`.
    SELECT e.*
    FROM expected AS e
    ANTI JOIN patient_outcomes AS o ON o.patient_id = e.patient_id AND o.instrument = e.instrument
),
placed AS (
    -- Each administration of a missing scale, placed against the baseline window (clinical
    -- reference: from the first infusion's date minus the window, both ends included, up to
    -- the first infusion's start). Valid = has a total (the `scores` view's rule).
    SELECT
        a.patient_id,
        a.instrument,
        a.administered_at,
        a.total IS NOT NULL AS valid,
        CASE
            WHEN a.administered_at > t.first_session_at THEN 'after_start'
            WHEN a.administered_at::DATE < t.first_session_at::DATE - to_days(w.days) THEN 'too_early'
            ELSE 'in_window'
        END AS place
    FROM missing AS m
    JOIN assessments AS a ON a.patient_id = m.patient_id AND a.instrument = m.instrument
    JOIN treated AS t ON t.patient_id = m.patient_id
    CROSS JOIN window_setting AS w
),
per_scale AS (
    SELECT
        patient_id,
        instrument,
        count(*) AS n_administrations,
        count(*) FILTER (WHERE NOT valid AND place = 'in_window') AS incomplete_in_window,
        max(administered_at) FILTER (WHERE valid AND place = 'too_early') AS latest_too_early_at,
        min(administered_at) FILTER (WHERE valid AND place = 'after_start') AS first_after_start_at
    FROM placed
    GROUP BY ALL
),
reasoned AS (
    SELECT
        m.patient_id,
        m.instrument,
        t.site,
        t.clinician,
        t.first_session_at,
        CASE
            WHEN s.incomplete_in_window > 0 THEN 'only_incomplete'
            WHEN s.latest_too_early_at IS NOT NULL THEN 'only_too_early'
            WHEN s.n_administrations > 0 THEN 'none_before_start'
            ELSE 'never_recorded'
        END AS reason,
        s.latest_too_early_at,
        date_diff('day', s.latest_too_early_at::DATE, t.first_session_at::DATE) AS days_too_early,
        s.first_after_start_at,
        coalesce(s.n_administrations, 0) AS n_administrations
    FROM missing AS m
    JOIN treated AS t ON t.patient_id = m.patient_id
    LEFT JOIN per_scale AS s ON s.patient_id = m.patient_id AND s.instrument = m.instrument
),
{final}
"""

BASELINE_GAPS_LIST = """
final AS (
    SELECT * FROM reasoned WHERE ? IS NULL OR instrument = ?
)
SELECT * FROM final
ORDER BY
    instrument,
    list_position(['only_incomplete', 'only_too_early', 'none_before_start', 'never_recorded'], reason),
    patient_id
"""

BASELINE_GAPS_SUMMARY = """
with_baseline AS (
    SELECT o.instrument, count(*) AS n_with_baseline
    FROM patient_outcomes AS o
    SEMI JOIN treated AS t ON t.patient_id = o.patient_id
    GROUP BY ALL
),
without AS (
    SELECT
        instrument,
        count(*) AS n_without_baseline,
        count(*) FILTER (WHERE reason = 'only_incomplete') AS only_incomplete,
        count(*) FILTER (WHERE reason = 'only_too_early') AS only_too_early,
        count(*) FILTER (WHERE reason = 'none_before_start') AS none_before_start,
        count(*) FILTER (WHERE reason = 'never_recorded') AS never_recorded
    FROM reasoned
    GROUP BY ALL
),
final AS (
    SELECT
        i.code AS instrument,
        coalesce(b.n_with_baseline, 0) AS n_with_baseline,
        coalesce(w.n_without_baseline, 0) AS n_without_baseline,
        coalesce(w.only_incomplete, 0) AS only_incomplete,
        coalesce(w.only_too_early, 0) AS only_too_early,
        coalesce(w.none_before_start, 0) AS none_before_start,
        coalesce(w.never_recorded, 0) AS never_recorded
    FROM instruments AS i
    LEFT JOIN with_baseline AS b ON b.instrument = i.code
    LEFT JOIN without AS w ON w.instrument = i.code
    WHERE b.instrument IS NOT NULL OR w.instrument IS NOT NULL
)
SELECT * FROM final
ORDER BY CASE instrument WHEN 'PHQ-9' THEN 1 WHEN 'GAD-7' THEN 2 WHEN 'PAIN-NRS' THEN 3 ELSE 4 END, instrument
"""


def patients_without_baseline(con: duckdb.DuckDBPyConnection, settings=None, scale: str | None = None,
                              cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Treated patients who have no baseline on a scale, with the reason: they are left out of
    that scale's outcome rates (clinical reference, "Baseline": "no such assessment -> no
    baseline: the patient is counted in data quality, not in outcome rates").

    Which pairs are expected to have one: PHQ-9 for every treated patient of the cohort, any
    other scale once the patient has an administration of it. Missing = no row in
    `patient_outcomes`. The reason, the first that applies (BASELINE_GAP_REASONS):

    - `only_incomplete` - administrations in the baseline window, none with a total (too many
      items missing);
    - `only_too_early` - valid scores before treatment, but all dated more than the window
      (`outcome_settings.baseline_window_days`, 30) before the first infusion's date;
    - `none_before_start` - administrations, but none before the first infusion started (a
      score stamped after the start does not count);
    - `never_recorded` - no administration at all (PHQ-9 only).

    `scale`: one scale code, or None for all. Columns: `patient_id`, `instrument`, `site`,
    `clinician`, `first_session_at`, `reason`, `latest_too_early_at` and `days_too_early` (the
    latest valid score before the window and its distance in days from the first infusion's
    date), `first_after_start_at` (first valid score after treatment started),
    `n_administrations` (of that scale, valid or not). Sorted by scale, reason, patient.
    """
    where, params = cohort.where("c")
    sql = BASELINE_GAPS_SQL.format(cohort=where, final=BASELINE_GAPS_LIST)
    return patient_rows(con, sql, [*params, scale, scale])


def baseline_coverage(con: duckdb.DuckDBPyConnection, settings=None,
                      cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Per scale: treated patients of the cohort with a baseline (`n_with_baseline`) and without
    one (`n_without_baseline`, as `patients_without_baseline` defines it), and the latter split
    by reason (one column per key of BASELINE_GAP_REASONS). Scales nobody was given are left out;
    PHQ-9 first."""
    where, params = cohort.where("c")
    return con.execute(BASELINE_GAPS_SQL.format(cohort=where, final=BASELINE_GAPS_SUMMARY), params).df()


# --- completion by infusion ---------------------------------------------------------------

COMPLETION_SQL = """
WITH window_setting AS (
    SELECT baseline_window_days AS days FROM outcome_settings
),
cohort AS (
    SELECT c.patient_id FROM patient_cohorts AS c WHERE {cohort}
),
infusions AS (
    -- Infusions 1..max_infusion of the cohort's patients, numbered in their course.
    SELECT sn.patient_id, sn.session_number AS infusion
    FROM session_numbers AS sn
    SEMI JOIN cohort AS c ON c.patient_id = sn.patient_id
    WHERE sn.session_number <= ?
),
scored_before AS (
    -- A valid score "for" infusion k: taken before it started and after infusion k - 1 started,
    -- i.e. `scores.sessions_before` = k - 1 (a score stamped at an infusion's start counts for
    -- that infusion, as everywhere). For the first infusion it must lie in the baseline window,
    -- so infusion 1 reads "has a usable baseline".
    SELECT DISTINCT s.patient_id, s.sessions_before + 1 AS infusion
    FROM scores AS s, window_setting AS w
    WHERE s.instrument = ?
      AND s.sessions_before < ?
      AND (s.sessions_before > 0 OR s.days_since_first_session >= -w.days)
),
per_infusion AS (
    SELECT
        i.infusion,
        count(*) AS n_infusions,
        count(b.patient_id) AS n_with_score
    FROM infusions AS i
    LEFT JOIN scored_before AS b ON b.patient_id = i.patient_id AND b.infusion = i.infusion
    GROUP BY i.infusion
),
every_infusion AS (
    SELECT range AS infusion FROM range(1, ? + 1)
),
final AS (
    SELECT
        e.infusion,
        coalesce(p.n_infusions, 0) AS n_infusions,
        coalesce(p.n_with_score, 0) AS n_with_score,
        p.n_with_score / p.n_infusions AS share
    FROM every_infusion AS e
    LEFT JOIN per_infusion AS p ON p.infusion = e.infusion
)
SELECT * FROM final
ORDER BY infusion
"""


def completion_by_infusion(con: duckdb.DuckDBPyConnection, settings=None, scale: str = "PHQ-9",
                           max_infusion: int = 12, cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Assessment completion: for infusions 1..`max_infusion`, the share of infusions given with
    a valid `scale` score taken before it and after the previous infusion started.

    Why: measurement-based care needs a score before every infusion; a falling share by
    infusion number shows where the routine slips (and the worklist's "no PHQ-9 since last
    infusion" flags the patients). The first infusion's score must lie in the baseline window,
    so infusion 1 is the share of patients with a usable baseline. Several scores before one
    infusion count once.

    One row per infusion number: `infusion`, `n_infusions` (infusions with that number in the
    cohort), `n_with_score`, `share` (NaN when no infusion has that number).
    """
    where, params = cohort.where("c")
    sql = COMPLETION_SQL.format(cohort=where)
    return con.execute(sql, [*params, max_infusion, scale, max_infusion, max_infusion]).df()


# --- the same, for viewers without patient-level access ---------------------------------------

def suppressed_coverage(coverage: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """`baseline_coverage` for an analyst: counts of patients, so small cells are blanked as on
    the Clinic outcomes page (`suppression`, CMS cell-size policy). Per scale the cells are
    with + without = treated (treated is not printed, but follows from the two) and the
    reasons, which split "without"; blanked counts become <NA>."""
    reasons = [reason for reason in BASELINE_GAP_REASONS if reason in coverage.columns]
    columns = ["n_with_baseline", "n_without_baseline", *reasons]
    shown = coverage.copy()
    for column in columns:
        shown[column] = shown[column].astype("Int64")
    for position, row in enumerate(coverage.itertuples(index=False)):
        table = suppression.Table()
        with_baseline = table.cell(row.n_with_baseline)
        without = table.cell(row.n_without_baseline)
        table.line([with_baseline, without], table.cell(row.n_with_baseline + row.n_without_baseline, published=False))
        parts = [table.cell(getattr(row, reason)) for reason in reasons]
        if parts:
            table.line(parts, without)
        hidden = table.protect(min_cell)
        for column, cell in zip(columns, [with_baseline, without, *parts]):
            if hidden[cell]:
                shown.iloc[position, shown.columns.get_loc(column)] = pd.NA
    return shown


def suppressed_completion(completion: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """`completion_by_infusion` for an analyst. Each patient has at most one infusion of each
    number, so the counts are counts of patients: per infusion number, with a score + without
    one (not printed) = infusions given; a blanked count blanks the share too."""
    shown = completion.copy()
    for column in ("n_infusions", "n_with_score"):
        shown[column] = shown[column].astype("Int64")
    shown["share"] = shown["share"].astype(float)
    for position, row in enumerate(completion.itertuples(index=False)):
        table = suppression.Table()
        given, scored = table.cell(row.n_infusions), table.cell(row.n_with_score)
        table.line([scored, table.cell(row.n_infusions - row.n_with_score, published=False)], given)
        hidden = table.protect(min_cell)
        for column, cell in (("n_infusions", given), ("n_with_score", scored)):
            if hidden[cell]:
                shown.iloc[position, shown.columns.get_loc(column)] = pd.NA
        if hidden[given] or hidden[scored]:
            shown.iloc[position, shown.columns.get_loc("share")] = np.nan
    return shown
