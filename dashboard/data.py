"""Where every page gets its numbers: one read-only snapshot per database version, and each
analytics answer computed once per version.

Pages never hold a connection or SQL. They call `ask(function, *args)` with a function of
`pipelines.analytics` (its first parameter is the connection), and get a DataFrame back.

- The snapshot (`open_snapshot`: the outcome views computed once) is a `st.cache_resource` keyed
  on the database file and its version, so a new ingest is picked up on the next rerun without
  a restart, and the old snapshot is dropped. Opening a version computes nothing heavy: the
  ingest stored the outcome tables in the file before the swap (pipelines/precomputed.py) and
  the snapshot names them in place. Only a database without current stored tables (loaded by
  an older version) has them computed here, into a temporary file, because a server runs for
  months; DuckDB works within $OUTCOMES_MEMORY_LIMIT (`memory_limit`) either way.
- Answers are `st.cache_data` keyed on the same version and the function's arguments: a director
  flicking between filters pays for each filter once, and nothing stale survives an ingest.
  In a real server the first visitor after an ingest does not pay either: `dashboard/warming.py`
  opens each new version as it appears and asks it the questions `ask` recorded.
- One DuckDB connection is not safe for concurrent queries from several threads (Streamlit runs
  each browser session in its own thread), and temporary tables are private to a connection, so
  queries on the snapshot take a lock. Cached answers are served without it.
"""

from __future__ import annotations

import functools
import importlib
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import streamlit as st

from pipelines.analytics import expected
from pipelines.analytics.snapshot import open_snapshot, opened_from
from pipelines.settings import DEFAULT_DB, Settings, load_settings

from . import recent_questions


def db_path() -> str:
    """The database the dashboard serves: $OUTCOMES_DB, else data/outcomes.duckdb."""
    return os.environ.get("OUTCOMES_DB", DEFAULT_DB)


def file_version(path: str) -> str | None:
    """A token that changes whenever the file is rewritten (None when there is no file): names
    the version of the database, and of the settings file."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return None
    return f"{stat.st_mtime_ns}-{stat.st_size}"


MIN_MEMORY_MB = 500
MEMORY_PER_DATABASE_BYTE = 5
SERVING_MEMORY_LIMIT = "1GB"


def memory_limit(path: str) -> str:
    """DuckDB's memory cap while opening a version whose outcome tables must be computed:
    $OUTCOMES_MEMORY_LIMIT, else 500MB or five times the database file, whichever is more. Why
    it grows with the file: some steps of computing the outcome tables cannot spill below a
    working set that grows with the clinic (500MB serves 200,000 patients, a 101 MB file;
    1,000,000 patients, a 521 MB file, need about 2GB; docs/scaling.md), and a fixed cap would
    break the dashboard as a clinic grows. A version whose tables the ingest stored computes
    nothing at open and is served within `serving_memory_limit` instead."""
    configured = os.environ.get("OUTCOMES_MEMORY_LIMIT", "").strip()
    if configured:
        return configured
    size_mb = Path(path).stat().st_size / 1e6 if Path(path).exists() else 0
    return f"{max(MIN_MEMORY_MB, round(MEMORY_PER_DATABASE_BYTE * size_mb))}MB"


def serving_memory_limit() -> str:
    """DuckDB's memory cap while serving a version opened from the tables the ingest stored:
    $OUTCOMES_MEMORY_LIMIT, else SERVING_MEMORY_LIMIT, whatever the file's size. Nothing is
    computed at open then; the pages' queries read the stored tables and spill past the cap
    (beside the snapshot's file), and DuckDB's buffer pool, which keeps the blocks it read up to
    its cap, is the largest part of the server's memory (docs/scaling.md, "Clinic-wide questions
    and server memory at 1,000,000 patients")."""
    return os.environ.get("OUTCOMES_MEMORY_LIMIT", "").strip() or SERVING_MEMORY_LIMIT


@dataclass
class Snapshot:
    con: duckdb.DuckDBPyConnection
    lock: threading.Lock


@st.cache_resource(max_entries=1, show_spinner="Opening the outcomes database …")
def _snapshot(path: str, version: str) -> Snapshot:
    """The snapshot of `path` at `version` (max_entries=1: a newer version replaces it). The
    clinic's expected-trajectory references are the ingest's work too (pipelines/
    precomputed_expected.py): read when a page asks, nothing clinic-wide computed or held here.
    Only for a file without current ones (loaded by an older version, or other thresholds in the
    settings) are they computed up front, once per database version, so a clinician opening a
    patient never waits for the clinic-wide reference."""
    store = Path(tempfile.gettempdir()) / f"infusion-outcomes-snapshot-{os.getpid()}-{uuid.uuid4().hex}.duckdb"
    con = open_snapshot(path, store=store, memory_limit=memory_limit(path))
    if opened_from(con) == "stored":  # nothing was computed: a cap that does not grow with the file
        con.execute(f"SET memory_limit = '{serving_memory_limit()}'")
    if expected.served_from(con, settings()) == "computed":
        expected.warm(con, settings())
    return Snapshot(con, threading.Lock())


def settings() -> Settings:
    """Thresholds, windows, users and roles: $OUTCOMES_CONFIG if set, else the clinical
    reference's defaults. Read again whenever the file changes, so a user removed from
    `[access.users]` or given another role is treated so on their next page load, without a
    restart (docs/access.md)."""
    path = os.environ.get("OUTCOMES_CONFIG", "")
    return _settings(path, file_version(path) if path else None)


@st.cache_resource(max_entries=2)
def _settings(path: str, version: str | None) -> Settings:
    """The settings of `path` at `version` (its modification time and size)."""
    return load_settings(path or None)


class NoDatabase(Exception):
    """There is no database to show, or it cannot be opened; the message says what to do."""


def current_version() -> str:
    """The served database's version, or NoDatabase with a message for the page."""
    path = db_path()
    version = file_version(path)
    if version is None:
        raise NoDatabase(f"No outcomes database at `{path}` yet. Load the clinic's exports with "
                         f"`outcomes ingest data/sample --db {path}` (or run `make run`).")
    return version


def _resolve(name: str) -> Callable:
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)


@st.cache_data(max_entries=512, show_spinner=False)
def _answer(path: str, version: str, function: str, args: tuple, kwargs: dict):
    snapshot = _snapshot(path, version)
    with snapshot.lock:
        return _resolve(function)(snapshot.con, *args, **kwargs)


def ask(function: Callable, *args, **kwargs):
    """`function(con, *args, **kwargs)` on the current snapshot, cached for this database version.

    Raises NoDatabase when there is nothing to open; `show_missing_database` turns that into a
    plain message on the page.
    """
    path = db_path()
    version = current_version()
    name = f"{function.__module__}:{function.__qualname__}"
    recent_questions.record("ask", name, args, kwargs)  # asked of the next version before anyone visits
    try:
        return _answer(path, version, name, args, kwargs)
    except duckdb.CatalogException as error:  # a file that is not an outcomes database (yet)
        raise NoDatabase(f"`{path}` is not an outcomes database ({error}). "
                         f"Create one with `outcomes ingest ... --db {path}`.") from None


def remembered(function: Callable) -> Callable:
    """Record each call of `function` as a question, so the server makes it for each new
    database version before anyone visits (dashboard/warming.py calls the function itself).

    For a page's own cached computation over answers (the Worklist's table), which `ask`
    does not see: `function` must read the current version itself (`current_version()`), not
    take it as an argument, so the same call made after an ingest is made of the new version."""
    name = f"{function.__module__}:{function.__qualname__}"

    @functools.wraps(function)
    def call(*args, **kwargs):
        recent_questions.record("call", name, args, kwargs)
        return function(*args, **kwargs)
    return call


@st.cache_resource(max_entries=16, show_spinner=False)
def _shared_answer(path: str, version: str, function: str, args: tuple, kwargs: dict):
    snapshot = _snapshot(path, version)
    with snapshot.lock:
        return _resolve(function)(snapshot.con, *args, **kwargs)


def ask_shared(function: Callable, *args, **kwargs):
    """`ask`, with the answer held once and shared by every session (st.cache_resource) rather
    than stored pickled and unpickled into a new copy on every call (st.cache_data).

    For the clinic-wide frames of a row per patient that pages only look rows up in (the
    worklist, its alert events): at 1,000,000 patients `ask` kept two copies of each and copied
    a million rows on every Patient page run to read one patient's. Callers must not modify
    the answer.
    """
    path = db_path()
    version = current_version()
    name = f"{function.__module__}:{function.__qualname__}"
    recent_questions.record("shared", name, args, kwargs)
    try:
        return _shared_answer(path, version, name, args, kwargs)
    except duckdb.CatalogException as error:  # as in `ask`
        raise NoDatabase(f"`{path}` is not an outcomes database ({error}). "
                         f"Create one with `outcomes ingest ... --db {path}`.") from None
