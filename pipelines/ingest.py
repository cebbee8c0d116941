"""One ingest run: read clinic exports, validate, load, and record the run.

A run is all-or-nothing. Every file is checked for a known header before anything is
written; the load itself is one DuckDB transaction on a copy of the database, swapped in
whole when it commits (pipelines/publish.py), so a failure or a crash part-way leaves the
database exactly as it was, and readers (the dashboard) never see a half-loaded state. The patients of every file load first, then sessions, then
assessments (a FHIR Bundle holds all three), so references resolve whatever order the files
were given in.

With `full_export`, the run's files are the whole truth for the kinds they hold: once every
file is merged, stored rows of those kinds that no file sent are deleted (moved to history,
pipelines/load.py `delete_absent`) in the same transaction, so a crash deletes nothing.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import duckdb

from . import incremental, sql
from .db import connect_for_ingest, init_db
from .formats import KINDS, ImportFormatError
from .load import Deletions, FileCounts, delete_absent, merge, note_keys, start_full_export, validate
from .precomputed_expected import store_expected_references
from .publish import discard, ingest_lock, publish, remove_leftovers, working_copy
from .readers import SOURCE_FILE, Reader, checkin_reader, checkin_source, content_sha256, readers_for
from .settings import Settings
from .store.checkins import mark_published

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
    # Full export only: per kind the run held, what it did with the stored rows left out.
    deletions: list[Deletions] | None = None
    # Per file, what was tolerated rather than quarantined (e.g. elements FHIR R4 does not define).
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def totals(self) -> FileCounts:
        total = FileCounts()
        for result in self.files:
            total.add(result)
        return total

    @property
    def deleted(self) -> int:
        """Stored rows the run deleted (moved to history): not rows in, counted apart."""
        return sum(d.deleted for d in self.deletions or ())

    @property
    def full_export(self) -> list[str] | None:
        """The kinds the run was the whole truth for (None: not a full export)."""
        return None if self.deletions is None else [d.kind for d in self.deletions]


# What a folder given to ingest is read for: CSV exports (ours, REDCap) and FHIR JSON / NDJSON.
# Anything else in it (a README, a mapping file) is not an export and is left alone.
EXPORT_SUFFIXES = (".csv", ".json", ".ndjson")


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given, and the export files (*.csv, *.json, *.ndjson) directly inside any
    folder given (not sub-folders, so data/sample/ does not pick up data/sample/messy/)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise ImportFormatError(f"{path}: no such file or folder")
    if not files:
        raise ImportFormatError(f"no exports (*.csv, *.json, *.ndjson) found in {', '.join(map(str, paths))}")
    return files


def _quiet(message: str) -> None:
    pass


def ingest(
    db_path: str | Path,
    paths: list[str | Path],
    settings: Settings,
    now: dt.datetime | None = None,
    progress: Progress = _quiet,
    full_export: bool = False,
) -> RunResult:
    """Load `paths` into the database at `db_path` in one transaction and return the counts.

    `now` (UTC) is the run's clock: rows dated after it are quarantined as future dates.
    `full_export`: the files are the whole truth for the kinds they hold; stored rows of those
    kinds they leave out are deleted (docs/ingest.md, "Full exports and deletions").
    Every run also loads the patients' check-ins saved in the database's store (source
    `check-in`, pipelines/readers/checkin_store.py); with no `paths`, only those (publishing
    them: `outcomes ingest --store-only`), and NothingToPublish when none is waiting.
    Raises ImportFormatError, with nothing written, for a file that is not a known export.
    """
    started = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    files = expand_paths(paths) if paths else []
    readers = readers_for(files)  # fails before anything is written
    units: list = []  # set under the lock, once the check-ins are read (below)
    listed: list[Path] = []
    clock = time.perf_counter()

    now_local = started.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(settings.clinic_timezone))
    parameters = {
        "now_local": now_local.replace(tzinfo=None),
        "clinic_tz": settings.clinic_timezone,
        "max_days_before_intake": settings.max_days_before_intake,
        **asdict(settings.plausible),
    }

    def load_into(target: Path) -> RunResult:
        con = connect_for_ingest(target)  # memory-capped, spills to disk (docs/ingest.md, Large files)
        try:
            con.execute("BEGIN TRANSACTION")
            init_db(con, settings)
            con.execute(sql.read("validation/macros"))
            run_id = con.execute("SELECT nextval('ingest_run_ids')").fetchone()[0]
            if full_export:
                start_full_export(con)
            keyless: dict[str, int] = {}  # kind -> its quarantined rows without a key
            unknown = {path: 0 for path in files}  # per file: quarantined rows whose kind cannot be told
            counts = {path: FileCounts() for path in files}
            hashes = {path: "" for path in files}
            seconds = {path: 0.0 for path in files}
            for number, (path, unit) in enumerate(units, start=1):
                unit_clock = time.perf_counter()
                step = f"[{number}/{len(units)}] {path}"
                progress(f"{step} ({readers[path].name}): reading {unit.kind.name}")
                for staged in unit.stage(con, number):  # one pass, or one per REDCap instrument
                    progress(f"{step}: validating {staged.n_rows:,} {unit.kind.name} rows")
                    validate(con, staged.kind, parameters)
                    if full_export:
                        keyless[staged.kind.name] = keyless.get(staged.kind.name, 0) + note_keys(con, staged)
                        unknown[path] += sum(1 for reject in staged.rejects if reject.unknown_kind)
                    progress(f"{step}: loading")
                    counts[path].add(merge(con, staged, run_id))
                    hashes[path] = content_sha256(staged)
                seconds[path] += time.perf_counter() - unit_clock
            for path in files:
                if not readers[path].units:
                    progress(f"{path} ({readers[path].name}): nothing to load")
            deletions = None
            if full_export:
                deletions = delete_absent(con, held_back(readers, keyless, unknown), run_id)
                for line in deletion_lines(deletions):
                    progress(line)
            results = [
                FileResult(**asdict(counts[path]), path=str(path), sha256=hashes[path], kind=readers[path].label,
                           seconds=round(seconds[path], 3))
                for path in listed
            ]
            finished = started + dt.timedelta(seconds=time.perf_counter() - clock)
            run = RunResult(run_id=run_id, started_at=started, finished_at=finished, files=results,
                            deletions=deletions,
                            warnings={str(p): list(readers[p].warnings) for p in listed if readers[p].warnings})
            _record_run(con, run)
            con.execute("COMMIT")
            store_outcome_tables(con, run_id, progress)
            store_expected_references(con, settings, progress)
            return run
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except Exception:
                pass  # the transaction is already gone; the original error matters
            raise
        finally:
            con.close()

    # Load a copy beside the served file and swap it in (pipelines/publish.py): readers keep
    # answering from the old file meanwhile, and a crash leaves the served file untouched.
    with ingest_lock(db_path, progress):
        # The store is read under the lock: a publish queued behind another run loads what was
        # saved meanwhile, and one that finds nothing left to publish does nothing.
        checkins = checkin_source(db_path)
        if checkins:
            files.append(Path(SOURCE_FILE))
            readers[Path(SOURCE_FILE)] = checkin_reader(checkins)
        if not paths and not (checkins and checkins.waiting):
            raise NothingToPublish("no check-ins waiting to be published")
        # Every file's units in kind order (the patients of all files, then sessions, then
        # assessments), so a Bundle's sessions find the patients of any file of the run.
        units = sorted(((path, unit) for path in files for unit in readers[path].units),
                       key=lambda pu: (KINDS.index(pu[1].kind), str(pu[0])))
        # Files are listed in the run by the first kind they hold.
        listed = sorted(files, key=lambda p: (KINDS.index(readers[p].kind) if readers[p].units else len(KINDS),
                                              str(p)))
        remove_leftovers(db_path)
        work = working_copy(db_path)
        try:
            run = load_into(work)
            publish(work, db_path)
            if checkins:  # served now: the Worklist reads them from the database from here on
                mark_published(db_path, checkins.ids, run.run_id)
            return run
        finally:
            discard(work)


class NothingToPublish(ImportFormatError):
    """A run without files (`outcomes ingest --store-only`) found no check-in waiting: nothing
    was done (another run has published them, or none was saved)."""


def store_outcome_tables(con, run_id: int, progress: Progress) -> None:
    """Bring the outcome tables in the working copy up to date before it is swapped in
    (pipelines/precomputed.py), so no reader waits for them: for the patients the run changed
    only, or all of them (pipelines/incremental.py says when). Their own transaction, after the
    load's: if they cannot be computed (e.g. out of memory on a very large clinic), the run
    still publishes, the stale tables of an earlier run are not used (they name another run),
    and readers compute the tables on opening as before."""
    progress("computing the outcome tables for the dashboard")
    try:
        done = incremental.refresh(con, run_id)
        progress(f"outcome tables: {done.changed:,} changed patient(s) recomputed"
                 + (", then sorted by patient again" if done.resort else "") if done.refresh == "incremental"
                 else f"outcome tables: computed in full ({done.reason})")
    except duckdb.Error as error:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # failed outside the transaction (the drop or the checkpoint): nothing to undo
        progress(f"the outcome tables were not stored ({str(error).splitlines()[0]}); "
                 f"readers will compute them when they open this version")


def _record_run(con, run: RunResult) -> None:
    totals = run.totals
    con.execute(
        "INSERT INTO ingest_runs (run_id, started_at, finished_at, status, rows_in, inserted, updated, unchanged, "
        "quarantined, deleted, full_export, files) VALUES (?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run.run_id, run.started_at, run.finished_at, totals.rows_in, totals.inserted, totals.updated,
            totals.unchanged, totals.quarantined, run.deleted, run.full_export,
            [
                {"path": f.path, "sha256": f.sha256, "kind": f.kind, "rows_in": f.rows_in,
                 "inserted": f.inserted, "updated": f.updated, "unchanged": f.unchanged,
                 "quarantined": f.quarantined, "seconds": f.seconds}
                for f in run.files
            ],
        ],
    )


def held_back(readers: dict[Path, Reader], keyless: dict[str, int], unknown: dict[Path, int]) -> dict[str, int]:
    """Full export: the kinds the run holds (those some file holds, `Reader.holds`: not simply
    the kinds staged), each with the quarantined rows that hold its deletions back: its rows
    without a key (`keyless`, from `note_keys`), and each row whose kind cannot be told either
    (`unknown`, per file: a REDCap row that cannot be split may be any of its forms, an
    unreadable FHIR line any resource) for every kind its file holds, or, for a file that holds
    none, every kind the run holds (the line may be the one record the file had)."""
    kinds = [kind.name for kind in KINDS if any(kind in reader.holds for reader in readers.values())]
    held = {kind: keyless.get(kind, 0) for kind in kinds}
    for path, count in unknown.items():
        for kind in [k.name for k in readers[path].holds] or kinds:
            held[kind] += count
    return held


def deletion_lines(deletions: list[Deletions]) -> list[str]:
    """What a full export did per kind, in words (progress and the CLI's summary)."""
    lines = []
    for d in deletions:
        if d.held_back:
            lines.append(f"{d.kind}: nothing deleted: {d.held_back} quarantined row(s) have no readable id, so the "
                         f"export's {d.kind} are not known in full (fix them and run the full export again)")
            continue
        line = f"{d.kind}: {d.deleted} deleted (absent from the export; kept in {d.kind}_history)"
        if d.kept:
            refers = "assessments" if d.kind == "sessions" else "sessions or assessments"
            line += f"; {d.kept} absent but kept: they still have {refers}"
        lines.append(line)
    return lines


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
