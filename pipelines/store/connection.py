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
import time
from pathlib import Path
from typing import Callable, Iterator, TypeVar

BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


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
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    until_free(lambda: con.execute("PRAGMA journal_mode = WAL").fetchone())
    con.execute("PRAGMA synchronous = FULL")
    con.execute("PRAGMA foreign_keys = ON")
    return con


def until_free(step: Callable[[], T]) -> T:
    """`step()`, tried again while the file is locked, for up to the busy timeout.

    Why: SQLite answers "database is locked" at once, without waiting in its busy handler, when
    waiting could deadlock: switching a new file to WAL (an exclusive lock) while another
    process is creating it, or a schema write racing another. Several processes opening a new
    store at the same moment hit exactly this (a check-in saved while the ingest reads the
    store), so the first steps of a connection retry instead of failing the user's save."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return step()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def create_tables(con: sqlite3.Connection, script: str) -> None:
    """Run a `CREATE ... IF NOT EXISTS` script in one write transaction (retried while locked),
    so processes opening a new store at once create each table once and none fails half-way."""
    def step() -> None:
        with transaction(con):
            for statement in sqlite_statements(script):
                con.execute(statement)
    until_free(step)


def sqlite_statements(script: str) -> list[str]:
    """The statements of a schema script, split where SQLite says a statement is complete."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]


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
