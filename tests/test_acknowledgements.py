"""The acknowledgements store (pipelines/store/acknowledgements.py): a record with its audit
entry, history per patient, and writes that lose nothing: through every ingest (copy-and-swap
included), from several processes at once, across a `kill -9` mid-write, and while an ingest
runs. Real parts only: the SQLite file, the audit log, the ingest, other processes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, Clinic, assessment, phq9_items, session
from pipelines import audit
from pipelines.analytics.alerts import acknowledged_alerts, alert_events, open_worklist, raised_alerts
from pipelines.analytics.worklist import worklist
from pipelines.settings import Settings
from pipelines.store import acknowledgements as acks
from pipelines.store.connection import store_path

WRITER = Path(__file__).with_name("ack_writer.py")
SETTINGS = Settings()


def child_env() -> dict:
    """The children import this worktree's pipelines and use the test session's audit key."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def writer(db: Path, log: Path, name: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WRITER), str(db), str(log), name, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())


def ack(db, log, patient_id="001", reason="item9_positive", event_key="PHQ-9 A1", action="contacted patient",
        note="called, safe, plan agreed", page="patient"):
    return acks.record(db, log, patient_id=patient_id, reason=reason, event_key=event_key, action=action, note=note,
                       user="dr.okafor@clinic.example", role="clinician", page=page,
                       raised_at=dt.datetime(2026, 5, 20, 8, 30))


def integrity(db: Path) -> str:
    con = sqlite3.connect(store_path(db))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


# --- one acknowledgement ----------------------------------------------------------------

def test_a_record_is_stored_with_who_when_and_what_and_audited(tmp_path):
    db, log = tmp_path / "outcomes.duckdb", tmp_path / "audit.log"
    first = ack(db, log)
    second = ack(db, log, action="safety assessment done", note="")
    ack(db, log, patient_id="002", event_key="PHQ-9 B1")
    rows = acks.for_patient(db, "001")
    assert rows["ack_id"].tolist() == [second.ack_id, first.ack_id]  # newest first
    assert rows.iloc[1][["reason", "event_key", "raised_at", "action", "note", "acknowledged_by", "role"]].tolist() == [
        "item9_positive", "PHQ-9 A1", "2026-05-20 08:30", "contacted patient", "called, safe, plan agreed",
        "dr.okafor@clinic.example", "clinician"]
    assert rows.iloc[1]["acknowledged_at"].endswith("+00:00")  # UTC
    # the latest of each alert closes it: the second of 001's, and 002's
    latest = acks.latest(db).set_index("patient_id")
    assert latest.loc["001", "ack_id"] == second.ack_id and len(latest) == 2
    entries, verification = audit.read(log)
    assert verification.ok
    assert [(e.action, e.patient_id, e.user, e.page) for e in entries] == [
        ("acknowledge", "001", "dr.okafor@clinic.example", "patient")] * 2 + [
        ("acknowledge", "002", "dr.okafor@clinic.example", "patient")]
    assert entries[0].detail == (f"acknowledgement {first.ack_id}: item9_positive (PHQ-9 A1); contacted patient")
    assert acks.reconcile(db, log) == (set(), set())


def test_an_unknown_action_or_a_missing_field_writes_nothing(tmp_path):
    db, log = tmp_path / "outcomes.duckdb", tmp_path / "audit.log"
    with pytest.raises(ValueError, match="unknown action 'fixed it'; one of: safety assessment done"):
        ack(db, log, action="fixed it")
    with pytest.raises(ValueError, match="needs a event"):
        ack(db, log, event_key=" ")
    assert acks.all_rows(db).empty and not log.exists()


def test_an_audit_log_that_cannot_be_written_rolls_the_acknowledgement_back(tmp_path):
    db = tmp_path / "outcomes.duckdb"
    blocked = tmp_path / "not-a-file"
    blocked.mkdir()  # a folder where the log should be: the append fails
    with pytest.raises(OSError):
        ack(db, blocked)
    assert acks.all_rows(db).empty


# --- through the ingest ----------------------------------------------------------------------

def phq9(aid, when, item9):
    return assessment(aid, when, "PHQ-9", phq9_items(12, item9))


def test_acknowledgements_survive_every_ingest_and_a_new_event_reopens_the_alert(tmp_path):
    """Patient 001: infusions 1-3 May 2026, PHQ-9 before each, item 9 = 1 at the latest (A3):
    one alert, item 9 positive, event "PHQ-9 A3". Acknowledged, it stays closed through two more
    ingests (each a copy-and-swap of the DuckDB file); a new PHQ-9 with item 9 = 2 (A4) raises it
    again."""
    clinic = Clinic(tmp_path)
    clinic.sessions = [session(f"S{n}", f"2026-05-0{n}T09:00:00") for n in (1, 2, 3)]
    clinic.assessments = [phq9(f"A{n}", f"2026-05-0{n}T08:30:00", 1 if n == 3 else 0) for n in (1, 2, 3)]
    clinic.load()
    log = tmp_path / "audit.log"

    def alerts():
        con = clinic.connect()
        try:
            frame = worklist(con, SETTINGS)
            events = alert_events(con, SETTINGS)
        finally:
            con.close()
        alerts = acknowledged_alerts(raised_alerts(frame, events), acks.latest(clinic.db))
        return alerts[alerts["reason"] == "item9_positive"], open_worklist(frame, alerts)

    item9, listed = alerts()
    assert item9["event_key"].tolist() == ["PHQ-9 A3"] and not item9["acknowledged"].any()
    assert listed.iloc[0]["item9_positive"]
    ack(clinic.db, log, event_key="PHQ-9 A3", action="safety assessment done")

    for _ in range(2):
        inode = clinic.db.stat().st_ino
        clinic.load()
        assert clinic.db.stat().st_ino != inode  # the DuckDB file was swapped
        item9, listed = alerts()
        assert item9["acknowledged"].tolist() == [True] and item9["action"].tolist() == ["safety assessment done"]
        assert not listed["item9_positive"].any()

    clinic.sessions.append(session("S4", "2026-05-04T09:00:00"))
    clinic.assessments.append(phq9("A4", "2026-05-04T08:30:00", 2))
    clinic.load()
    item9, listed = alerts()
    assert item9["event_key"].tolist() == ["PHQ-9 A4"] and not item9["acknowledged"].any()
    assert listed.iloc[0]["patient_id"] == "001" and listed.iloc[0]["item9_positive"]
    assert len(acks.for_patient(clinic.db, "001")) == 1  # the history keeps the first one


# --- writes that lose nothing ----------------------------------------------------------------

def test_eight_writers_at_once_lose_nothing_and_duplicate_nothing(tmp_path):
    db, log = tmp_path / "outcomes.duckdb", tmp_path / "audit.log"
    acks.open_store(db).close()
    writers = [writer(db, log, f"W{n}", 50) for n in range(8)]
    reported = []
    for process in writers:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        reported += out.split()
    rows = acks.all_rows(db)
    assert len(reported) == len(set(reported)) == 400
    assert sorted(rows["ack_id"]) == sorted(reported)  # each reported write once, nothing else
    assert rows.groupby("acknowledged_by").size().tolist() == [50] * 8
    assert len(set(zip(rows["acknowledged_by"], rows["note"]))) == 400  # every write its own row
    assert integrity(db) == "ok"
    entries, verification = audit.read(log)
    assert verification.ok and len(entries) == 400  # the audit chain has no fork
    assert acks.reconcile(db, log) == (set(), set())


def test_kill_9_mid_write_loses_no_committed_row_and_leaves_no_partial_one(tmp_path):
    """Three times: a writer that never pauses between writes is killed after a different
    number of them, so the kill lands mid-write (in the insert, the audit append or the commit)."""
    db, log = tmp_path / "outcomes.duckdb", tmp_path / "audit.log"
    acks.open_store(db).close()
    reported = []
    for round_, wanted in enumerate((11, 23, 37)):
        process = writer(db, log, f"K{round_}", 0)  # writes until killed
        seen = 0
        deadline = time.monotonic() + 120
        while seen < wanted and time.monotonic() < deadline:
            reported.append(process.stdout.readline().strip())
            seen += 1
        process.send_signal(signal.SIGKILL)
        rest, _ = process.communicate(timeout=60)
        reported += rest.split()
        assert process.returncode == -signal.SIGKILL and seen == wanted
        assert integrity(db) == "ok"
    rows = acks.all_rows(db)
    assert set(reported) <= set(rows["ack_id"])  # every committed write is there
    assert len(rows) - len(reported) <= 3  # at most the one per kill committed as it was killed
    assert rows.notna().all().all() and (rows[["ack_id", "patient_id", "event_key", "action"]] != "").all().all()
    unaudited, uncommitted = acks.reconcile(db, log)
    assert unaudited == set() and len(uncommitted) <= 3  # the write order of the module docstring
    ack(db, log)  # the store takes writes again
    assert len(acks.all_rows(db)) == len(rows) + 1


def test_writes_while_an_ingest_runs(tmp_path):
    """An ingest of the sample clinic in another process (copy-and-swap of the DuckDB file) while
    this one writes: every write lands, none waits for the ingest, and the ingest completes."""
    db, log = tmp_path / "outcomes.duckdb", tmp_path / "audit.log"
    ingest = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ingest", str(REPO / "data" / "sample"),
                               "--db", str(db), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=child_env())
    written, during = [], 0
    while ingest.poll() is None or len(written) < 5:
        written.append(ack(db, log, event_key=f"PHQ-9 during-{len(written)}").ack_id)
        during += ingest.poll() is None
    out, err = ingest.communicate(timeout=600)
    assert ingest.returncode == 0, err
    assert during >= 3, "the ingest finished before the writes began"
    assert sorted(acks.all_rows(db)["ack_id"]) == sorted(written)
    assert db.exists() and integrity(db) == "ok"


def test_the_data_dictionary_lists_the_store_table_column_by_column(tmp_path):
    from test_docs import documented_columns

    con = acks.open_store(tmp_path / "outcomes.duckdb")
    try:
        actual = [row["name"] for row in con.execute("PRAGMA table_info(acknowledgements)").fetchall()]
    finally:
        con.close()
    assert documented_columns()["acknowledgements"] == actual == acks.COLUMNS
