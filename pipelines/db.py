"""Opening and initialising the outcomes database.

The schema and the outcome views are SQL files next to this module; the instrument registry
and the outcome settings are written into small reference tables so the views (and any SQL
client) read thresholds from the same single source as the Python code.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import duckdb
import pandas as pd

from .instruments import REGISTRY, alias_table
from .settings import Settings

SQL_DIR = Path(__file__).parent / "sql"
DATA_TABLES = ("patients", "sessions", "assessments")


def read_sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET enable_progress_bar = false")
    return con


def init_db(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Create missing tables, refresh the reference tables and (re)create the views.

    Safe to run on an existing database: data tables are only created if absent.
    """
    con.execute(read_sql("schema.sql"))
    for table in DATA_TABLES:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table}_history AS "
            f"SELECT *, NULL::TIMESTAMP AS replaced_at, NULL::BIGINT AS replaced_by_run FROM {table} LIMIT 0"
        )
    write_reference_tables(con, settings)
    con.execute(read_sql("views.sql"))


def write_reference_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    instruments = pd.DataFrame(
        [
            {
                "code": i.code, "name": i.name, "source": i.source, "n_items": i.n_items,
                "n_columns": i.n_columns, "item_min": i.item_min, "item_max": i.item_max,
                "max_missing": i.max_missing, "total_max": i.total_max, "caseness_min": i.caseness_min,
                "response_drop_pct": i.response_drop_pct, "reliable_change": i.reliable_change,
                "remission_below": i.remission_below, "remission_min_drop": i.remission_min_drop,
                "safety_item": i.safety_item, "loinc_panel": i.loinc_panel, "loinc_total": i.loinc_total,
            }
            for i in REGISTRY.values()
        ]
    ).astype({"remission_below": "Int64", "remission_min_drop": "Int64", "safety_item": "Int64"})
    bands = pd.DataFrame(
        [
            {"code": i.code, "band_order": n, "low": b.low, "high": b.high, "label": b.label}
            for i in REGISTRY.values()
            for n, b in enumerate(i.bands, start=1)
        ]
    )
    aliases = pd.DataFrame(sorted(alias_table().items()), columns=["alias", "code"])
    outcome_settings = pd.DataFrame(
        [{k: v for k, v in asdict(settings).items() if k != "plausible"}]
    )
    for name, frame in {
        "instruments": instruments,
        "instrument_bands": bands,
        "instrument_aliases": aliases,
        "outcome_settings": outcome_settings,
    }.items():
        con.register("frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
