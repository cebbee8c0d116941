"""A read-only analytics connection with the outcome views computed once.

The views (`scores`, `patient_outcomes`, ...) are the definitions; computing them means a
pass over every assessment, a second or more on a clinic of 200,000 patients. A screen or a
notebook asks many questions of the same data, so `open_snapshot` computes each view once
into a table of the same name. DuckDB looks up unqualified names in the temporary schema
first, so every query and every view built on these (cohort outcomes, the NHS pair, the
expected trajectory) reads the snapshot without changing its SQL.

Usually nothing is computed here: every ingest computes these tables once and stores them in
the database file (pipelines/precomputed.py, schema `precomputed`), and `open_snapshot` names
them (with a store) or copies them into memory (without one) when they belong to the file's
latest run and this version's SQL. It computes them as described below only for a database that
lacks current ones (loaded by an older version, or an upgrade changed the views).

Where a computed snapshot lives is the caller's choice:

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

from .. import precomputed
from ..db import connect, shadow_missing_columns
from ..precomputed import PATIENT_ASSESSMENTS, SNAPSHOT_ANALYTICS_VIEWS, SNAPSHOT_VIEWS

__all__ = ["PATIENT_ASSESSMENTS", "SNAPSHOT_ANALYTICS_VIEWS", "SNAPSHOT_VIEWS", "ensure_patient_lookup",
           "lookup_prefix", "open_snapshot", "opened_from"]

# connection -> "stored" (the ingest's precomputed tables) or "computed" (weak: a closed
# connection drops out)
_opened_from: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def open_snapshot(path: str | Path, store: str | Path | None = None,
                  memory_limit: str | None = None, use_stored: bool = True) -> duckdb.DuckDBPyConnection:
    """Open an outcomes database read-only with the outcome views computed once.

    Parameters
    ----------
    path : str or Path
        The outcomes database (opened read-only; it must exist).
    store : str or Path, optional
        A file to hold the snapshot's tables when they must be computed (replaced if it
        exists, deleted when the connection is garbage-collected); None keeps them in memory.
    memory_limit : str, optional
        DuckDB's memory cap, in DuckDB syntax (e.g. "500MB").
    use_stored : bool
        Use the tables the latest ingest stored in the file (`pipelines.precomputed`) when they
        are there and current (default); False computes them whatever the file holds.

    Returns
    -------
    duckdb.DuckDBPyConnection
        A connection on which `scores`, `patient_outcomes`, ... (SNAPSHOT_VIEWS,
        SNAPSHOT_ANALYTICS_VIEWS) and `patient_assessments` are tables sorted by patient.
        `opened_from(con)` says whether they were stored or computed.

    Notes
    -----
    Stored tables are read in place with a `store` (temporary views naming them: nothing is
    computed or written, so opening takes milliseconds), and copied into memory without one
    (a copy, no computation: the fastest to query, as before). Without current stored tables
    (a database loaded by an older version, or definitions changed since) they are computed
    here as before. The analytics views (sql/views/, after the outcome views) are created as
    temporary views from this version's SQL, so a database last loaded by an older version
    still answers every question.
    """
    if not Path(path).exists():  # a read-only open or an ATTACH would fail less clearly, or create it
        raise duckdb.IOException(f'Cannot open database "{path}" in read-only mode: database does not exist')
    if store is None:
        con = connect(path, read_only=True)
        _limit(con, memory_limit)
    else:
        # An in-memory connection that reads the database read-only and writes only the store.
        con = connect(":memory:")
        _limit(con, memory_limit)
        con.execute("ATTACH ? AS outcomes (READ_ONLY)", [str(path)])
        con.execute("USE outcomes")
        store = Path(store)
        for leftover in (store, Path(f"{store}.wal")):
            leftover.unlink(missing_ok=True)
        # Spill beside the store, not into DuckDB's default ./.tmp of whatever folder the server runs in.
        con.execute(f"SET temp_directory = '{_spill(store)}'")
        weakref.finalize(con, _remove, store)
    shadow_missing_columns(con)  # a database last loaded by an older version still answers
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    if use_stored and precomputed.current(con, catalog):
        stored_in = f'"{catalog}".{precomputed.SCHEMA}'
        # Already sorted by patient: copied as they are (DuckDB keeps insertion order), or named.
        template = ("CREATE TEMP TABLE {view} AS SELECT * FROM {source}" if store is None else
                    "CREATE TEMP VIEW {view} AS SELECT * FROM {source}")
        precomputed.materialise(con, template, stored_in=stored_in)
        _opened_from[con] = "stored"
        return con
    if store is None:
        template = "CREATE TEMP TABLE {view} AS SELECT * FROM {source} ORDER BY patient_id"
    else:
        con.execute("ATTACH ? AS snapshot", [str(store)])
        template = ("CREATE TABLE snapshot.main.{view} AS SELECT * FROM {source} ORDER BY patient_id;"
                    "CREATE TEMP VIEW {view} AS SELECT * FROM snapshot.main.{view}")
    precomputed.materialise(con, template)
    if store is not None:
        con.execute("CHECKPOINT snapshot")
    _opened_from[con] = "computed"
    return con


def opened_from(con: duckdb.DuckDBPyConnection) -> str | None:
    """How `open_snapshot` made the connection's tables: "stored" (read from the tables the
    latest ingest stored in the file: nothing computed), "computed", or None (not a snapshot)."""
    return _opened_from.get(con)


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
