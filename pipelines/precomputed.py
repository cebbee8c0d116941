"""The outcome tables computed once per ingest, stored in the database file beside the data.

Why: the outcome views (`scores`, `patient_outcomes`, ...) are definitions; every screen needs
them computed, which takes seconds to minutes on a large clinic (20-30 s at 200,000 patients).
Computed by whoever opens a new database version first, that wait fell on the first visitor
after every ingest. So the ingest computes them, in its working copy before the swap
(pipelines/publish.py), into the schema `precomputed` of the database file: each view under its
own name, sorted by patient (the order `analytics.snapshot` explains), plus `about` saying which
run and which definitions they were computed by. A reader (`analytics.snapshot.open_snapshot`)
uses them when `current` says they belong to the file's latest run and to this version's SQL;
otherwise (a database loaded by an older version, or definitions changed since) it computes them
as before.

The same steps (`materialise`) compute a snapshot in a reader's memory or temporary file, so
the stored tables and a computed snapshot are one definition.
"""

from __future__ import annotations

import hashlib

import duckdb

from . import sql
from .db import ANALYTICS_VIEW_FILES, OUTCOME_VIEW_FILES

SCHEMA = "precomputed"
# In dependency order: each may read the ones before it.
SNAPSHOT_VIEWS = ("session_numbers", "patient_cohorts", "scores", "patient_outcomes")
# Analytics views that several questions read (trajectories and the expected trajectory; the
# safety page and the worklist; the two time-to-response questions; the worklist's alert events).
SNAPSHOT_ANALYTICS_VIEWS = ("scores_by_infusion", "phq9_safety", "last_infusions", "followup_responses",
                            "patient_response_times", "worklist_patients", "alert_event_keys")
# The columns of `assessments` one patient's record reads that the views leave out (incomplete
# administrations, PHQ-9 item answers), copied sorted by patient (sql/analytics/snapshot/).
PATIENT_ASSESSMENTS = "patient_assessments"
TABLES = (*SNAPSHOT_VIEWS, *SNAPSHOT_ANALYTICS_VIEWS, PATIENT_ASSESSMENTS)
PATIENT_ASSESSMENTS_QUERY = "analytics/snapshot/patient_assessments"


def definitions() -> str:
    """A fingerprint of this version's definitions of the tables (their SQL and names): stored
    tables computed by other definitions are not used."""
    digest = hashlib.sha256(repr(TABLES).encode())
    for name in (*OUTCOME_VIEW_FILES, *ANALYTICS_VIEW_FILES, PATIENT_ASSESSMENTS_QUERY):
        digest.update(sql.read(name).encode())
    return digest.hexdigest()


def materialise(con: duckdb.DuckDBPyConnection, template: str, stored_in: str | None = None) -> None:
    """Make every table of TABLES readable on `con` by its unqualified name, in dependency order.

    `template` is the statement(s) that make one, with `{view}` (the name) and `{source}` (what
    to select from); each must leave `{view}` readable by that name (a temporary table, or a
    table elsewhere and a temporary view naming it), so the next steps, the analytics views
    created here as temporary views, read it rather than recompute it. The sources are this
    version's views (computed), or with `stored_in` (e.g. "outcomes.precomputed") the tables
    an ingest stored there (pipelines/incremental.py).
    """
    def source(view: str, computed: str) -> str:
        return f"{stored_in}.{view}" if stored_in else computed

    # This version's macros the views use (the outcome flags, ...: the files of
    # OUTCOME_VIEW_FILES that define macros, not views), whatever version last loaded the file.
    for name in OUTCOME_VIEW_FILES:
        text = sql.read(name)
        if "CREATE OR REPLACE MACRO" in text and "CREATE OR REPLACE VIEW" not in text:
            con.execute(text.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))
    for view in SNAPSHOT_VIEWS:
        con.execute(template.format(view=view, source=source(view, f"main.{view}")))
    for name in ANALYTICS_VIEW_FILES:
        con.execute(sql.read(name).replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW"))
    for view in SNAPSHOT_ANALYTICS_VIEWS:  # computed once too, under the same name
        con.execute(f"ALTER VIEW temp.main.{view} RENAME TO {view}_definition")
        con.execute(template.format(view=view, source=source(view, f"{view}_definition")))
    con.execute(template.format(view=PATIENT_ASSESSMENTS,
                                source=source(PATIENT_ASSESSMENTS, f"({sql.read(PATIENT_ASSESSMENTS_QUERY)})")))


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the stored tables (an ingest, before it stores the next run's)."""
    con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def reference(con: duckdb.DuckDBPyConnection) -> str:
    """A fingerprint of the reference tables the views read (registry, bands, outcome settings)."""
    return con.execute(sql.read("precomputed/reference")).fetchone()[0]


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Start an empty set of stored tables (schema `precomputed`), replacing an earlier run's;
    the tables themselves are created by their first rows (pipelines/incremental.py computes
    them in batches of patients). Call on the ingest's working copy, after the run is recorded."""
    drop(con)
    con.execute(f"CREATE SCHEMA {SCHEMA}")


def record(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Write `about` for stored tables just computed in full: the run, the definitions and the
    reference tables they were computed by."""
    # reason: why a full refresh (incremental.py fills it in); patients: recomputed; appended:
    # rows added out of patient order since this sort (by incremental refreshes).
    con.execute(f"CREATE OR REPLACE TABLE {SCHEMA}.about AS SELECT * FROM (VALUES (?::BIGINT, ?::VARCHAR, "
                "?::VARCHAR, 'full', NULL::VARCHAR, (SELECT count(*) FROM patients), 0::BIGINT)) "
                "AS about(run_id, definitions, reference, refresh, reason, patients, appended)",
                [run_id, definitions(), reference(con)])


def current(con: duckdb.DuckDBPyConnection, catalog: str) -> bool:
    """Whether database `catalog` (as attached on `con`) holds precomputed tables of its latest
    ingest run, computed by this version's definitions and from its reference tables as they are
    now (`outcomes init` can change the outcome settings without a run). `catalog` must be the
    connection's default database (the reference tables are read unqualified)."""
    has_about, tables, _ = con.execute(sql.read("precomputed/stored"), [catalog, SCHEMA]).fetchone()
    if not has_about or not set(TABLES) <= set(tables):
        return False
    cursor = con.execute(f'SELECT * FROM "{catalog}".{SCHEMA}.about')
    rows = cursor.fetchall()
    if len(rows) != 1:
        return False
    about = dict(zip([d[0] for d in cursor.description], rows[0]))
    last_run = con.execute(f'SELECT max(run_id) FROM "{catalog}".main.ingest_runs').fetchone()[0]
    return ((about["run_id"], about["definitions"]) == (last_run, definitions())
            # (an older version's `about` has no reference: its tables are used as before)
            and about.get("reference", "unknown") in ("unknown", reference(con)))
