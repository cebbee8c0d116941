"""One SQLite file beside the outcomes database for the small writes made while the dashboard
serves (alert acknowledgements, patient check-ins).

Why SQLite and not the DuckDB file: the dashboard opens the DuckDB file read-only and an ingest
replaces it by copy-and-swap, so a write there would be refused or lost with the next swap.
SQLite in WAL mode is made for many small concurrent transactions: readers never block the
writer, a writer waits (busy_timeout) for another instead of failing, and with
`synchronous=FULL` a committed row survives a crash or `kill -9` of the writing process.
The file is never touched by an ingest, so whatever is written here survives every ingest.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Iterator

BUSY_TIMEOUT_MS = 30_000


def store_path(db_path: str | Path) -> Path:
    """The store of the outcomes database `db_path`: `data/outcomes.duckdb` ->
    `data/outcomes.local.sqlite` (same folder, so a backup of the folder takes both)."""
    return Path(db_path).with_suffix(".local.sqlite")


def connect(db_path: str | Path) -> sqlite3.Connection:
    """A connection to the store of `db_path` (created if missing), in autocommit mode: every
    write goes through `transaction`, which makes the transactions explicit."""
    path = store_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                          check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    con.execute("PRAGMA foreign_keys = ON")
    return con


@contextlib.contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` ... `COMMIT` (or `ROLLBACK` on any error): takes the write lock at the
    start, so two writers queue instead of one failing half-way with SQLITE_BUSY."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
