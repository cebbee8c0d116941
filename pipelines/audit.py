"""The audit log: who looked at which patient's record, when, where, and what they did.

HIPAA's Security Rule asks for "audit controls" that record activity in systems holding
health information (45 CFR 164.312(b)); a clinic is asked "who opened this patient's
record?" and must be able to answer. So every view of one patient's record in the dashboard,
and every export, appends one entry here.

Why a file of JSON lines beside the database, and not a table in it: the dashboard opens the
database read-only and an ingest replaces it, and the log must outlive both. Why the app
cannot rewrite it:

- the writer only ever opens the file with O_APPEND (every write lands at the end, whatever
  the offset), one `write` per entry, under an exclusive lock so concurrent sessions cannot
  interleave;
- each entry carries the SHA-256 of the entry before it (a hash chain), so editing, deleting
  or reordering any past entry breaks the chain from there on, and `outcomes audit --verify`
  (and the admin page) says where;
- for a guarantee that holds against the app's own operating-system user as well, make the
  file append-only (`chattr +a`, root only) or ship it to a log server; docs/access.md says how.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ACTIONS = ("view", "export", "print")
GENESIS = "0" * 64  # the "previous hash" of the first entry


@dataclass(frozen=True)
class AuditEntry:
    at: str  # UTC, ISO 8601 with seconds
    user: str
    role: str
    action: str  # one of ACTIONS
    page: str
    patient_id: str | None = None
    detail: str | None = None  # e.g. the tab viewed, or the export's format and destination


def audit_path(db_path: str | Path, configured: str = "") -> Path:
    """Where the log lives: $OUTCOMES_AUDIT_LOG, else the [access] audit_log setting, else
    `audit.log` in the database's folder (so every database has its own, next to it)."""
    chosen = os.environ.get("OUTCOMES_AUDIT_LOG") or configured
    return Path(chosen) if chosen else Path(db_path).parent / "audit.log"


def _digest(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def append(path: str | Path, user: str, role: str, action: str, page: str,
           patient_id: str | None = None, detail: str | None = None,
           now: dt.datetime | None = None) -> AuditEntry:
    """Append one entry and return it. Raises ValueError for an unknown action and OSError
    when the log cannot be written: a view that cannot be audited must not go ahead."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    entry = AuditEntry(at=when.isoformat(timespec="seconds"), user=user, role=role, action=action,
                       page=page, patient_id=patient_id, detail=detail)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one writer at a time, so the chain has no forks
        previous = _last_hash(path)
        line = json.dumps({**asdict(entry), "prev": previous}, ensure_ascii=False, sort_keys=True)
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return entry


def _last_hash(path: Path) -> str:
    """The hash of the last line (read from the end: the log grows for years)."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        if end == 0:
            return GENESIS
        block, start = b"", end
        while start > 0 and block.count(b"\n") < 2:
            start = max(0, start - 4096)
            handle.seek(start)
            block = handle.read(end - start)
    last = block.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return _digest(last.decode("utf-8"))


@dataclass(frozen=True)
class Verification:
    entries: int
    ok: bool
    problem: str | None = None  # the first line where the chain breaks, and why


def read(path: str | Path) -> tuple[list[AuditEntry], Verification]:
    """Every entry, oldest first, and whether the hash chain holds (no entry edited, removed
    or reordered). A missing file is an empty log."""
    path = Path(path)
    if not path.exists():
        return [], Verification(0, True)
    entries: list[AuditEntry] = []
    problem = None
    previous = GENESIS
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            try:
                record = json.loads(line)
                chained = record.pop("prev")
                entry = AuditEntry(**record)
            except (ValueError, KeyError, TypeError):
                problem = problem or f"line {number} is not an audit entry"
                previous = _digest(line)
                continue
            if chained != previous and problem is None:
                problem = f"line {number}: the chain is broken (an entry before it was changed, removed or reordered)"
            entries.append(entry)
            previous = _digest(line)
    return entries, Verification(len(entries), problem is None, problem)
