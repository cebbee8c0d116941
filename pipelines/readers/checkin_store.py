"""Reader for the check-ins saved in the dashboard's store: one more source of assessments.

Every ingest reads all saved check-ins (published or not) through this reader, so a patient's
own answers are validated and scored by the same SQL as every export
(sql/validation/assessments.sql), land in `assessments` with `source_file = 'check-in'` and
`source_row` = the stored row's id, and a check-in read again is an unchanged repeat (its key is
`assessment_id` = `check-in-<id>`). Reading them all every time also keeps them through a full
export (their keys are among the run's) and rebuilds them into a new database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from ..formats import ASSESSMENTS
from ..store.checkins import StoredAnswers, read_answers
from .rows import StagedFile

SOURCE_FILE = "check-in"  # assessments.source_file of every check-in (the FHIR export selects on it)
# One fixed "file hash" for the store: quarantine is keyed by (hash, row), and a check-in's row
# (its id) never changes, so a quarantined check-in is recorded once however often it is re-read.
SOURCE_SHA256 = hashlib.sha256(b"check-in store").hexdigest()


def assessment_id(row_id: int) -> str:
    return f"{SOURCE_FILE}-{row_id}"


@dataclass(frozen=True)
class CheckinSource:
    """The check-ins one ingest run loads (read once, before the run)."""

    answers: tuple[StoredAnswers, ...]

    @property
    def ids(self) -> list[int]:
        return [a.id for a in self.answers]

    def stage(self, con: duckdb.DuckDBPyConnection, scan_no: int = 0) -> Iterator[StagedFile]:
        """Temp table `staged_raw` and view `staged` in the shape `stage_csv` gives for an
        assessments export: item answers as numbers (NULL where skipped), the time as UTC text
        with its offset (validation converts it to clinic time)."""
        columns: dict[str, pa.Array] = {"source_row": pa.array([a.id for a in self.answers], pa.int64())}
        text = {"patient_id": [a.patient_id for a in self.answers],
                "instrument": [a.instrument for a in self.answers],
                "administered_at": [a.administered_at for a in self.answers],
                "assessment_id": [assessment_id(a.id) for a in self.answers],
                "session_id": [None] * len(self.answers)}
        for name in ASSESSMENTS.columns:
            if name in ASSESSMENTS.numeric:
                number = int(name.removeprefix("item_")) if name.startswith("item_") else None
                values = [None if number is None or number > len(a.items) else a.items[number - 1]
                          for a in self.answers]
                columns[name] = pa.array([None if v is None else float(v) for v in values], pa.float64())
            else:
                columns[name] = pa.array(text[name], pa.string())
        checkin_rows = pa.table(columns)  # noqa: F841 - read by name below (DuckDB scans Python variables)
        con.execute("CREATE OR REPLACE TEMP TABLE staged_raw AS SELECT * FROM checkin_rows ORDER BY source_row")
        con.execute("CREATE OR REPLACE TEMP VIEW staged AS SELECT * FROM staged_raw")
        yield StagedFile(path=SOURCE_FILE, sha256=SOURCE_SHA256, kind=ASSESSMENTS, n_rows=len(self.answers))


def checkin_source(db_path: str | Path) -> CheckinSource | None:
    """The saved check-ins of `db_path`'s store, or None when there are none (no store yet)."""
    answers = read_answers(db_path)
    return CheckinSource(tuple(answers)) if answers else None
