"""The audit log: who looked at which patient's record, when, where, and what they did.

HIPAA's Security Rule asks for "audit controls" that record activity in systems holding
health information (45 CFR 164.312(b)); a clinic is asked "who opened this patient's
record?" and must be able to answer. So every view of one patient's record in the dashboard,
and every export, appends one entry here.

Why a file of JSON lines beside the database, and not a table in it: the dashboard opens the
database read-only and an ingest replaces it, and the log must outlive both. Why the app
cannot rewrite it unnoticed (docs/access.md, "What the audit log's protection covers"):

- the writer only ever opens the file with O_APPEND (every write lands at the end, whatever
  the offset), one `write` per entry, under an exclusive lock so concurrent sessions cannot
  interleave;
- each entry carries a keyed link to the entry before it, HMAC-SHA256(key, previous line), and
  its number `n` (its line number), so editing, deleting or reordering any past entry breaks
  the chain from there on, and nobody without the key can recompute the chain. The key is not
  kept beside the log: $OUTCOMES_AUDIT_KEY, `[audit] key` in .streamlit/secrets.toml, a key
  file named there, or (local single-user mode) a key generated once into the user's config
  folder (`audit_anchor.key_source`);
- after every entry the head (the number of entries and the link of the last one, signed with
  the key) is written to a head file outside the log's folder (`audit_anchor.head_path`), so removing the
  last entries, editing the last one, deleting the log or rewriting it is reported too. The
  entry is written first, then the head: a crash between the two leaves the head one entry
  behind, which verification accepts with a note and the next entry repairs. An append never
  moves a head that disagrees with the log: the evidence stays until an administrator has
  looked and re-anchors (`anchor`, `outcomes audit --reanchor`);
- entries written before the keyed chain (no `v` field; linked by plain SHA-256) still
  verify, as "unkeyed"; the first keyed entry links to the last of them; an unkeyed entry after
  a keyed one is reported (a downgrade);
- for a guarantee that holds against the app's own operating-system user as well, make the
  file append-only (`chattr +a`, root only) or ship it to a log server; docs/access.md says how.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

# The key and the head file are audit_anchor's; the CLI, the pages and the tests ask this module
# for them too (`audit.key_source`, `audit.head_path`, `audit.AuditKeyError`).
from .audit_anchor import (AuditKey, AuditKeyError, Head, config_dir, default_key_file, head_path, key_source,
                           read_head, write_head)

__all__ = ["ACTIONS", "GENESIS", "VERSION", "AuditEntry", "Verification", "append", "anchor", "audit_path", "read",
           "AuditKey", "AuditKeyError", "Head", "config_dir", "default_key_file", "head_path", "key_source"]

# checkin-code: staff opened a check-in; checkin-attempt: a check-in code was tried (its outcome in
# detail); checkin: a patient's answers were saved (docs/access.md, "Patient check-in").
ACTIONS = ("view", "export", "print", "checkin-code", "checkin-attempt", "checkin")
GENESIS = "0" * 64  # the "previous hash" of the first entry of an unkeyed (legacy) log
VERSION = 2  # entries with "v": 2 are keyed; entries without "v" are the legacy SHA-256 chain


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


# -- appending -----------------------------------------------------------------------------

def _digest(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def _parse(line: str) -> dict | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _keyed(record: dict | None) -> bool:
    return bool(record) and record.get("v") == VERSION


def append(path: str | Path, user: str, role: str, action: str, page: str,
           patient_id: str | None = None, detail: str | None = None,
           now: dt.datetime | None = None) -> AuditEntry:
    """Append one entry, then move the head to it, and return it. Raises ValueError for an
    unknown action and OSError when the log (or its key) cannot be written: a view that cannot
    be audited must not go ahead. Reads only the log's last two lines, whatever its size."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    entry = AuditEntry(at=when.isoformat(timespec="seconds"), user=user, role=role, action=action,
                       page=page, patient_id=patient_id, detail=detail)
    key = key_source(create=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head_file = head_path(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one writer at a time, so the chain has no forks
        before_last, last = _last_lines(path)
        record = _parse(last) if last is not None else None
        if last is None:
            number = 1
        elif _keyed(record) and isinstance(record.get("n"), int):
            number = record["n"] + 1
        else:  # the first keyed entry after legacy ones (or after a damaged line): count once
            number = _count_lines(path) + 1
        line = json.dumps({**asdict(entry), "v": VERSION, "n": number, "prev": key.link(last)},
                          ensure_ascii=False, sort_keys=True)
        agrees = _head_agrees(head_file, key, path, number - 1, before_last, last)
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
        if agrees:  # entry first, then head: a crash between leaves the head one behind
            write_head(head_file, Head(str(path.resolve()), number, key.link(line), key.fingerprint), key)
    finally:
        os.close(fd)  # closing releases the lock
    return entry


def _head_agrees(head_file: Path, key: AuditKey, path: Path, entries: int, before_last: str | None,
                 last: str | None) -> bool:
    """Whether the head describes the log as it is (or one entry behind, after a crash), so the
    append may move it. A head that disagrees is left as it is: it is the evidence."""
    head, problem = read_head(head_file, key)
    if problem:
        return False
    if head is None:  # no head yet: only a log without keyed entries, or with its first one
        return not _keyed(_parse(last) if last else None) or not _keyed(_parse(before_last) if before_last else None)
    if head.log != str(path.resolve()):
        return False
    return ((head.entries == entries and head.last == key.link(last))
            or (head.entries == entries - 1 and head.last == key.link(before_last)))


def _last_lines(path: Path) -> tuple[str | None, str | None]:
    """The last two lines (read from the end: the log grows for years); None where there is none."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        if end == 0:
            return None, None
        block, start = b"", end
        while start > 0 and block.rstrip(b"\n").count(b"\n") < 2:
            start = max(0, start - 4096)
            handle.seek(start)
            block = handle.read(end - start)
    lines = block.rstrip(b"\n").split(b"\n")
    if start > 0:
        lines = lines[1:]  # the first piece may be a partial line
    lines = [line.decode("utf-8") for line in lines[-2:]]
    return (None, lines[0]) if len(lines) == 1 else (lines[0], lines[1])


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def anchor(path: str | Path) -> Head:
    """Record the log's present end as its head, after an administrator has investigated a
    reported problem (`outcomes audit --reanchor`). Reads the whole log once."""
    path = Path(path)
    key = key_source(create=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _, last = _last_lines(path)
        head = Head(str(path.resolve()), _count_lines(path), key.link(last), key.fingerprint)
        write_head(head_path(path), head, key)
    finally:
        os.close(fd)
    return head


# -- reading and verifying -----------------------------------------------------------------

@dataclass(frozen=True)
class Verification:
    entries: int
    ok: bool
    problem: str | None = None  # the first line where the chain breaks, and why
    keyed: bool = False  # the log has keyed entries (HMAC chain and head)
    legacy: int = 0  # entries before the keyed chain (plain SHA-256), lines 1..legacy
    protection: str = ""  # which protection is in force, in words
    note: str | None = None  # something to know that is not tampering (a head one entry behind)


def read(path: str | Path) -> tuple[list[AuditEntry], Verification]:
    """Every entry, oldest first, and whether the log is as written: no entry edited, removed
    or reordered (the chain), nothing removed from its end and the log neither deleted nor
    rewritten (the head). A missing file is an empty log, unless its head says otherwise."""
    path = Path(path)
    key = key_source(create=False)
    head_file = head_path(path)
    entries: list[AuditEntry] = []
    problem = None
    legacy = keyed = 0
    previous: str | None = None
    lines = 0
    last_links = [key.link(None) if key else None]  # the links of the last two lines
    if path.exists():
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.rstrip("\n")
                lines = number
                record = _parse(line)
                try:
                    chained = record.pop("prev")
                    version = record.pop("v", None)
                    sequence = record.pop("n", None)
                    entry = AuditEntry(**record)
                except (AttributeError, KeyError, TypeError):
                    problem = problem or f"line {number} is not an audit entry"
                    entry = None
                if entry is not None:
                    if version is None:
                        legacy += 1
                        if keyed and problem is None:
                            problem = (f"line {number} is an unkeyed entry after keyed ones (entries were "
                                       f"rewritten without the key)")
                        elif chained != (GENESIS if previous is None else _digest(previous)) and problem is None:
                            problem = (f"line {number}: the chain is broken (an entry before it was changed, "
                                       f"removed or reordered)")
                    elif version == VERSION:
                        keyed += 1
                        if key is None and problem is None:
                            problem = "there is no audit key to check the keyed entries with"
                        elif sequence != number and problem is None:
                            problem = (f"line {number} is entry {sequence}: entries before it were removed or "
                                       f"added")
                        elif problem is None and not hmac.compare_digest(str(chained), last_links[-1]):
                            problem = (f"line {number}: the chain is broken (an entry before it was changed, "
                                       f"removed or reordered, or the log was rewritten without the key)")
                    else:
                        problem = problem or f"line {number} has an unknown version {version!r}"
                    entries.append(entry)
                if key:
                    last_links = [last_links[-1], key.link(line)]
                previous = line
    head, head_problem = read_head(head_file, key)
    note = None
    if problem is None:
        problem, note = _compare_head(head, head_problem, head_file, path, lines, keyed, last_links)
    if keyed or head is not None:
        where = ("no key found" if key is None else f"{key.source}, generated on this computer because no key is "
                 f"configured" if key.generated else key.source)
        protection = (f"keyed chain (HMAC-SHA256, {where}), head in {head_file}"
                      + (f"; lines 1-{legacy} are older unkeyed entries (SHA-256 chain)" if legacy else ""))
    elif legacy:
        protection = (f"unkeyed: a SHA-256 chain only (entries written before the keyed chain); nothing anchors "
                      f"its end until the next entry is written")
    else:
        protection = "empty log"
    return entries, Verification(len(entries), problem is None, problem, keyed > 0, legacy, protection, note)


def _compare_head(head: Head | None, head_problem: str | None, head_file: Path, path: Path, lines: int,
                  keyed: int, last_links: list) -> tuple[str | None, str | None]:
    """What the head says about the log's end: (problem, note)."""
    if head_problem:
        return head_problem, None
    if head is None:
        if keyed > 1:
            return (f"the log has keyed entries but there is no head file at {head_file}: the head was deleted, "
                    f"or the log was moved (after investigating: outcomes audit --reanchor)"), None
        if keyed == 1:
            return None, "the first keyed entry's head was not written (a crash between the two writes)"
        return None, None
    if head.log != str(path.resolve()):
        return f"the head file {head_file} belongs to another log ({head.log})", None
    if lines == 0 and head.entries > 0:
        return (f"the log is missing or empty, but its head records {head.entries} entries: the log was deleted "
                f"or emptied"), None
    if head.entries > lines:
        removed = head.entries - lines
        return (f"the head records {head.entries} entries but the log has {lines}: "
                + ("the last entry was removed" if removed == 1 else f"the last {removed} entries were removed")
                + " (or the log was replaced by an older copy)"), None
    if head.entries == lines:
        if head.last != last_links[-1]:
            return (f"the last entry (line {lines}) differs from the one the head recorded: it was edited, or the "
                    f"log was rewritten"), None
        return None, None
    if head.entries == lines - 1 and head.last == last_links[0]:
        return None, (f"the head records {head.entries} entries and the log has {lines}: the last entry was written "
                      f"but the head not yet moved (a crash between the two writes); the next entry moves it")
    return (f"the head records {head.entries} entries, which do not match the log's {lines}: the log was rewritten, "
            f"or the head rolled back"), None
