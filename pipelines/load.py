"""Validate one staged export and merge it into its table.

Every row ends in exactly one bucket, so for each file
rows in = inserted + updated + unchanged + quarantined:

- quarantined: failed a rule (or could not be split into fields); kept with its reasons;
- unchanged: identical to what is stored under its key, or a repeat of an earlier row in
  the same file;
- updated: same key, different values: the stored row moves to `<table>_history`;
- inserted: a key not seen before.

All of it runs as set-based SQL over whole columns, so millions of rows load in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from . import sql
from .formats import ExportKind
from .readers.rows import StagedFile

KEYS = {"patients": "patient_id", "sessions": "session_id", "assessments": "assessment_key"}
PROVENANCE = ("source_file", "source_row", "run_id")


@dataclass
class FileCounts:
    rows_in: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def add(self, other: "FileCounts") -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def validate(con: duckdb.DuckDBPyConnection, kind: ExportKind, parameters: dict) -> None:
    """Build temp table `checked`: the staged rows typed, scored, each with its problems and
    whether it is the copy of its key to load."""
    query = sql.read(f"validation/{kind.name}")
    # Row order no longer matters once each row carries source_row: let DuckDB write in parallel.
    con.execute("SET preserve_insertion_order = false")
    used = {name: value for name, value in parameters.items() if f"${name}" in query}
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE checked AS SELECT *, len(problems) = 0 AS is_first_copy FROM ({query})",
        used,
    )
    con.execute(sql.read("validation/duplicates"))


def merge(con: duckdb.DuckDBPyConnection, staged: StagedFile, run_id: int) -> FileCounts:
    """Quarantine the bad rows of `checked` and upsert the good ones into their table."""
    table, key = staged.kind.name, KEYS[staged.kind.name]
    columns = [
        name for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if name not in PROVENANCE
    ]
    file_args = [run_id, staged.path, staged.sha256, table]

    # Quarantine: a file re-read in a later run does not add its bad rows a second time.
    con.execute(sql.read("load/quarantine_problems"), [*file_args, staged.sha256])
    for reject in staged.rejects:
        con.execute(sql.read("load/quarantine_reject"),
                    [*file_args, reject.source_row, reject.rule, reject.message, reject.raw, staged.sha256,
                     reject.source_row])

    # Rows whose key is already stored: same values (unchanged) or new values (update).
    values = [c for c in columns if c != key]
    con.execute(f"CREATE OR REPLACE TEMP VIEW merge_target AS SELECT *, {key} AS merge_key FROM {table}")
    con.execute(sql.render("load/matched", stored=", ".join(f"t.{c}" for c in values),
                           incoming=", ".join(f"c.{c}" for c in values)))
    quarantined, first_copies, repeats = con.execute(sql.read("load/counts")).fetchone()
    same, changed = con.execute(
        "SELECT count(*) FILTER (WHERE same), count(*) FILTER (WHERE NOT same) FROM matched"
    ).fetchone()

    if changed:
        con.execute(f"INSERT INTO {table}_history SELECT t.*, now()::TIMESTAMP, ? FROM {table} AS t "
                    f"WHERE t.{key} IN (SELECT record_key FROM matched WHERE NOT same)", [run_id])
        con.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT record_key FROM matched WHERE NOT same)")
    column_list = ", ".join(columns)
    source_key = ", ".join("record_key" if c == key else c for c in columns)
    # Rows identical to the stored version stay out (skipping the anti-join when there are
    # none, as in a first load, saves a pass over millions of rows).
    not_unchanged = "AND source_row NOT IN (SELECT source_row FROM matched WHERE same)" if same else ""
    con.execute(f"INSERT INTO {table} ({column_list}, source_file, source_row, run_id) "
                f"SELECT {source_key}, ?, source_row, ? FROM checked WHERE is_first_copy {not_unchanged}",
                [staged.path, run_id])
    return FileCounts(
        rows_in=staged.n_rows + len(staged.rejects),
        inserted=first_copies - same - changed,
        updated=changed,
        unchanged=same + repeats,
        quarantined=quarantined + len(staged.rejects),
    )
