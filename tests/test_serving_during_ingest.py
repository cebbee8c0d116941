"""The dashboard keeps answering while `outcomes ingest` loads the same database in another
process, never shows a half-loaded state, and shows the new data once the load is done,
without a restart; a `kill -9` of an ingest at any point leaves the served database intact
and the next ingest succeeds (pipelines/publish.py: copy-and-swap)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest


APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
SMALL, LARGE = 300, 2500  # patients in the first load and in the nightly one


def outcomes(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """Two synthetic clinics: the nightly export is bigger (ids overlap: updates and inserts)."""
    root = tmp_path_factory.mktemp("exports")
    folders = {}
    for name, patients in (("first", SMALL), ("nightly", LARGE)):
        folders[name] = root / name
        synth = outcomes("synth", "--patients", str(patients), "--seed", "5", "--out", str(folders[name]))
        assert synth.wait(timeout=300) == 0, synth.stderr.read()
    return folders


def load(db: Path, folder: Path) -> None:
    run = outcomes("ingest", str(folder), "--db", str(db), "--quiet")
    assert run.wait(timeout=300) == 0, run.stderr.read()


def fingerprint(db: Path) -> tuple:
    """Row counts and a content checksum of every data table, and the number of runs
    (their timestamps differ between two loads of the same files): equal means the same data."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = tuple(con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} AS t").fetchone()
                       for table in ("patients", "sessions", "assessments", "quarantine"))
        return (*tables, con.execute("SELECT count(*) FROM ingest_runs").fetchone())


def patients_shown(app: AppTest) -> int:
    """The patients count on the Data quality page ("What the database holds")."""
    for frame in app.dataframe:
        table = frame.value
        if {"what", "rows"} <= set(table.columns):
            return int(table.loc[table["what"].str.lower().str.startswith("patients"), "rows"].iloc[0])
    raise AssertionError("no table counts on the page")


def test_the_dashboard_answers_during_a_nightly_ingest_and_then_shows_the_new_data(exports, tmp_path, monkeypatch):
    db = tmp_path / "outcomes.duckdb"
    load(db, exports["first"])
    monkeypatch.setenv("OUTCOMES_DB", str(db))
    monkeypatch.setenv("OUTCOMES_AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.delenv("OUTCOMES_CONFIG", raising=False)

    def request() -> int:
        app = AppTest.from_file(str(APP), default_timeout=120)
        app.run()
        app.switch_page("views/data_quality.py")
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        assert not app.error, [e.value for e in app.error]
        return patients_shown(app)

    assert request() == SMALL  # the app is up, with the first load's snapshot open
    nightly = outcomes("ingest", str(exports["nightly"]), "--db", str(db), "--quiet")
    during = []
    while nightly.poll() is None:
        during.append(request())
    assert nightly.returncode == 0, nightly.stderr.read()
    loaded = fingerprint(db)[0][0]  # patients after the nightly load (ids of both exports)
    assert loaded >= LARGE
    assert during, "the ingest finished before any request was made: make the nightly load bigger"
    assert set(during) <= {SMALL, loaded}, f"a request saw a half-loaded database: {during}"
    assert request() == loaded, "the new data is shown after the load, without a restart"


def test_kill_9_at_any_point_leaves_the_served_database_intact_and_the_next_ingest_succeeds(exports, tmp_path):
    """Killed at points through a run, the served file is the one before the run, or (a kill
    that lands after the swap, while the process exits) the one a complete run gives: never a
    mix. Each attempt starts from the same database."""
    pristine = tmp_path / "pristine.duckdb"
    load(pristine, exports["first"])
    complete = tmp_path / "complete.duckdb"
    shutil.copyfile(pristine, complete)
    clock = time.perf_counter()
    load(complete, exports["nightly"])
    duration = time.perf_counter() - clock  # kill points are fractions of a whole run, on any machine
    before, after = fingerprint(pristine), fingerprint(complete)
    assert before != after

    db = tmp_path / "outcomes.duckdb"
    mid_run = []
    for delay in (duration * f for f in (0.1, 0.3, 0.5, 0.7, 0.85)):  # start, copy, parse, validate, merge
        shutil.copyfile(pristine, db)
        ingest = outcomes("ingest", str(exports["nightly"]), "--db", str(db), "--quiet")
        time.sleep(delay)
        if ingest.poll() is not None:  # finished before this kill: later points are past its end,
            assert ingest.returncode == 0  # and this run was the next ingest after the kills
            break
        os.kill(ingest.pid, signal.SIGKILL)
        ingest.wait()
        state = fingerprint(db)
        assert state in (before, after), f"killed after {delay:.1f} s, the served database is neither before nor after"
        if state == before:
            mid_run.append(delay)
    assert len(mid_run) >= 3, f"too few kills landed inside a run: {mid_run}"
    if ingest.returncode != 0:  # the last point was killed: run the next ingest now (load checks it succeeds)
        load(db, exports["nightly"])
    assert fingerprint(db)[:4] == after[:4], "after the kills, the next ingest loads everything"
    assert not list(tmp_path.glob("outcomes.duckdb.ingest-*")), "the killed runs' copies were cleaned up"
