"""Readers turn one export format into canonical staged rows.

`readers_for(paths)` picks each file's reader: FHIR R4 JSON (a `.json` / `.ndjson` file, or
one that starts with `{`), a REDCap record export (see `redcap.is_redcap`), or one of the
project's own CSV exports. Every reader yields `StagedFile`s in the same shape (temp table
`staged_raw`, view `staged` with `source_row`), so validation, quarantine and merging are
shared. A reader gives one `Unit` per kind of row the file holds (a CSV export one, a FHIR
Bundle up to three), and ingest loads the units of all files in kind order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from ..formats import ASSESSMENTS, ExportKind
from . import fhir
from .checkin_store import SOURCE_FILE, CheckinSource, checkin_source
from .csv_export import read_header, sniff, stage_csv
from . import redcap
from .redcap import content_sha256, is_redcap
from .rows import StagedFile

__all__ = ["Reader", "Unit", "reader_for", "readers_for", "content_sha256", "checkin_reader", "checkin_source",
           "SOURCE_FILE"]

Stage = Callable[[duckdb.DuckDBPyConnection, int], Iterable[StagedFile]]


@dataclass(frozen=True)
class Unit:
    """One kind of row from one file: loaded in its kind's turn (patients -> sessions ->
    assessments). stage(con, scan_no) yields the unit's staged passes; validate and merge
    each before asking for the next."""

    kind: ExportKind
    stage: Stage


@dataclass(frozen=True)
class Reader:
    """What ingest needs to know about one file before loading it."""

    name: str  # shown in progress messages
    units: tuple[Unit, ...]
    # The kinds a full export of the file is the truth for (docs/ingest.md, "Full exports and
    # deletions"): the kinds it has records of, which may be fewer than its units' (a FHIR file
    # of vital signs only is staged as sessions but holds none).
    holds: tuple[ExportKind, ...]
    warnings: tuple[str, ...] = ()  # what the file holds that was tolerated, for the run summary

    @property
    def kind(self) -> ExportKind:
        """The first kind the file holds (decides where the file is listed in a run)."""
        return self.units[0].kind

    @property
    def label(self) -> str:
        """The file's kind(s) as recorded in ingest_runs.files: `sessions`, or
        `patients+sessions+assessments` for a FHIR Bundle holding all three."""
        return "+".join(unit.kind.name for unit in self.units) or "none"


def reader_for(path: str | Path) -> Reader:
    """The reader for one file (see `readers_for`)."""
    return readers_for([Path(path)])[Path(path)]


def readers_for(paths: list[Path]) -> dict[Path, Reader]:
    """Each file's reader, checked far enough that a file we cannot take fails here, before
    anything is written (ImportFormatError). FHIR NDJSON files of one folder are one bulk
    export: references between them resolve."""
    readers: dict[Path, Reader] = {}
    fhir_documents: dict[Path, fhir.Document] = {}
    for path in paths:
        if fhir.looks_like_fhir(path):
            fhir_documents[path] = fhir.read_document(path)
        else:
            readers[path] = _csv_reader(path)
    exports: dict[object, list[Path]] = {}
    for path, document in fhir_documents.items():
        group = ("ndjson", path.resolve().parent) if document.shape == "NDJSON" else ("file", path)
        exports.setdefault(group, []).append(path)
    for members in exports.values():
        export = fhir.FhirExport([fhir_documents[p] for p in members])
        for path in members:
            readers[path] = _fhir_reader(export, fhir_documents[path])
    return {path: readers[path] for path in paths}


def _fhir_reader(export: fhir.FhirExport, document: fhir.Document) -> Reader:
    def unit(kind: ExportKind) -> Unit:
        return Unit(kind, lambda con, scan_no: fhir.stage_fhir(con, export, document, kind))

    return Reader(fhir.summary(document), tuple(unit(kind) for kind in fhir.file_kinds(document)),
                  tuple(fhir.held_kinds(document)), tuple(fhir.warnings(document)))


def _csv_reader(path: Path) -> Reader:
    header = read_header(path)
    if redcap.is_metadata(header):
        # A REDCap data dictionary or events file often sits beside the export: nothing to load.
        return Reader("REDCap project metadata, skipped", (Unit(ASSESSMENTS, lambda con, scan_no: []),), ())
    if is_redcap(header, path):
        kinds = tuple(redcap.file_kinds(path))
        return Reader(redcap.describe(path), tuple(
            Unit(kind, lambda con, scan_no, kind=kind: redcap.stage_redcap(con, path, scan_no=scan_no, kind=kind))
            for kind in kinds), kinds)
    kind = sniff(path)
    return Reader(kind.name, (Unit(kind, lambda con, scan_no: [stage_csv(con, path, scan_no=scan_no)]),), (kind,))


def checkin_reader(source: CheckinSource) -> Reader:
    """The check-ins saved in the dashboard's store, as one more source of assessments
    (pipelines/readers/checkin_store.py). It is the whole truth for nothing: a full export
    deletes no check-in, and its keys are among the run's, so none is deleted either."""
    return Reader(f"{len(source.answers)} check-in scale(s) saved on the dashboard",
                  (Unit(ASSESSMENTS, source.stage),), ())
