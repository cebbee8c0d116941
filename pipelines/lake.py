"""The partitioned Parquet lake: an outcomes database's base tables as files (docs/scaling.md,
"Beyond one machine").

Past one machine the base tables live as Parquet, `lake/<table>/[site=<site>/][month=<YYYY-MM>/]`,
and any engine runs the project's own view SQL on top: DuckDB (`open_lake`, unchanged files) or
Spark SQL (`pipelines.spark`, the same files translated). Both the lake test and the Spark test
and benchmark write it with `write_lake`, so every engine reads the same layout.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from . import sql
from .db import DATA_TABLES, create_views, write_reference_tables
from .settings import Settings

# Each table's partition keys. Their values are folder names, i.e. text, and are read back as
# text (a site called "007" stays "007" rather than becoming the number 7).
# Every table of db.DATA_TABLES is written; the outcome views read the first three.
PARTITION_KEYS = {"patients": ("site",), "sessions": ("site", "month"), "assessments": ("site", "month"),
                  "appointments": ("month",)}


def quoted(path: Path | str) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def write_lake(db: Path | str, lake: Path | str) -> None:
    """The base tables of the database `db` as partitioned Parquet under `lake/<table>/`
    (sql/lake/<table>.sql: by site, and by month for sessions and assessments)."""
    lake = Path(lake)
    lake.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in DATA_TABLES:
            con.execute(sql.render(f"lake/{table}", folder=str(lake / table).replace("'", "''")))
    finally:
        con.close()


def contract_columns() -> dict[str, list[str]]:
    """Each base table's columns in schema/tables.sql's order, which views selecting `*` keep."""
    con = duckdb.connect()
    try:
        con.execute(sql.read("schema/tables"))
        return {t: [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [t]).fetchall()] for t in DATA_TABLES}
    finally:
        con.close()


def open_lake(lake: Path | str, settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose base tables are views over the lake, with the project's
    reference tables, macro and views (the same calls and files as init_db) on top."""
    con = duckdb.connect()
    for table, columns in contract_columns().items():
        files = quoted(Path(lake) / table / "**" / "*.parquet")
        hive_types = ", ".join(f"'{key}': VARCHAR" for key in PARTITION_KEYS[table])
        # The contract's columns, in order: a key added only for partitioning (month, the
        # assessments' site) stays out, so `SELECT *` in the views sees what it sees in the database.
        con.execute(f"CREATE VIEW {table} AS SELECT {', '.join(columns)} "
                    f"FROM read_parquet({files}, hive_partitioning = true, hive_types = {{{hive_types}}})")
    write_reference_tables(con, settings)
    create_views(con)
    return con
