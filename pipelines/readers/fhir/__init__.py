"""Reader for FHIR R4 JSON: a Bundle (any Bundle.type), a single resource, or an NDJSON bulk
export (one resource per line, one file per resource type).

The reader only turns resources into the canonical staged rows the CSV reader produces, so
validation, quarantine, counts and idempotency are the core's own. A Bundle holds patients,
sessions and assessments together, so a file gives one unit per kind it holds; ingest loads
the patients of every file first, then sessions, then assessments, so references resolve.
Each unit's `StagedFile.sha256` is the file's hash plus `#<kind>` (as REDCap's passes carry
`#<instrument>`), because quarantine de-duplication is keyed on hash and row and one Bundle
entry number may hold a bad patient in one unit and nothing in another.

The mapping (documented in docs/import-format.md, "FHIR R4") is split by table:
`patients.py`, `sessions.py`, `assessments.py` (with `forms.py`: what a response's Questionnaire,
CodeSystems and ValueSets say about its scale, items and answers); code tables are in `codes.py`;
reading, validation (`fhir.resources`, tolerant of what is not read) and reference resolution in
`parse.py`; `resources.py` says which
table a resource feeds and holds the row / reject types the mappers return; `export.py` holds the
resources of one export (a Bundle, or the NDJSON files of one folder) and runs the mappers over
them. Imports go one way: codes, parse -> resources -> forms -> the mappers -> export -> this package.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterator

import duckdb
import pyarrow as pa

from ...formats import KINDS, PATIENTS, ExportKind
from ..rows import Reject, StagedFile
from .export import FhirExport
from .resources import Row, kind_of, record_kind
from .parse import Document, check, looks_like_fhir, read_document

__all__ = ["FhirExport", "Document", "looks_like_fhir", "read_document", "file_kinds", "held_kinds", "stage_fhir",
           "summary", "warnings"]


def file_kinds(document: Document) -> list[ExportKind]:
    """The kinds a file has resources for, in load order: the units it is staged in (a file of
    vital signs only is staged as sessions, so a vital sign that cannot be used is quarantined).
    Lines that are not resources go with the file's first kind (patients if it holds nothing
    we read)."""
    present = {kind_of(entry) for entry in document.entries} - {None}
    kinds = [kind for kind in KINDS if kind in present]
    return kinds or ([PATIENTS] if document.bad_lines else [])


def held_kinds(document: Document) -> list[ExportKind]:
    """The kinds a full export of the file is the truth for: those it has records of
    (`resources.record_kind`), in load order. Fewer than `file_kinds`: vital signs, Conditions
    and EpisodeOfCare are read, but a file of them holds no kind."""
    present = {record_kind(entry) for entry in document.entries} - {None}
    return [kind for kind in KINDS if kind in present]


def summary(document: Document) -> str:
    """`FHIR Bundle (collection): 3 Patient, 5 Procedure ...; skipped 1 Organization` for progress
    lines, followed by the elements tolerated (`warnings`): the run's record of them."""
    read = Counter(e.type for e in document.entries if kind_of(e) is not None)
    skipped = Counter(e.type if e.type != "Observation" else "Observation (codes not read)"
                      for e in document.entries if kind_of(e) is None)
    text = f"FHIR {document.shape}: " + (", ".join(f"{n} {t}" for t, n in sorted(read.items())) or "nothing to read")
    if skipped:
        text += "; skipped " + ", ".join(f"{n} {t}" for t, n in sorted(skipped.items()))
    if document.bad_lines:
        text += f"; {len(document.bad_lines)} unreadable"
    return text + "".join(f"; {w}" for w in warnings(document))


def warnings(document: Document) -> list[str]:
    """The elements tolerated in the resources a file gives rows from, per reason, e.g.
    `12 elements not defined by FHIR R4 ignored (QuestionnaireResponse.item.code ×12)`."""
    found: dict[str, Counter] = {}
    for entry in document.entries:
        if kind_of(entry) is not None:
            for reason, path in check(entry).warnings:
                found.setdefault(reason, Counter())[path] += 1
    return [reason.format(n=sum(paths.values()), s="s" if sum(paths.values()) > 1 else "")
            + " (" + ", ".join(f"{path} ×{n}" for path, n in sorted(paths.items())) + ")"
            for reason, paths in found.items()]


def stage_fhir(con: duckdb.DuckDBPyConnection, export: FhirExport, document: Document,
               kind: ExportKind) -> Iterator[StagedFile]:
    """Build temp table `staged_raw` and view `staged` with `document`'s rows of `kind`, in the
    shape `stage_csv` gives, plus each row's resource JSON (kept in a quarantine record)."""
    rows, rejected = export.for_file(document.path, kind)
    rejects = [Reject(r.entry.source_row, r.entry.raw, r.rule, r.message) for r in rejected]
    if kind is file_kinds(document)[0]:  # quarantined once; in a full export, held back for every kind
        rejects += [Reject(b.source_row, b.raw, "unreadable_row", f"{b.message}: not a FHIR resource we can read",
                           unknown_kind=True)
                    for b in document.bad_lines]
    rejects.sort(key=lambda r: r.source_row)
    _write_staged(con, kind, rows)
    yield StagedFile(path=document.path, sha256=f"{document.sha256}#{kind.name}", kind=kind,
                     n_rows=len(rows), rejects=rejects)


def _write_staged(con: duckdb.DuckDBPyConnection, kind: ExportKind, rows: list[Row]) -> None:
    def text(value) -> str | None:
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    columns = {"source_row": pa.array([r.entry.source_row for r in rows], pa.int64())}
    for name in kind.columns:
        if name in kind.numeric:
            columns[name] = pa.array([r.values.get(name) for r in rows], pa.float64())
        else:
            columns[name] = pa.array([text(r.values.get(name)) for r in rows], pa.string())
    columns["resource"] = pa.array([r.entry.raw for r in rows], pa.string())
    fhir_staged_rows = pa.table(columns)  # noqa: F841 - read by name below (DuckDB scans Python variables)
    con.execute("CREATE OR REPLACE TEMP TABLE staged_raw AS SELECT * FROM fhir_staged_rows ORDER BY source_row")
    con.execute("CREATE OR REPLACE TEMP VIEW staged AS SELECT * FROM staged_raw")
