"""Readers turn one export format into canonical staged rows.

`reader_for(path)` picks the reader from the file's header: a REDCap record export (see
`redcap.is_redcap`) or one of the project's own CSV exports. Every reader yields one or more
`StagedFile`s in the same shape (temp table `staged_raw`, view `staged` with `source_row`),
so validation, quarantine and merging are shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from ..formats import ASSESSMENTS, ExportKind
from .csv_export import StagedFile, read_header, sniff, stage_csv
from .redcap import check_redcap, content_sha256, is_redcap, stage_redcap

__all__ = ["Reader", "reader_for", "content_sha256"]


@dataclass(frozen=True)
class Reader:
    """What ingest needs to know about one file before loading it."""

    kind: ExportKind  # decides load order (patients -> sessions -> assessments)
    name: str  # shown in progress messages
    # stage(con, scan_no) -> the file's staged passes; validate and merge each before the next
    stage: Callable[[duckdb.DuckDBPyConnection, int], Iterable[StagedFile]]


def reader_for(path: str | Path) -> Reader:
    """The reader for `path`, checked far enough that a file we cannot take fails here,
    before anything is written (ImportFormatError)."""
    header = read_header(path)
    if {"variable_field_name", "form_name", "field_type"} <= set(header):
        # A REDCap data dictionary often sits beside the export: metadata, nothing to load.
        return Reader(ASSESSMENTS, "REDCap data dictionary, skipped", lambda con, scan_no: [])
    if is_redcap(header):
        check_redcap(path)
        return Reader(ASSESSMENTS, "REDCap assessments",
                      lambda con, scan_no: stage_redcap(con, path, scan_no=scan_no))
    kind = sniff(path)
    return Reader(kind, kind.name, lambda con, scan_no: [stage_csv(con, path, scan_no=scan_no)])
