"""What every reader hands the loader: a staged file, the rows it could not take, and where
each row sits in its file.

Shared by the CSV, REDCap and FHIR readers and by `pipelines/load.py`, so a bad line is
reported the same way (rule, message, 1-based data row) whatever the export.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..formats import ExportKind


@dataclass
class Reject:
    """A row a reader could not take: wrong number of fields, an item answer that is not a
    number, a resource that is not valid FHIR. Quarantined like any other bad row.

    `unknown_kind`: the row could not be read at all (not split into fields, not a FHIR
    resource), so which kind of record it is cannot be told either. It is quarantined once,
    with one kind of its file, but in a full export it holds back the deletions of every kind
    its file holds (pipelines/ingest.py `held_back`)."""

    source_row: int
    raw: str
    rule: str
    message: str
    unknown_kind: bool = False


@dataclass
class StagedFile:
    """One export read into the temp view `staged`, ready for validation."""

    path: str
    sha256: str
    kind: ExportKind
    n_rows: int  # rows parsed into `staged`
    rejects: list[Reject] = field(default_factory=list)
    # A REDCap form's scale code, as its mapping names it: the pass is the truth for that scale
    # only in a full export (pipelines/load.py `pass_scales`). None: for its whole kind.
    scale: str | None = None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def skipped_rows(con) -> bool:
    """Whether the file just read has data rows DuckDB gave no row for (rejected rows, empty
    lines), listed in temp table `reject_rows`: then `row_position` must count them."""
    return bool(con.execute("SELECT count(*) FROM reject_rows").fetchone()[0])


def row_position(first_rowid: int, has_rejects: bool) -> str:
    """SQL for the 1-based data row in the file. staged_raw keeps insertion order, so its
    rowid (counted from the table's first rowid, which is not 0 inside a transaction) is the
    row's position among the rows DuckDB accepted; each rejected row or empty line before it
    adds one, so a row keeps the number a spreadsheet shows."""
    ordinal = f"(rowid - {int(first_rowid)} + 1)"
    if not has_rejects:
        return ordinal
    # The k-th accepted row sits after every rejected row r_j with r_j - j < k.
    return (
        f"{ordinal} + (SELECT count(*) FROM (SELECT source_row - row_number() OVER (ORDER BY source_row) AS gap"
        f" FROM reject_rows) r WHERE r.gap < {ordinal})"
    )
