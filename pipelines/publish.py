"""Loading beside the served database, then swapping the finished file in (copy-and-swap).

Why: the dashboard, notebooks and the CLI read the database while a nightly ingest loads it.
DuckDB lets one process write a file only when no other process has it open, and a reader
that opened the file mid-load would see a half-loaded state. So an ingest never writes the
served file:

1. under an exclusive lock (`<db>.ingest.lock`: one ingest at a time; a second one waits),
   the served file is copied to `<db>.ingest-<pid>` in the same folder (a brand-new file
   when there is none yet);
2. the run loads the copy in one transaction, checkpoints and closes it;
3. the copy is flushed to disk and renamed over the served path (`os.replace`: atomic on
   POSIX; readers holding the old file keep reading it until they reopen, and anyone opening
   the path gets the new file whole).

A crash, a `kill -9` or a power cut at any point leaves the served file either exactly as it
was or exactly the new one; a leftover copy is removed by the next ingest (it takes the lock,
so no live ingest owns one). The cost is one file copy per run, seconds for a large clinic.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

WORK_SUFFIX = ".ingest-"


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.ingest.lock")


@contextlib.contextmanager
def ingest_lock(db_path: str | Path, waiting: Callable[[str], None] = lambda message: None) -> Iterator[None]:
    """Hold the database's ingest lock (released by the OS if the process dies)."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting(f"another ingest is loading {db_path}; waiting for it to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_leftovers(db_path: str | Path) -> list[Path]:
    """Delete working copies (and their WAL and spill folders) left by a crashed ingest.
    Call only while holding the ingest lock."""
    db_path = Path(db_path)
    removed = []
    for leftover in db_path.parent.glob(f"{db_path.name}{WORK_SUFFIX}*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def working_copy(db_path: str | Path) -> Path:
    """A private copy of the served database to load into (no file yet: a path to create)."""
    db_path = Path(db_path)
    work = db_path.with_name(f"{db_path.name}{WORK_SUFFIX}{os.getpid()}")
    for stale in (work, Path(f"{work}.wal")):
        stale.unlink(missing_ok=True)
    if db_path.exists():
        shutil.copyfile(db_path, work)
        wal = Path(f"{db_path}.wal")
        if wal.exists():  # a database last closed uncleanly: its WAL belongs with it
            shutil.copyfile(wal, f"{work}.wal")
    return work


def publish(work: Path, db_path: str | Path) -> None:
    """Make the loaded copy the served database, atomically and durably. The copy must be
    closed (DuckDB checkpoints on close, so it has no WAL left)."""
    db_path = Path(db_path)
    if Path(f"{work}.wal").exists():
        raise RuntimeError(f"{work}: still has a write-ahead log; close the connection before publishing")
    with open(work, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(work, db_path)
    Path(f"{db_path}.wal").unlink(missing_ok=True)  # belonged to the replaced file
    directory = os.open(db_path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def discard(work: Path) -> None:
    for leftover in (work, Path(f"{work}.wal")):
        leftover.unlink(missing_ok=True)
