"""The dashboard keeps answering while `outcomes ingest` loads the same database in another
process, never shows a half-loaded state, and shows the new data once the load is done,
without a restart; a `kill -9` of an ingest at any point leaves the served database intact
and the next ingest succeeds (pipelines/publish.py: copy-and-swap)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.data import settings as cached_settings

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
    """Row counts and a content checksum of every data table: equal means the same data."""
    with duckdb.connect(str(db), read_only=True) as con:
        return tuple(con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {table} AS t").fetchone()
                     for table in ("patients", "sessions", "assessments", "quarantine", "ingest_runs"))


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
    cached_settings.clear()

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
    db = tmp_path / "outcomes.duckdb"
    load(db, exports["first"])
    before = fingerprint(db)
    killed_at = []
    for delay in (0.2, 0.8, 1.5, 2.5, 3.5):  # interpreter start, copy, parse, validate, merge
        ingest = outcomes("ingest", str(exports["nightly"]), "--db", str(db), "--quiet")
        time.sleep(delay)
        if ingest.poll() is not None:
            break  # the load finished before this kill: later points are past the end
        os.kill(ingest.pid, signal.SIGKILL)
        ingest.wait()
        killed_at.append(delay)
        assert fingerprint(db) == before, f"killed after {delay} s, the served database changed"
    assert len(killed_at) >= 3, f"too few kills landed inside a run: {killed_at}"
    load(db, exports["nightly"])
    after = fingerprint(db)
    assert after != before and after[0][0] >= LARGE
    assert not list(tmp_path.glob("outcomes.duckdb.ingest-*")), "the crashed runs' copies were cleaned up"
