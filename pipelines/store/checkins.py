"""Patient check-ins in the store: one-time codes and the answers given with them.

A clinician opens a check-in for one patient (`new_code`); the patient answers on a tablet and
the answers are saved with the code (`save_checkin`), in one transaction that also uses the
code up, so a code gives at most one check-in however many times the form is sent. Every
ingest reads all saved answers back as one more source (pipelines/readers/checkin_store.py),
so they are validated and scored like every export; `mark_published` records which run first
loaded them, and until then `unpublished` gives them to the Worklist directly (an item-9
answer must not wait for the next load).

Why codes are stored hashed: the code is the only thing a patient needs to reach the form, so a
copy of the store (a backup) must not hold usable codes; 128 random bits need no salt.
Times are UTC ISO 8601 text of one fixed shape (`utc_text`), so they compare as text.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .. import sql
from ..instruments import REGISTRY
from .connection import connect, create_tables, store_path, transaction

CODE_BYTES = 16  # 128 bits


@dataclass(frozen=True)
class ScaleAnswers:
    """One scale as the patient answered it: `items` in item order (extra questions after),
    None where not answered; `skipped` the item numbers (1-based) the patient chose to skip."""

    instrument: str
    items: tuple[int | None, ...]
    skipped: tuple[int, ...] = ()


@dataclass(frozen=True)
class StoredAnswers:
    """A saved scale of a check-in, as every ingest reads it."""

    id: int
    code_id: int
    patient_id: str
    instrument: str
    items: tuple[int | None, ...]
    skipped: tuple[int, ...]
    administered_at: str  # UTC, ISO 8601 with +00:00
    published_run: int | None


@dataclass(frozen=True)
class CodeCheck:
    """What a code opens: `status` is "open" (usable), "unknown", "expired" or "used"."""

    status: str
    patient_id: str | None = None
    expires_at: str | None = None
    code_id: int | None = None


class CodeRefused(Exception):
    """A check-in sent with a code that is unknown, expired or already used: nothing saved."""

    def __init__(self, check: CodeCheck):
        super().__init__(f"check-in code {check.status}")
        self.check = check


def safety_item_positive(answers: ScaleAnswers | StoredAnswers) -> bool:
    """Whether the scale's safety item (PHQ-9 item 9, instruments registry) is answered above 0."""
    scale = REGISTRY.get(answers.instrument)
    item = scale.safety_item if scale else None
    return item is not None and len(answers.items) >= item and (answers.items[item - 1] or 0) > 0


def utc_text(moment: dt.datetime | None = None) -> str:
    """`moment` (default now) as the store writes times: UTC, seconds, `+00:00`."""
    moment = moment or dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def normalise_code(code: str) -> str:
    """A code as typed or pasted: case, spaces and dashes ignored (`abcd-efgh` = `ABCDEFGH`)."""
    return re.sub(r"[^A-Z2-7]", "", (code or "").upper())


def code_sha256(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode("ascii")).hexdigest()


def open_store(db_path: str | Path) -> sqlite3.Connection:
    """A store connection with the check-in tables in place."""
    con = connect(db_path)
    create_tables(con, sql.read("store/checkins"))
    return con


def new_code(db_path: str | Path, patient_id: str, created_by: str, minutes: int,
             now: dt.datetime | None = None) -> tuple[str, str]:
    """Open a check-in for `patient_id`: a new one-time code (base32, in groups of four for
    reading aloud or typing) valid for `minutes`. Returns (code, expires_at UTC text)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").rstrip("=")
    code = "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))
    expires = utc_text(now + dt.timedelta(minutes=minutes))
    con = open_store(db_path)
    try:
        with transaction(con):
            con.execute("INSERT INTO checkin_codes (code_sha256, patient_id, created_by, created_at, expires_at) "
                        "VALUES (?, ?, ?, ?, ?)", [code_sha256(code), patient_id, created_by, utc_text(now), expires])
    finally:
        con.close()
    return code, expires


def _check(con: sqlite3.Connection, code: str, now: dt.datetime | None) -> CodeCheck:
    row = con.execute("SELECT id, patient_id, expires_at, used_at FROM checkin_codes WHERE code_sha256 = ?",
                      [code_sha256(code)]).fetchone()
    if row is None or not normalise_code(code):
        return CodeCheck("unknown")
    status = "used" if row["used_at"] else "expired" if row["expires_at"] <= utc_text(now) else "open"
    return CodeCheck(status, row["patient_id"], row["expires_at"], row["id"])


def check_code(db_path: str | Path, code: str, now: dt.datetime | None = None) -> CodeCheck:
    """What `code` opens now. Reading a code does not use it (a reload must not lock the
    patient out); saving a check-in does."""
    if not store_path(db_path).exists():
        return CodeCheck("unknown")
    con = open_store(db_path)
    try:
        return _check(con, code, now)
    finally:
        con.close()


def save_checkin(db_path: str | Path, code: str, answers: list[ScaleAnswers],
                 now: dt.datetime | None = None) -> list[int]:
    """Save a check-in's answers and use the code up, in one transaction: either every scale
    is saved and the code is used, or nothing is (CodeRefused when the code is not open).
    Returns the ids of the saved rows (one per scale)."""
    at = utc_text(now)
    con = open_store(db_path)
    try:
        with transaction(con):
            check = _check(con, code, now)
            if check.status != "open":
                raise CodeRefused(check)
            con.execute("UPDATE checkin_codes SET used_at = ? WHERE id = ? AND used_at IS NULL", [at, check.code_id])
            ids = []
            for scale in answers:
                cursor = con.execute(
                    "INSERT INTO checkin_answers (code_id, patient_id, instrument, items, skipped, administered_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [check.code_id, check.patient_id, scale.instrument, json.dumps(list(scale.items)),
                     json.dumps(sorted(scale.skipped)), at])
                ids.append(cursor.lastrowid)
            return ids
    finally:
        con.close()


def _stored(row: sqlite3.Row) -> StoredAnswers:
    return StoredAnswers(id=row["id"], code_id=row["code_id"], patient_id=row["patient_id"],
                         instrument=row["instrument"], items=tuple(json.loads(row["items"])),
                         skipped=tuple(json.loads(row["skipped"])), administered_at=row["administered_at"],
                         published_run=row["published_run"])


def read_answers(db_path: str | Path, unpublished_only: bool = False) -> list[StoredAnswers]:
    """Every saved scale of every check-in (or only those no ingest has loaded yet), by id.
    No store yet: none (and no store file is created)."""
    if not store_path(db_path).exists():
        return []
    con = open_store(db_path)
    try:
        where = "WHERE published_run IS NULL" if unpublished_only else ""
        return [_stored(row) for row in con.execute(f"SELECT * FROM checkin_answers {where} ORDER BY id")]
    finally:
        con.close()


def mark_published(db_path: str | Path, ids: list[int], run_id: int, now: dt.datetime | None = None) -> None:
    """Record that run `run_id`'s database (now served) holds the check-in rows `ids`; rows an
    earlier run already published keep their first run."""
    if not ids:
        return
    con = open_store(db_path)
    try:
        with transaction(con):
            con.executemany("UPDATE checkin_answers SET published_run = ?, published_at = ? "
                            "WHERE id = ? AND published_run IS NULL", [(run_id, utc_text(now), i) for i in ids])
    finally:
        con.close()
