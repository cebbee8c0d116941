"""Opening and initialising the outcomes database.

The schema and the outcome views are SQL files next to this module; the instrument registry
and the outcome settings are written into small reference tables so the views (and any SQL
client) read thresholds from the same single source as the Python code.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from . import sql
from .instruments import REGISTRY, alias_table
from .settings import Settings, SettingsError

DATA_TABLES = ("patients", "sessions", "assessments", "appointments")
# Columns added after databases already existed: CREATE TABLE IF NOT EXISTS adds none to a
# table that is there, so init_db adds them (at the end, where schema/tables.sql has them).
# A default fills the rows of older runs: nothing was deleted before full exports existed.
ADDED_COLUMNS = (
    ("ingest_runs", "deleted", "BIGINT DEFAULT 0"),
    ("ingest_runs", "full_export", "VARCHAR[]"),
    ("patients", "discharge_date", "DATE"),
    ("patients_history", "discharge_date", "DATE"),
    *((f"{table}_history", "deleted", "BOOLEAN DEFAULT false") for table in DATA_TABLES),
)
# Columns of the reference tables added since the first version (written by every ingest).
ADDED_REFERENCE_COLUMNS = (
    ("instruments", "display_name", "VARCHAR"),
    ("instruments", "page_order", "BIGINT"),
)
# The outcome views (the analyst contract, sql/views/outcomes.sql) and the macro they judge
# outcomes with; then the views the analytics build on them, in dependency order.
OUTCOME_VIEW_FILES = ("views/outcome_flags", "views/treatment_status", "views/outcomes")
ANALYTICS_VIEW_FILES = ("views/scores_by_infusion", "views/nhs_paired_outcomes", "views/safety",
                        "views/followup_responses", "views/patient_response_times", "views/worklist_patients",
                        "views/alert_event_keys")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        # Inside Jupyter DuckDB wants ipywidgets before it will even switch its bar off; the
        # bar is off there unless those widgets are installed, so there is nothing to do.
        pass
    return con


# Ingest memory: DuckDB's default limit is 80% of the machine's RAM, so a large export would
# happily fill a small clinic server. With a limit, the parse, the temp tables and the joins
# spill to disk instead and a 1 GB file loads in bounded memory (bench/large_csv.py).
INGEST_MEMORY_ENV = "OUTCOMES_INGEST_MEMORY"
DEFAULT_INGEST_MEMORY = "1GB"


def connect_for_ingest(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A connection for loading: memory capped at $OUTCOMES_INGEST_MEMORY (default 1GB),
    spilling to `<database>.tmp` next to the database (removed when the connection closes)."""
    memory = os.environ.get(INGEST_MEMORY_ENV, "").strip() or DEFAULT_INGEST_MEMORY
    con = connect(path)
    try:
        con.execute(f"SET memory_limit = '{memory.replace(chr(39), '')}'")
    except duckdb.Error as error:
        con.close()
        raise SettingsError(
            f"{INGEST_MEMORY_ENV}={memory!r} is not a memory size DuckDB understands, e.g. 512MB or 2GB "
            f"({str(error).splitlines()[0]})"
        ) from None
    spill = Path(f"{path}.tmp")
    con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    return con


def init_db(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Create missing tables, refresh the reference tables and (re)create the views.

    Safe to run on an existing database: data tables are only created if absent.
    """
    con.execute(sql.read("schema/tables"))
    for table in DATA_TABLES:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table}_history AS "
            f"SELECT *, NULL::TIMESTAMP AS replaced_at, NULL::BIGINT AS replaced_by_run FROM {table} LIMIT 0"
        )
    for table, column, definition in ADDED_COLUMNS:
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}")
    write_reference_tables(con, settings)
    create_views(con)


def shadow_missing_columns(con: duckdb.DuckDBPyConnection) -> None:
    """On a read-only connection to a database last written by an older version, give each
    table that lacks a column this version reads (ADDED_COLUMNS, ADDED_REFERENCE_COLUMNS) a
    temporary view of the same name adding it as NULL. Why: the dashboard and `outcomes runs`
    must keep answering after an upgrade; the next ingest adds the columns for real."""
    missing: dict[str, list[str]] = {}
    for table, column, definition in (*ADDED_COLUMNS, *ADDED_REFERENCE_COLUMNS):
        present = con.execute("SELECT 1 FROM duckdb_columns() WHERE database_name = current_database() "
                              "AND schema_name = 'main' AND table_name = ? AND column_name = ?",
                              [table, column]).fetchall()
        if not present:
            missing.setdefault(table, []).append(f"NULL::{definition.split()[0]} AS {column}")
    database = con.execute("SELECT current_database()").fetchone()[0]
    for table, columns in missing.items():
        con.execute(f'CREATE OR REPLACE TEMP VIEW {table} AS SELECT *, {", ".join(columns)} '
                    f'FROM "{database}".main.{table}')


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the outcome views and the analytics views on them, from this version's SQL."""
    for name in (*OUTCOME_VIEW_FILES, *ANALYTICS_VIEW_FILES):
        con.execute(sql.read(name))


def write_reference_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Registry and outcome settings as tables, replaced on every call."""
    con.execute(sql.read("schema/reference_tables"))
    con.executemany(
        "INSERT INTO instruments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [i.code, i.name, i.source, i.n_items, i.n_columns, i.item_min, i.item_max, i.max_missing, i.total_max,
             i.caseness_min, i.response_drop_pct, i.reliable_change, i.remission_below, i.remission_min_drop,
             i.safety_item, i.loinc_panel, i.loinc_total, i.display_name, i.page_order]
            for i in REGISTRY.values()
        ],
    )
    con.executemany(
        "INSERT INTO instrument_bands VALUES (?, ?, ?, ?, ?)",
        [[i.code, n, b.low, b.high, b.label] for i in REGISTRY.values() for n, b in enumerate(i.bands, start=1)],
    )
    con.executemany("INSERT INTO instrument_aliases VALUES (?, ?)", [list(a) for a in sorted(alias_table().items())])
    con.execute(
        "INSERT INTO outcome_settings VALUES (?, ?, ?, ?, ?)",
        [settings.clinic_timezone, settings.baseline_window_days, settings.induction_sessions,
         settings.after_induction_before_session, settings.max_days_before_intake],
    )
