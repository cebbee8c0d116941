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
break-even, docs/scaling.md).

The per-patient lookups rely on the stored tables' sort by patient, which the appended rows
break. When the rows appended since the last sort exceed UNSORTED_SHARE of the stored rows, the
incremental refresh also rewrites the stored tables sorted (`about.reason` says so): a sort of
stored rows, not a recomputation, so it fits the ingest's memory cap where a full recomputation
may not (at 1,000,000 patients under the default 1 GB it did not: docs/scaling.md).
"""

from __future__ import annotations

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


def refresh_full(con: duckdb.DuckDBPyConnection, run_id: int, reason: str | None) -> None:
    """Recompute every stored table (precomputed.write), recording why."""
    # The previous run's tables go first, and a checkpoint frees their blocks, so the new ones
    # reuse them: the file does not grow by a set of tables per run.
    precomputed.drop(con)
    con.execute("CHECKPOINT")
    con.execute("BEGIN TRANSACTION")
    precomputed.write(con, run_id)
    con.execute(f"UPDATE {precomputed.SCHEMA}.about SET reason = ?", [reason])
    con.execute("COMMIT")


def refresh_changed(con: duckdb.DuckDBPyConnection, run_id: int, step: Plan) -> None:
    """Recompute the stored rows of the patients in `changed_patients` (from `plan`) with this
    version's views in a scratch database, and swap them into the stored tables in one
    transaction, with `about` naming the run."""
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    work = f'"{catalog}"'
    con.execute(f"ATTACH ':memory:' AS {SCRATCH}")
    scratch = con.cursor()  # its own default database and temporary objects
    try:
        con.execute(f"CREATE TABLE {SCRATCH}.changed_patients AS SELECT patient_id FROM temp.changed_patients")
        scratch.execute(f"USE {SCRATCH}")
        tables = [name for (name,) in scratch.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'",
            [catalog]).fetchall()]
        for table in tables:
            if table in PATIENT_TABLES:
                scratch.execute(f"CREATE TABLE {table} AS SELECT * FROM {work}.main.{table} "
                                f"WHERE patient_id IN (SELECT patient_id FROM changed_patients)")
            else:
                scratch.execute(f"CREATE VIEW {table} AS SELECT * FROM {work}.main.{table}")
        create_views(scratch)
        precomputed.materialise(scratch, "CREATE TEMP TABLE {view} AS SELECT * FROM {source}")
        (appended,) = scratch.execute(  # the rows about to be appended, out of patient order
            "SELECT " + " + ".join(f"(SELECT count(*) FROM temp.main.{t})" for t in precomputed.TABLES)).fetchone()
        scratch.execute("BEGIN TRANSACTION")
        for table in precomputed.TABLES:
            stored = f"{work}.{precomputed.SCHEMA}.{table}"
            scratch.execute(f"DELETE FROM {stored} WHERE patient_id IN (SELECT patient_id FROM changed_patients)")
            scratch.execute(f"INSERT INTO {stored} BY NAME SELECT * FROM temp.main.{table} ORDER BY patient_id")
            if step.resort:
                scratch.execute(f"CREATE OR REPLACE TABLE {stored} AS SELECT * FROM {stored} ORDER BY patient_id")
        reason = f"sorted by patient again ({step.appended + appended:,} rows appended)" if step.resort else None
        scratch.execute(f"UPDATE {work}.{precomputed.SCHEMA}.about SET run_id = ?, refresh = 'incremental', "
                        "reason = ?, patients = ?, appended = ?",
                        [run_id, reason, step.changed, 0 if step.resort else step.appended + appended])
        scratch.execute("COMMIT")
    finally:
        scratch.close()
        con.execute(f"DETACH {SCRATCH}")
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
