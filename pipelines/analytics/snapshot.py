"""A read-only analytics connection with the outcome views computed once.

The views (`scores`, `patient_outcomes`, ...) are the definitions; computing them means a
pass over every assessment, a second or more on a clinic of 200,000 patients. A screen or a
notebook asks many questions of the same data, so `open_snapshot` computes each view once
into a table of the same name. DuckDB looks up unqualified names in the temporary schema
first, so every query and every view built on these (cohort outcomes, the NHS pair, the
expected trajectory) reads the snapshot without changing its SQL.

Where the snapshot lives is the caller's choice:

- in memory (the default): temporary tables, the fastest to query; about 1 GB for
  200,000 patients. Right for a notebook, the CLI and the benchmarks.
- in a file (`store=`): the tables are written to a DuckDB file (compressed: about 200 MB
  for 200,000 patients) and named by temporary views, and DuckDB reads them through its
  buffer pool within `memory_limit`. Queries cost about half as much again, but memory stays
  bounded: right for the dashboard, a long-running server. The file is deleted when the
  connection is garbage-collected.

Every table is stored sorted by patient: DuckDB keeps the range of patient ids of each block
of rows, so reading one patient's rows (the Patient page) skips all but a block or two
instead of scanning the table, without an index (a bulk ingest of millions of rows is faster
without, and an index costs memory). A sorted copy of the `assessments` columns one patient's
record reads (`patient_assessments`, see `ensure_patient_lookup`) joins them: a lookup costs a
few ms instead of a scan of millions of rows (~100 ms for the whole record on 200,000 patients,
against ~450 ms unsorted). Each per-patient CTE of those queries is `MATERIALIZED`, so DuckDB
looks the patient up first rather than folding the lookup into a join, where join filters turn
it back into a full scan.

The snapshot is the database as it was when opened: callers reopen it when the database
changes (the dashboard keys its cached connection on the file's version).
"""

from __future__ import annotations

import os
import shutil
import weakref
from pathlib import Path

import duckdb

from .. import sql
from ..db import ANALYTICS_VIEW_FILES, connect, shadow_missing_columns

# In dependency order: each may read the ones before it.
SNAPSHOT_VIEWS = ("session_numbers", "patient_cohorts", "scores", "patient_outcomes")
# Analytics views that several questions read (trajectories and the expected trajectory; the
# safety page and the worklist; the two time-to-response questions).
SNAPSHOT_ANALYTICS_VIEWS = ("scores_by_infusion", "phq9_safety", "last_infusions", "followup_responses")
# The columns of `assessments` one patient's record reads that the views leave out (incomplete
# administrations, PHQ-9 item answers), copied sorted by patient (sql/analytics/snapshot/).
PATIENT_ASSESSMENTS = "patient_assessments"


def open_snapshot(path: str | Path, store: str | Path | None = None,
                  memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open an outcomes database read-only with the outcome views computed once.

    Parameters
    ----------
    path : str or Path
        The outcomes database (opened read-only; it must exist).
    store : str or Path, optional
        A file to hold the snapshot's tables (replaced if it exists, deleted when the
        connection is garbage-collected); None keeps them in memory.
    memory_limit : str, optional
        DuckDB's memory cap, in DuckDB syntax (e.g. "500MB").

    Returns
    -------
    duckdb.DuckDBPyConnection
        A connection on which `scores`, `patient_outcomes`, ... (SNAPSHOT_VIEWS,
        SNAPSHOT_ANALYTICS_VIEWS) and `patient_assessments` are tables sorted by patient.

    Notes
    -----
    The analytics views (sql/views/, after the outcome views) are created as temporary views
    from this version's SQL, so a database last loaded by an older version still answers every
    question.
    """
    if store is None:
        con = connect(path, read_only=True)
        _limit(con, memory_limit)
        materialise = "CREATE TEMP TABLE {view} AS SELECT * FROM {source} ORDER BY patient_id"
    else:
        if not Path(path).exists():  # ATTACH would create it
            raise duckdb.IOException(f'Cannot open database "{path}" in read-only mode: database does not exist')
        store = Path(store)
        for leftover in (store, Path(f"{store}.wal")):
            leftover.unlink(missing_ok=True)
        # An in-memory connection that reads the database read-only and writes only the store.
        con = connect(":memory:")
        _limit(con, memory_limit)
        # Spill beside the store, not into DuckDB's default ./.tmp of whatever folder the server runs in.
        con.execute(f"SET temp_directory = '{_spill(store)}'")
        con.execute("ATTACH ? AS outcomes (READ_ONLY)", [str(path)])
        con.execute("USE outcomes")
        con.execute("ATTACH ? AS snapshot", [str(store)])
        weakref.finalize(con, _remove, store)
        materialise = ("CREATE TABLE snapshot.main.{view} AS SELECT * FROM {source} ORDER BY patient_id;"
                       "CREATE TEMP VIEW {view} AS SELECT * FROM snapshot.main.{view}")
    shadow_missing_columns(con)  # a database last loaded by an older version still answers
    # This version's definitions of the outcome flags, whatever version last loaded the file.
    for macro in ("views/outcome_flags", "views/treatment_status"):
        con.execute(sql.read(macro).replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))
    for view in SNAPSHOT_VIEWS:
        con.execute(materialise.format(view=view, source=f"main.{view}"))
    for name in ANALYTICS_VIEW_FILES:
        con.execute(sql.read(name).replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW"))
    for view in SNAPSHOT_ANALYTICS_VIEWS:  # computed once too, under the same name
        con.execute(f"ALTER VIEW temp.main.{view} RENAME TO {view}_definition")
        con.execute(materialise.format(view=view, source=f"{view}_definition"))
    con.execute(materialise.format(view=PATIENT_ASSESSMENTS, source=f"({sql.read('analytics/snapshot/patient_assessments')})"))
    if store is not None:
        con.execute("CHECKPOINT snapshot")
    return con


# connection -> the relation to read assessments from (weak: a closed connection drops out)
_assessments_relation: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def ensure_patient_lookup(con) -> str:
    """The relation to read one patient's assessments from.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot or the outcomes database.

    Returns
    -------
    str
        The snapshot's copy sorted by patient (`patient_assessments`, see `open_snapshot`)
        when there is one, else "assessments" (a plain connection: scanned, fine for a
        notebook or a small clinic). Looked up once per connection: a page asks several times
        per patient.
    """
    known = _assessments_relation.get(con)
    if known is None:
        names = {name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
        known = PATIENT_ASSESSMENTS if PATIENT_ASSESSMENTS in names else "assessments"
        _assessments_relation[con] = known
    return known


def lookup_prefix(con) -> str:
    """How a query file names the relation to read one patient's assessments from.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An analytics snapshot or the outcomes database.

    Returns
    -------
    str
        The fragment `lookup_prefix` of a query that reads `{{lookup_prefix}}assessments`:
        "patient_" when the snapshot's sorted copy `patient_assessments` is there
        (`ensure_patient_lookup`), else "" (plain `assessments`).
    """
    return ensure_patient_lookup(con).removesuffix("assessments")


def _limit(con: duckdb.DuckDBPyConnection, memory_limit: str | None) -> None:
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")


def _spill(store: Path) -> str:
    return str(Path(f"{store}.spill")).replace("'", "''")


def _remove(store: Path) -> None:
    for leftover in (store, Path(f"{store}.wal")):
        try:
            os.unlink(leftover)
        except OSError:
            pass
    shutil.rmtree(f"{store}.spill", ignore_errors=True)
