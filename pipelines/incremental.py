"""After a run, bring the stored outcome tables up to date: recompute only the patients the run
changed, or everything when that is not safe or not cheaper.

Why: recomputing the stored tables (pipelines/precomputed.py) for the whole clinic after every
run made a day's ingest cost minutes at 1,000,000 patients for a few thousand patients' new
rows. Every stored table is per patient: each row is about one patient and is computed from that
patient's rows of `patients`, `sessions` and `assessments` and from the reference tables
(registry, bands, outcome settings) only (no window, join or aggregate crosses patients, and
none reads the day: treatment status is a macro given its `as_of` day by its reader, and is not
stored). So a run that changed a few patients changes their rows only, and the rest stay right.

How (`refresh_changed`): the changed patients (sql/precomputed/changed_patients.sql: rows a
later run wrote, replaced or deleted) go into a scratch in-memory database attached to the
ingest's own DuckDB instance (so it is under the ingest's memory cap); the scratch holds the
three data tables restricted to those patients, views onto every other table of the working
copy, and this version's views (pipelines/db.py's files, created there unchanged), which
`precomputed.materialise` computes exactly as for the full tables. Then, in one transaction on
the working copy, each stored table drops those patients' rows and takes their new ones. One
definition serves both paths: nothing of the views is written twice, and no view file changes.
(The alternative, a `{{patients}}` placeholder in every view file, would filter at the base
tables as well, but adds a template to the analysts' contract; the scratch database keeps the
views plain SQL.)

A full recomputation (`plan` says why, and `precomputed.about.reason` records it) instead when:
there are no current stored tables to update (none, or a missing one, or another format); the
definitions changed (`precomputed.definitions`); the reference tables changed (thresholds or
windows apply to every patient); or more than FULL_SHARE of the patients changed (the
break-even, docs/scaling.md). It uses the same scratch database, a batch of at most
BATCH_PATIENTS patients (a contiguous range of ids) at a time, appended in order of id: the
tables come out sorted by patient without a sort of the whole table, and its memory is one
batch's whatever the clinic's size (a single computation of a 1,000,000-patient clinic did not
fit the ingest's default 1 GB cap).

The per-patient lookups rely on the stored tables' sort by patient, which the appended rows
break. When the rows appended since the last sort exceed UNSORTED_SHARE of the stored rows, the
incremental refresh also rewrites the stored tables sorted (`about.reason` says so): a sort of
stored rows, not a recomputation (docs/scaling.md compares the two).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from . import precomputed, sql
from .db import create_views

# Above this share of the clinic's patients changed, recompute everything (measured
# break-even: docs/scaling.md, "Incremental ingest").
FULL_SHARE = 0.25
# Rows added out of patient order since the last sort, as a share of the stored rows, above
# which the stored tables are rewritten sorted by patient.
UNSORTED_SHARE = 0.10
# The tables restricted to the changed patients in the scratch database: those with a
# patient_id the stored tables read (everything else is a view onto the working copy).
PATIENT_TABLES = ("patients", "sessions", "assessments")
SCRATCH = "incremental_scratch"
# A full computation's batch: at most this many patients' rows are computed at once (its memory
# is one batch's; measured at 20,000 and 1,000,000 patients: docs/scaling.md).
BATCH_PATIENTS = 200_000


@dataclass
class Plan:
    """What the refresh after a run will do: 'incremental' for `changed` patients (listed in
    the temporary table `changed_patients`), or 'full', for `reason`."""

    refresh: str
    reason: str | None = None
    changed: int = 0
    appended: int = 0  # rows out of patient order before this refresh (incremental only)
    resort: bool = False  # incremental: rewrite the stored tables sorted by patient afterwards


def stored_about(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The stored tables' `about` row, as a dict of its columns (those of an older version lack
    some), or None without a complete set of stored tables."""
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    has_about, tables, stored_rows = con.execute(sql.read("precomputed/stored"),
                                                 [catalog, precomputed.SCHEMA]).fetchone()
    if not has_about or not set(precomputed.TABLES) <= set(tables):
        return None
    cursor = con.execute(f"SELECT * FROM {precomputed.SCHEMA}.about")
    rows = cursor.fetchall()
    if len(rows) != 1:
        return None
    return {**dict(zip([d[0] for d in cursor.description], rows[0])), "stored_rows": stored_rows}


def plan(con: duckdb.DuckDBPyConnection) -> Plan:
    """Decide how to refresh the stored tables after a run (its rows committed on `con`); for
    an incremental refresh, leave the changed patients in temp table `changed_patients`.
    FULL_SHARE and UNSORTED_SHARE are read when called (a benchmark sets them to force a path)."""
    full_share, unsorted_share = FULL_SHARE, UNSORTED_SHARE
    about = stored_about(con)
    if about is None:
        return Plan("full", "no stored tables to update")
    if about.get("reference") is None:
        return Plan("full", "the stored tables were computed by an older version")
    if about["definitions"] != precomputed.definitions():
        return Plan("full", "the definitions of the tables changed")
    if about["reference"] != precomputed.reference(con):
        return Plan("full", "the registry or the outcome settings changed")
    changed_query = sql.read("precomputed/changed_patients")
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed_patients AS SELECT * FROM ({changed_query})",
                {"since": about["run_id"]})
    (changed,) = con.execute("SELECT count(*) FROM changed_patients").fetchone()
    (patients,) = con.execute("SELECT count(*) FROM patients").fetchone()
    if changed > full_share * patients:
        return Plan("full", f"{changed:,} of {patients:,} patients changed (more than {full_share:.0%})")
    return Plan("incremental", changed=changed, appended=about["appended"],
                resort=about["appended"] > unsorted_share * about["stored_rows"])


@contextmanager
def _scratch(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The scratch in-memory database, attached to the ingest's own DuckDB instance (so under
    its memory cap) for as long as the block runs."""
    con.execute(f"ATTACH ':memory:' AS {SCRATCH}")
    try:
        yield
    except BaseException:
        try:
            con.execute("ROLLBACK")  # a failed transaction would refuse the DETACH
        except duckdb.Error:
            pass  # no transaction open
        raise
    finally:
        con.execute(f"DETACH {SCRATCH}")


# What `_compute` makes of each table by default: a table of the scratch database's schema
# `computed`, and a temporary view of the same name onto it for the views computed after it.
IN_SCRATCH = ("CREATE OR REPLACE TABLE computed.{view} AS SELECT * FROM {source};"
              "CREATE TEMP VIEW {view} AS SELECT * FROM computed.{view}")


def _compute(con: duckdb.DuckDBPyConnection, where: str, params: dict | None = None,
             template: str = IN_SCRATCH) -> None:
    """Compute the stored tables' rows of the patients `where` selects (a condition on
    `patient_id`) with `template` (`precomputed.materialise`; by default into schema `computed`
    of the scratch database, replacing any earlier batch's): the data tables restricted to
    them, views onto every other table of the working copy, this version's views
    (pipelines/db.py) over those, and `precomputed.materialise`."""
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    work = f'"{catalog}"'
    scratch = con.cursor()  # its own default database and temporary objects
    try:
        scratch.execute(f"USE {SCRATCH}")
        scratch.execute("CREATE SCHEMA IF NOT EXISTS computed")
        tables = [name for (name,) in scratch.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'",
            [catalog]).fetchall()]
        for table in tables:
            if table in PATIENT_TABLES and where != "true":
                scratch.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {work}.main.{table} "
                                f"WHERE {where}", params)
            else:  # (every patient: read in place, not copied)
                scratch.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM {work}.main.{table}")
        create_views(scratch)
        precomputed.materialise(scratch, template)
    finally:
        scratch.close()


def _batches(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dict]]:
    """The clinic's patients as contiguous ranges of ids of at most BATCH_PATIENTS, in order: a
    condition on `patient_id` and its parameters for each (sql/precomputed/patient_batches.sql)."""
    starts = [start for (start,) in con.execute(sql.read("precomputed/patient_batches"),
                                                {"batch_patients": BATCH_PATIENTS}).fetchall()]
    batches = []
    for low, high in zip([None, *starts], [*starts, None]):
        bounds = {name: value for name, value in (("low", low), ("high", high)) if value is not None}
        where = " AND ".join([*(["patient_id >= $low"] if low is not None else []),
                              *(["patient_id < $high"] if high is not None else [])]) or "true"
        batches.append((where, bounds))
    return batches


def refresh_full(con: duckdb.DuckDBPyConnection, run_id: int, reason: str | None) -> None:
    """Recompute every stored table, a batch of patients at a time (`_batches`), recording why.

    Each batch's rows are computed straight into the stored tables, appended in order of
    patient id: they come out sorted by patient without a sort of the whole table, and the
    memory a full computation needs is one batch's, whatever the clinic's size. The views
    computed after a table read the batch's rows of it back from the stored table (sorted by
    patient, so the range is found from its zone maps), not from a copy in memory: each row is
    written once (docs/scaling.md, "Each outcome row written once")."""
    # The previous run's tables go first, and a checkpoint frees their blocks, so the new ones
    # reuse them: the file does not grow by a set of tables per run.
    precomputed.drop(con)
    con.execute("CHECKPOINT")
    # Each batch commits on its own (one transaction over all of them would not see the
    # scratch's later batches, and would hold every batch's rows uncommitted); `about` comes
    # last, so until then readers find no stored tables (precomputed.current) and compute.
    try:
        with _scratch(con):
            precomputed.create(con)
            catalog = con.execute("SELECT current_database()").fetchone()[0]
            # (`materialise` fills in {view} and {source}: every other brace is written doubled)
            stored = _format_text(f'"{catalog}".{precomputed.SCHEMA}.') + "{view}"
            rows = "SELECT * FROM {source} ORDER BY patient_id"
            for number, (where, params) in enumerate(_batches(con)):
                write = f"CREATE TABLE {stored} AS {rows}" if number == 0 else f"INSERT INTO {stored} BY NAME {rows}"
                batch = _format_text(_literal_condition(where, params))
                _compute(con, where, params, f"{write}; CREATE TEMP VIEW {{view}} AS SELECT * FROM {stored} "
                                             f"WHERE {batch}")
            con.execute("BEGIN TRANSACTION")
            precomputed.record(con, run_id)
            con.execute(f"UPDATE {precomputed.SCHEMA}.about SET reason = ?", [reason])
            con.execute("COMMIT")
    except duckdb.Error:  # (`_scratch` has rolled back an open transaction)
        precomputed.drop(con)  # no half-computed tables left in the file
        raise


def _format_text(text: str) -> str:
    """`text` as literal text in a str.format template: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def _literal_condition(where: str, params: dict) -> str:
    """`where` (from `_batches`) with its parameters written in as SQL string literals: a view
    (the batch's rows of a stored table) cannot take parameters."""
    # One pass, so a value holding "$high" is not itself substituted.
    return re.sub(r"\$(\w+)", lambda name: "'" + str(params[name.group(1)]).replace("'", "''") + "'", where)


def refresh_changed(con: duckdb.DuckDBPyConnection, run_id: int, step: Plan) -> None:
    """Recompute the stored rows of the patients in `changed_patients` (from `plan`) with this
    version's views in the scratch database, and swap them into the stored tables in one
    transaction, with `about` naming the run."""
    changed = f"patient_id IN (SELECT patient_id FROM {SCRATCH}.main.changed_patients)"
    try:
        with _scratch(con):
            con.execute(f"CREATE TABLE {SCRATCH}.main.changed_patients AS SELECT patient_id FROM temp.changed_patients")
            _compute(con, changed)
            (appended,) = con.execute(  # the rows about to be appended, out of patient order
                "SELECT " + " + ".join(f"(SELECT count(*) FROM {SCRATCH}.computed.{t})"
                                       for t in precomputed.TABLES)).fetchone()
            con.execute("BEGIN TRANSACTION")
            for table in precomputed.TABLES:
                stored = f"{precomputed.SCHEMA}.{table}"
                con.execute(f"DELETE FROM {stored} WHERE {changed}")
                con.execute(f"INSERT INTO {stored} BY NAME SELECT * FROM {SCRATCH}.computed.{table} "
                            "ORDER BY patient_id")
                if step.resort:  # one sort of the whole table: cheaper than in batches (docs/scaling.md)
                    con.execute(f"CREATE OR REPLACE TABLE {stored} AS SELECT * FROM {stored} ORDER BY patient_id")
            reason = f"sorted by patient again ({step.appended + appended:,} rows appended)" if step.resort else None
            con.execute(f"UPDATE {precomputed.SCHEMA}.about SET run_id = ?, refresh = 'incremental', "
                        "reason = ?, patients = ?, appended = ?",
                        [run_id, reason, step.changed, 0 if step.resort else step.appended + appended])
            con.execute("COMMIT")
    finally:
        con.execute("DROP TABLE IF EXISTS temp.changed_patients")


def refresh(con: duckdb.DuckDBPyConnection, run_id: int) -> Plan:
    """Bring the stored tables up to date with run `run_id` (committed on `con`, the ingest's
    working copy), incrementally when `plan` allows; returns what was done."""
    step = plan(con)
    if step.refresh == "full":
        refresh_full(con, run_id, step.reason)
    else:
        refresh_changed(con, run_id, step)
    return step
