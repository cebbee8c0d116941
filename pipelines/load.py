"""Validate one staged export and merge it into its table.

Every row ends in exactly one bucket, so for each file
rows in = inserted + updated + unchanged + quarantined:

- quarantined: failed a rule (or could not be split into fields); kept with its reasons;
- unchanged: identical to what is stored under its key, or a repeat of an earlier row in
  the same file;
- updated: same key, different values: the stored row moves to `<table>_history`;
- inserted: a key not seen before.

A full export (`outcomes ingest --full-export`) is the whole truth for the kinds its files
hold: after every file is merged, stored rows of those kinds whose key no file sent are
deleted, moved to `<table>_history` with the run (`delete_absent`). They are not rows in, so
the per-file sum above is unchanged; the run counts them apart.

All of it runs as set-based SQL over whole columns, so millions of rows load in seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from . import sql
from .formats import ExportKind
from .instruments import alias_table
from .readers.rows import StagedFile

KEYS = {"patients": "patient_id", "sessions": "session_id", "assessments": "assessment_key",
        "appointments": "appointment_id"}
PROVENANCE = ("source_file", "source_row", "run_id")
# Reader rejects that identify nothing to keep: the resource itself says it does not count
# (FHIR entered-in-error, an infusion not given). Its stored version, if any, is deleted by a
# full export like any row the export leaves out. Every other unreadable row may stand for a
# stored record, so it holds back the deletions of its kind (see `note_keys`), or, when even
# its kind cannot be told (`Reject.unknown_kind`), of every kind its file holds (ingest).
RETRACTIONS = ("entered_in_error", "not_given")
# Deletion order: what refers to a record is deleted before it, so "still referenced" is
# judged on what the run keeps (assessments name sessions; both name patients).
DELETION_ORDER = ("appointments", "assessments", "sessions", "patients")


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


@dataclass
class Deletions:
    """What a full export did with the stored rows of one kind that it left out."""

    kind: str
    deleted: int = 0    # moved to <table>_history with the run
    kept: int = 0       # left out, but still referred to by a record the run keeps
    held_back: int = 0  # quarantined rows without a readable key: nothing of the kind deleted


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

    # The staged rows are not read again (the next pass builds its own): their memory goes to
    # the merge below, which then spills less under the ingest's memory cap (docs/scaling.md).
    con.execute("DROP TABLE IF EXISTS temp.main.staged_raw")

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
        _move_to_history(con, table, "SELECT record_key FROM matched WHERE NOT same", run_id, deleted=False)
    column_list = ", ".join(columns)
    source_key = ", ".join("record_key" if c == key else c for c in columns)
    # Rows identical to the stored version stay out (skipping the anti-join when there are
    # none, as in a first load, saves a pass over millions of rows).
    not_unchanged = "AND source_row NOT IN (SELECT source_row FROM matched WHERE same)" if same else ""
    con.execute(f"INSERT INTO {table} ({column_list}, source_file, source_row, run_id) "
                f"SELECT {source_key}, ?, source_row, ? FROM checked WHERE is_first_copy {not_unchanged}",
                [staged.path, run_id])
    # Likewise `checked` and `matched`: nothing reads them after the merge (full exports keep
    # their keys in `export_keys`), and the next file's parse gets the memory.
    con.execute("DROP TABLE IF EXISTS temp.main.matched; DROP TABLE IF EXISTS temp.main.checked")
    return FileCounts(
        rows_in=staged.n_rows + len(staged.rejects),
        inserted=first_copies - same - changed,
        updated=changed,
        unchanged=same + repeats,
        quarantined=quarantined + len(staged.rejects),
    )


def _move_to_history(con: duckdb.DuckDBPyConnection, table: str, keys: str, run_id: int, deleted: bool) -> None:
    """Move the stored rows of `table` whose key `keys` (a one-column SELECT) returns to
    `<table>_history`, stamped with the run, and whether the run deleted them (or replaced them)."""
    key = KEYS[table]
    con.execute(f"INSERT INTO {table}_history BY NAME SELECT t.*, now()::TIMESTAMP AS replaced_at, "
                f"?::BIGINT AS replaced_by_run, ? AS deleted FROM {table} AS t WHERE t.{key} IN ({keys})",
                [run_id, deleted])
    con.execute(f"DELETE FROM {table} WHERE {key} IN ({keys})")


def start_full_export(con: duckdb.DuckDBPyConnection) -> None:
    """Temp tables `export_keys` (the keys the run's files send, per kind) and `export_scopes`
    (what each staged pass is the truth for: a kind, or one scale of it), filled by `note_keys`."""
    con.execute("CREATE OR REPLACE TEMP TABLE export_keys (kind VARCHAR, record_key VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE export_scopes (kind VARCHAR, instrument VARCHAR)")


def pass_scales(staged: StagedFile) -> list[str | None]:
    """What a staged pass is the truth for: [None], its whole kind; or, for a pass of a REDCap
    export, [its scale]. A REDCap export is staged one instrument at a time
    (`StagedFile.scale`, pipelines/readers/redcap.py) and holds only the forms exported: a form
    left out of the export says nothing about that scale's assessments. A form whose scale code
    is not a known scale gives [] (the truth for no scale, not for every one): its rows are
    quarantined as an unknown instrument, so it says nothing about any stored assessment."""
    if staged.scale is None:
        return [None]
    scale = alias_table().get(re.sub("[^A-Z0-9]", "", staged.scale.upper()))
    return [scale] if scale else []


def note_keys(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> int:
    """Add the keys of `checked` (one validated file, loaded or quarantined) to `export_keys`
    and what the pass is the truth for to `export_scopes`, and return how many of its
    quarantined rows have no readable key (blank id, or a row the reader could not take). Such
    a row may be a stored record sent wrongly; since it cannot be told which, no row of its kind
    is deleted in this run. Rows whose kind cannot be told either (`Reject.unknown_kind`) are
    not counted here: ingest counts them for every kind of their file."""
    con.execute(sql.read("load/export_keys"), [staged.kind.name])
    for scale in pass_scales(staged):
        con.execute("INSERT INTO export_scopes VALUES (?, ?)", [staged.kind.name, scale])
    (keyless,) = con.execute("SELECT count(*) FROM checked WHERE record_key IS NULL").fetchone()
    return keyless + sum(1 for reject in staged.rejects if reject.rule not in RETRACTIONS and not reject.unknown_kind)


def delete_absent(con: duckdb.DuckDBPyConnection, held: dict[str, int], run_id: int) -> list[Deletions]:
    """Full export: for each kind the run's files hold (`held`: kind -> keyless quarantined
    rows, from `note_keys`), move the stored rows whose key no file sent to `<table>_history`,
    except rows still referred to by a record the run keeps. Runs in the load's transaction."""
    results = []
    for kind in (k for k in DELETION_ORDER if k in held):
        result = Deletions(kind, held_back=held[kind])
        if not result.held_back:
            con.execute(sql.read(f"load/absent_{kind}"))
            result.deleted, result.kept = con.execute(
                "SELECT count(*) FILTER (WHERE NOT still_referenced), count(*) FILTER (WHERE still_referenced) "
                "FROM absent"
            ).fetchone()
            if result.deleted:
                _move_to_history(con, kind, "SELECT record_key FROM absent WHERE NOT still_referenced", run_id,
                                 deleted=True)
        results.append(result)
    return sorted(results, key=lambda d: list(KEYS).index(d.kind))  # listed in load order
