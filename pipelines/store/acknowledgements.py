"""Acknowledgements of worklist alerts: who acted on which alert, how, and when.

Kept in the SQLite store beside the outcomes database (`store.connection`), never in the DuckDB
file: an ingest replaces that file by copy-and-swap, and an acknowledgement must outlive every
ingest. Rows are only ever added; a patient's alert history is the rows themselves.

The write and its audit entry (docs/access.md, "Acknowledgements"): the two live in different
files, so no single commit covers both. The order makes the one possible disagreement harmless
and visible:

1. `BEGIN IMMEDIATE` and INSERT the row (a bad row fails here, before anything is audited);
2. append the audit entry, which names the acknowledgement's id (a log that cannot be written
   raises, the transaction rolls back, and nothing is acknowledged: no unaudited write);
3. `COMMIT`.

So every committed acknowledgement has its audit entry. A crash between 2 and 3 leaves an audit
entry whose id is not in the store: an acknowledgement that was attempted but never committed,
whose clinician saw no confirmation. `reconcile` lists both kinds of difference; only that one
can happen.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines import audit, sql

from .connection import connect, create_tables, transaction

# What a clinician did about an alert: the one list the forms, the store and the docs use.
ACTIONS = ("safety assessment done", "plan changed", "contacted patient", "no action needed", "other")
AUDIT_ACTION = "acknowledge"
COLUMNS = ["ack_id", "patient_id", "reason", "event_key", "raised_at", "action", "note", "acknowledged_by", "role",
           "acknowledged_at"]
_AUDITED_ID = re.compile(r"^acknowledgement ([0-9a-f-]{36}):")


@dataclass(frozen=True)
class Acknowledgement:
    ack_id: str
    patient_id: str
    reason: str
    event_key: str
    raised_at: str | None  # when the event happened (clinic local time, ISO 8601), as the worklist gave it
    action: str
    note: str
    acknowledged_by: str
    role: str
    acknowledged_at: str  # UTC, ISO 8601


def open_store(db_path: str | Path):
    """A connection to the store of `db_path` with the acknowledgements table in place."""
    con = connect(db_path)
    create_tables(con, sql.read("store/acknowledgements"))
    return con


def record(db_path: str | Path, audit_log: str | Path, *, patient_id: str, reason: str, event_key: str,
           action: str, note: str, user: str, role: str, page: str,
           raised_at: dt.datetime | str | None = None, now: dt.datetime | None = None) -> Acknowledgement:
    """Record one acknowledgement and audit it, in the order the module docstring gives.

    Raises ValueError for an unknown action or an empty patient, reason, event or user (nothing
    is written), and OSError when the audit log cannot be written (nothing is committed)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of: {', '.join(ACTIONS)}")
    for name, value in (("patient", patient_id), ("reason", reason), ("event", event_key), ("user", user)):
        if not str(value or "").strip():
            raise ValueError(f"an acknowledgement needs a {name}")
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    raised = raised_at.isoformat(sep=" ", timespec="minutes") if isinstance(raised_at, dt.datetime) else raised_at
    ack = Acknowledgement(str(uuid.uuid4()), patient_id, reason, event_key, raised, action, (note or "").strip(), user,
                          role or "", when.isoformat(timespec="microseconds"))
    con = open_store(db_path)
    try:
        with transaction(con):
            con.execute(sql.read("store/acknowledgement_insert"),
                        [getattr(ack, column) for column in COLUMNS])
            audit.append(audit_log, user, role or "", AUDIT_ACTION, page, patient_id,
                         f"acknowledgement {ack.ack_id}: {reason} ({event_key}); {action}", now=when)
    finally:
        con.close()
    return ack


def _frame(db_path: str | Path, name: str, params: list) -> pd.DataFrame:
    con = open_store(db_path)
    try:
        rows = con.execute(sql.read(name), params).fetchall()
    finally:
        con.close()
    return pd.DataFrame([tuple(row) for row in rows], columns=COLUMNS, dtype=object)


def latest(db_path: str | Path) -> pd.DataFrame:
    """The latest acknowledgement of each (patient_id, reason, event_key): what closes an alert."""
    return _frame(db_path, "store/acknowledgements_latest", [])


def for_patient(db_path: str | Path, patient_id: str) -> pd.DataFrame:
    """Every acknowledgement of one patient's alerts, newest first (COLUMNS)."""
    return _frame(db_path, "store/acknowledgements_of_patient", [patient_id])


def all_rows(db_path: str | Path) -> pd.DataFrame:
    """Every acknowledgement, oldest first (COLUMNS)."""
    return _frame(db_path, "store/acknowledgements_all", [])


def version(db_path: str | Path) -> str:
    """A token that changes with every new acknowledgement (keys the worklist page's cache)."""
    con = open_store(db_path)
    try:
        [(token,)] = con.execute(sql.read("store/acknowledgements_version")).fetchall()
    finally:
        con.close()
    return token


def reconcile(db_path: str | Path, audit_log: str | Path) -> tuple[set[str], set[str]]:
    """Compare the store with the audit log: (ids in the store without an audit entry, ids
    audited but not in the store). The first must always be empty (the write order); the second
    holds acknowledgements interrupted between their audit entry and their commit."""
    entries, _verification = audit.read(audit_log)
    audited = {match.group(1) for entry in entries
               if entry.action == AUDIT_ACTION and (match := _AUDITED_ID.match(entry.detail or ""))}
    stored = set(all_rows(db_path)["ack_id"])
    return stored - audited, audited - stored
