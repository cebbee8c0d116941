"""Check-ins lose nothing (issue 17, "Writes that lose nothing"): several processes saving at
once, saving while an ingest runs, and a writer killed with `kill -9` mid-write leave every
committed check-in in the store exactly once (and nothing half-written), the store passes
SQLite's integrity check, and after the next ingest each check-in is in `assessments` once."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time

from pipelines.ingest import ingest
from pipelines.settings import Settings
from pipelines.store.checkins import ScaleAnswers, new_code, read_answers, save_checkin
from pipelines.store.connection import store_path
from conftest import REPO, patient

WRITERS, EACH = 4, 15


def writer(db, patient_id, n, *flags) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.checkin_writer", str(db), patient_id, str(n), *flags],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


def committed(process: subprocess.Popen) -> list[int]:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return [int(line) for line in out.split()]


def integrity(db) -> str:
    con = sqlite3.connect(store_path(db))
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def consistent(db) -> None:
    """Every used code has its check-in, and every check-in row its used code: one transaction each."""
    con = sqlite3.connect(store_path(db))
    try:
        orphans = con.execute("SELECT count(*) FROM checkin_answers a JOIN checkin_codes c ON c.id = a.code_id "
                              "WHERE c.used_at IS NULL").fetchone()[0]
        unused = con.execute("SELECT count(*) FROM checkin_codes c WHERE c.used_at IS NOT NULL AND NOT EXISTS "
                             "(SELECT 1 FROM checkin_answers a WHERE a.code_id = c.id)").fetchone()[0]
    finally:
        con.close()
    assert (orphans, unused) == (0, 0)


def in_assessments(clinic) -> list[int]:
    return [r.source_row for r in clinic.rows("SELECT source_row FROM assessments WHERE source_file = 'check-in' "
                                              "ORDER BY source_row")]


def test_several_processes_saving_at_once_lose_and_duplicate_nothing(clinic):
    clinic.patients = [patient(f"00{k}") for k in range(1, WRITERS + 1)]
    clinic.load()
    processes = [writer(clinic.db, f"00{k}", EACH) for k in range(1, WRITERS + 1)]
    ids = sorted(i for p in processes for i in committed(p))
    assert len(ids) == len(set(ids)) == WRITERS * EACH
    assert [a.id for a in read_answers(clinic.db)] == ids
    assert integrity(clinic.db) == "ok"
    consistent(clinic.db)
    ingest(clinic.db, [], Settings())
    repeat = ingest(clinic.db, clinic.write(), Settings())  # the next run reads them again: recognised, not added
    assert next(f for f in repeat.files if f.path == "check-in").unchanged == len(ids)
    assert in_assessments(clinic) == ids


def save_one_at_the_barrier(db, patient_id, barrier, results) -> None:
    """One check-in saved through the real store functions, started when every process is ready."""
    barrier.wait()
    try:
        code, _ = new_code(db, patient_id, "writer", minutes=30)
        results.put(save_checkin(db, code, [ScaleAnswers("GAD-7", (1, 1, 1, 1, 1, 1, 1))])[0])
    except Exception as error:  # reported to the test, which names it
        results.put(repr(error))


def test_processes_opening_a_new_store_at_the_same_moment_all_save(tmp_path):
    """The first saves into a store that does not exist yet race to create it and switch it to
    WAL; SQLite refuses a loser at once ("database is locked", without waiting in its busy
    handler: CI on 7 December 2026) unless the connection retries. Each round is a new store
    and eight processes released together (a few losers in 160 before the fix)."""
    fork = multiprocessing.get_context("fork")
    for round_ in range(20):
        db = tmp_path / f"round{round_}" / "outcomes.duckdb"
        barrier, results = fork.Barrier(8), fork.Queue()
        processes = [fork.Process(target=save_one_at_the_barrier, args=(db, f"00{k}", barrier, results))
                     for k in range(8)]
        for process in processes:
            process.start()
        saved = sorted((results.get(timeout=120) for _ in processes), key=str)
        for process in processes:
            process.join()
        assert saved == list(range(1, 9)), f"round {round_}: {saved}"
        assert integrity(db) == "ok"


def test_checkins_saved_while_an_ingest_runs_are_all_loaded_by_the_next_one(clinic):
    clinic.patients = [patient(f"{k:05d}") for k in range(3000)]  # an ingest that takes a while
    clinic.load()
    running = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ingest", str(clinic.folder / "exports"),
                                "--db", str(clinic.db), "--quiet"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(clinic.folder.glob("outcomes.duckdb.ingest-*")) and running.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert running.poll() is None, "the ingest ended before the check-ins could be saved during it"
    processes = [writer(clinic.db, f"{k:05d}", EACH) for k in range(2)]  # while it loads its copy
    ids = sorted(i for p in processes for i in committed(p))
    assert running.wait(timeout=600) == 0, running.stderr.read()
    ingest(clinic.db, [], Settings())
    assert in_assessments(clinic) == ids
    assert integrity(clinic.db) == "ok"


def test_a_writer_killed_mid_write_leaves_what_it_committed_and_nothing_half_written(clinic):
    clinic.load()
    held = writer(clinic.db, "001", 5, "--hold")
    lines = []
    deadline = time.monotonic() + 300
    while "HOLDING" not in lines and time.monotonic() < deadline:
        lines.append(held.stdout.readline().strip())
    assert "HOLDING" in lines, held.stderr.read()
    os.kill(held.pid, signal.SIGKILL)  # inside the transaction: its check-in was never committed
    held.wait()
    saved = [int(line) for line in lines if line.isdigit()]
    assert len(saved) == 5
    # A fresh writer killed at a random moment, several times: whatever it reported is there.
    for delay in (0.3, 0.7, 1.1):
        racing = writer(clinic.db, "001", 1000)
        time.sleep(delay)
        os.kill(racing.pid, signal.SIGKILL)
        out, _ = racing.communicate()
        saved += [int(line) for line in out.split()]
    stored = [a.id for a in read_answers(clinic.db)]
    assert integrity(clinic.db) == "ok"
    consistent(clinic.db)
    assert set(saved) <= set(stored)  # every reported commit survived the kill
    assert len(stored) - len(saved) <= 3  # at most one commit per kill not yet reported, none half-written
    assert all(a.items != (3, 3, 3, 3, 3, 3, 3) for a in read_answers(clinic.db))  # the held write is gone
    ingest(clinic.db, [], Settings())
    assert in_assessments(clinic) == stored
