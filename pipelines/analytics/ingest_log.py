"""The ingest log: what each ingest run read and did with every row of the clinic's exports.

Why a module of its own: outcome numbers are only as good as the rows behind them. An analyst
(or the clinic's admin) needs to see what each ingest run read and did with every row
(inserted, updated, unchanged, quarantined), which rows were kept out and why (so they can be
sent back to whoever keeps the records), and what the database holds now. The dashboard's Data
quality page and the CLI's `outcomes runs` / `outcomes quarantine` ask these same questions.

Sources: the tables `ingest_runs` (one row per run, per-file counts in its `files` list),
`quarantine`, and `patients_history` / `sessions_history` / `assessments_history` (earlier
versions of updated rows). The rules are docs/ingest.md's. The database records what happened,
so the answers do not depend on the settings; the functions take them for the signature every
question of `pipelines.analytics` shares, `(con, settings, ...)`.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .. import sql

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

# Tables and views counted by `table_counts`, labelled in plain words.
TABLE_LABELS = {
    "patients": "Patients",
    "sessions": "Infusion sessions",
    "appointments": "Planned infusions (bookings)",
    "assessments": "Assessments (all, incl. incomplete)",
    "scores": "Scored assessments",
    "patient_outcomes": "Patients x scales with a baseline",
    "quarantine": "Quarantined rows",
    "ingest_runs": "Ingest runs",
}


def ingest_runs(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Every completed ingest run, newest first.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used: the database records what happened.

    Returns
    -------
    pandas.DataFrame
        One row per run: `run_id`, `started_at`, `finished_at` (UTC, as recorded), `seconds`
        (rounded to 0.1 s), `n_files`, `rows_in`, `inserted`, `updated`, `unchanged`,
        `quarantined`, `balanced`, `deleted` (stored rows a full export left out, moved to
        history; 0 for other runs) and `full_export` (the run was one). Empty before the
        first run (a failed run writes nothing).

    Notes
    -----
    `balanced` checks the ingest's invariant, rows in = inserted + updated + unchanged +
    quarantined: a run that does not balance lost a row, which must never happen. Deleted
    rows are not rows in (they are stored rows the export did not send), so they stand apart.

    References
    ----------
    docs/ingest.md, "A run" and "Where each row goes".
    """
    return con.execute(sql.read("analytics/ingest_log/runs")).df()


def ingest_files(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Every file of every run, newest run first, then patients, sessions, assessments.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used.

    Returns
    -------
    pandas.DataFrame
        One row per file and run: `run_id`, `path`, `kind`, `rows_in`, `inserted`, `updated`,
        `unchanged`, `quarantined`, `seconds`, `sha256` (the content hash the quarantine is
        keyed on). Within a run, files are ordered by kind, then path.

    References
    ----------
    docs/ingest.md.
    """
    return con.execute(sql.read("analytics/ingest_log/files")).df()


def quarantine_by_rule(con: duckdb.DuckDBPyConnection, settings=None, run: int | None = None,
                       rules: tuple[str, ...] = ()) -> pd.DataFrame:
    """Quarantined rows per rule, most frequent first.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used.
    run : int, optional
        Only rows first met in this run (every run when None).
    rules : tuple of str
        Only rows that broke any of these rules (all rows when empty); such a row still counts
        under each rule it broke.

    Returns
    -------
    pandas.DataFrame
        One row per rule: `rule`, `description` (RULE_DESCRIPTIONS), `n_rows`, `n_files`,
        `kinds` (patients/sessions/assessments), `example_reason` (one reason as recorded,
        naming values and limits), `first_run`, `last_run`. Sorted by `n_rows` (most first),
        then rule.

    Notes
    -----
    A row can break several rules (all are listed): it counts under each of them, so the
    `n_rows` add up to more than the rows quarantined.

    References
    ----------
    docs/ingest.md, "Quarantine rules".
    """
    chosen = list(rules)
    frame = con.execute(sql.read("analytics/ingest_log/quarantine_by_rule"), [run, run, chosen, chosen]).df()
    frame.insert(1, "description", frame["rule"].map(RULE_DESCRIPTIONS).fillna(""))
    return frame


def quarantined_rows(con: duckdb.DuckDBPyConnection, settings=None, rules: tuple[str, ...] = (),
                     run: int | None = None, limit: int | None = None) -> pd.DataFrame:
    """The quarantined rows themselves, for sending back to whoever keeps the records.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used.
    rules : tuple of str
        Only rows that broke any of these rules (all rows when empty).
    run : int, optional
        Only rows first met in this run (every run when None).
    limit : int, optional
        At most this many rows, in the order below (all when None).

    Returns
    -------
    pandas.DataFrame
        One row per quarantined row: `run_id` (the run that first met the row), `source_file`,
        `kind`, `source_row` (data row in the file, 1 = first after the header), `record_key`
        (the row's id where readable), `rules` (comma-separated), `reason` (in words),
        `raw_values` (the exported fields as `name=value`, blanks left out) and `raw` (the row
        as exported, JSON). Ordered by run, file and row.

    References
    ----------
    docs/ingest.md, "Quarantine rules".
    """
    chosen = list(rules)
    return con.execute(sql.read("analytics/ingest_log/quarantined_rows"), [run, run, chosen, chosen, limit]).df()


def updates_by_run(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Duplicates and updates, per run and kind of export (patients, sessions, assessments).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used.

    Returns
    -------
    pandas.DataFrame
        One row per run and kind, newest run first: `run_id`, `kind`, `rows_in`, and

        - `unchanged`: rows identical to the stored version, or an identical repeat of an
          earlier row in the same file (the ingest counts both as unchanged: loaded once,
          nothing lost);
        - `updated`: rows that replaced a stored row with new values (ingest_runs), and
          `versions_kept`: the earlier versions kept in `<kind>_history` for that run (the two
          agree unless history was pruned);
        - `deleted`: stored rows a full export of the run left out, kept in `<kind>_history`;
        - `conflicting_rows` / `conflicting_ids`: rows of one file that share an id but differ,
          all quarantined (none can be trusted over the others), and how many ids they carry.

    References
    ----------
    docs/ingest.md, "Where each row goes".
    """
    return con.execute(sql.read("analytics/ingest_log/updates_by_run")).df()


def updated_records(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """Every earlier version of an updated or deleted row, newest replacement first.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used.

    Returns
    -------
    pandas.DataFrame
        `kind`, `record_key` (the id it is stored under), `patient_id`, `replaced_by_run`,
        `replaced_at` (UTC), `loaded_by_run`, the `source_file` and `source_row` the old
        version came from, and `deleted` (a full export left it out, rather than a new
        version replacing it).

    References
    ----------
    docs/ingest.md, "Where each row goes".
    """
    return con.execute(sql.read("analytics/ingest_log/updated_records")).df()


def table_counts(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """What the database holds now: rows per table and view, labelled in plain words.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used.

    Returns
    -------
    pandas.DataFrame
        One row per entry of TABLE_LABELS, in its order: `what` (the label), `table`, `rows`
        (0 for a table the database does not have yet).
    """
    present = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    rows = [
        {"what": label, "table": name,
         "rows": con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] if name in present else 0}
        for name, label in TABLE_LABELS.items()
    ]
    return pd.DataFrame(rows)
