"""One ingest run: read clinic exports, validate, load, and record the run.

A run is all-or-nothing. Every file is checked for a known header before anything is
written; the load itself is one DuckDB transaction, so a failure or a crash part-way leaves
the database exactly as it was. Files load patients first, then sessions, then assessments,
so references resolve whatever order the files were given in.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from .db import connect, init_db, read_sql
from .formats import KINDS, ImportFormatError
from .load import FileCounts, merge, validate
from .readers import content_sha256, reader_for
from .settings import Settings

Progress = Callable[[str], None]


@dataclass
class FileResult(FileCounts):
    path: str = ""
    sha256: str = ""
    kind: str = ""
    seconds: float = 0.0


@dataclass
class RunResult:
    run_id: int
    started_at: dt.datetime
    finished_at: dt.datetime
    files: list[FileResult] = field(default_factory=list)

    @property
    def totals(self) -> FileCounts:
        total = FileCounts()
        for result in self.files:
            total.add(result)
        return total


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given, and the *.csv files directly inside any folder given (not sub-folders,
    so data/sample/ does not pick up data/sample/messy/)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv"))
        elif path.is_file():
            files.append(path)
        else:
            raise ImportFormatError(f"{path}: no such file or folder")
    if not files:
        raise ImportFormatError(f"no CSV exports found in {', '.join(map(str, paths))}")
    return files


def _quiet(message: str) -> None:
    pass


def ingest(
    db_path: str | Path,
    paths: list[str | Path],
    settings: Settings,
    now: dt.datetime | None = None,
    progress: Progress = _quiet,
) -> RunResult:
    """Load `paths` into the database at `db_path` in one transaction and return the counts.

    `now` (UTC) is the run's clock: rows dated after it are quarantined as future dates.
    Raises ImportFormatError, with nothing written, for a file that is not a known export.
    """
    started = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    files = expand_paths(paths)
    readers = {path: reader_for(path) for path in files}  # fails before anything is written
    kinds = {path: reader.kind for path, reader in readers.items()}
    load_order = sorted(files, key=lambda p: (KINDS.index(kinds[p]), str(p)))
    clock = time.perf_counter()

    now_local = started.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(settings.clinic_timezone))
    parameters = {
        "now_local": now_local.replace(tzinfo=None),
        "clinic_tz": settings.clinic_timezone,
        "max_days_before_intake": settings.max_days_before_intake,
        **asdict(settings.plausible),
    }
    con = connect(db_path)
    try:
        con.execute("BEGIN TRANSACTION")
        init_db(con, settings)
        con.execute(read_sql("macros.sql"))
        run_id = con.execute("SELECT nextval('ingest_run_ids')").fetchone()[0]
        results = []
        for number, path in enumerate(load_order, start=1):
            file_clock = time.perf_counter()
            progress(f"[{number}/{len(load_order)}] {path} ({readers[path].name}): reading")
            counts, sha256 = FileCounts(), ""
            for staged in readers[path].stage(con, number):  # one pass, or one per REDCap instrument
                progress(f"[{number}/{len(load_order)}] {path}: validating {staged.n_rows:,} rows")
                validate(con, staged.kind, parameters)
                progress(f"[{number}/{len(load_order)}] {path}: loading")
                counts.add(merge(con, staged, run_id))
                sha256 = content_sha256(staged)
            results.append(
                FileResult(**asdict(counts), path=str(path), sha256=sha256, kind=kinds[path].name,
                           seconds=round(time.perf_counter() - file_clock, 3))
            )
        finished = started + dt.timedelta(seconds=time.perf_counter() - clock)
        run = RunResult(run_id=run_id, started_at=started, finished_at=finished, files=results)
        _record_run(con, run)
        con.execute("COMMIT")
        return run
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except Exception:
            pass  # the transaction is already gone; the original error matters
        raise
    finally:
        con.close()


def _record_run(con, run: RunResult) -> None:
    totals = run.totals
    con.execute(
        "INSERT INTO ingest_runs VALUES (?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?)",
        [
            run.run_id, run.started_at, run.finished_at, totals.rows_in, totals.inserted, totals.updated,
            totals.unchanged, totals.quarantined,
            [
                {"path": f.path, "sha256": f.sha256, "kind": f.kind, "rows_in": f.rows_in,
                 "inserted": f.inserted, "updated": f.updated, "unchanged": f.unchanged,
                 "quarantined": f.quarantined, "seconds": f.seconds}
                for f in run.files
            ],
        ],
    )


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
