"""Shared fixtures: tiny hand-made clinics written as real CSV exports and loaded into a
real DuckDB file through the real ingest."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from pipelines.formats import PATIENTS, SESSIONS
from pipelines.ingest import ingest
from pipelines.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
# The tests' clock: rows after this are "in the future".
NOW = dt.datetime(2026, 6, 1, 12, 0, 0)

ASSESSMENT_HEADER = ["assessment_id", "patient_id", "instrument", "administered_at", "session_id",
                     *[f"item_{n}" for n in range(1, 21)], "total"]


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return path


def patient(pid="001", birth_year=1980, sex="female", indication="depression", site="Northside",
            clinician="Dr. Okafor", intake="2025-01-02", contraindications=""):
    return {"patient_id": pid, "birth_year": birth_year, "sex": sex, "primary_indication": indication,
            "site": site, "clinician": clinician, "intake_date": intake, "contraindications": contraindications}


def session(sid, started, pid="001", route="iv", dose=35, weight=70, **vitals):
    row = {"session_id": sid, "patient_id": pid, "started_at": started, "route": route, "dose_mg": dose,
           "weight_kg": weight, "duration_min": 40, "clinician": "Dr. Okafor", "site": "Northside",
           "bp_pre_sys": 120, "bp_pre_dia": 80, "bp_peak_sys": 140, "bp_peak_dia": 88, "hr_pre": 72,
           "spo2_min": 97, "cadss_total": 12, "side_effects": "dissociation", "adverse_event": ""}
    row.update(vitals)
    return row


def assessment(aid, when, instrument="PHQ-9", items=(), total=None, pid="001", session_id=None):
    row = {"assessment_id": aid, "patient_id": pid, "instrument": instrument, "administered_at": when,
           "session_id": session_id, "total": total}
    for n, value in enumerate(items, start=1):
        row[f"item_{n}"] = value
    return row


def phq9_items(total: int, item9: int = 0) -> list[int]:
    """Nine PHQ-9 answers summing to `total` with item 9 as given (fills items 1-8 in order)."""
    rest = total - item9
    assert 0 <= rest <= 24
    items = [min(3, max(0, rest - 3 * k)) for k in range(8)]
    return [*items, item9]


class Clinic:
    """Writes a small clinic's three exports into a folder and ingests them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.db = folder / "outcomes.duckdb"
        self.patients: list[dict] = [patient()]
        self.sessions: list[dict] = []
        self.assessments: list[dict] = []

    def write(self) -> list[Path]:
        exports = self.folder / "exports"
        exports.mkdir(exist_ok=True)
        return [
            write_csv(exports / "patients.csv", list(PATIENTS.columns), self.patients),
            write_csv(exports / "sessions.csv", list(SESSIONS.columns), self.sessions),
            write_csv(exports / "assessments.csv", ASSESSMENT_HEADER, self.assessments),
        ]

    def load(self, settings: Settings | None = None):
        return ingest(self.db, self.write(), settings or Settings(), now=NOW)

    def query(self, sql: str, params=None):
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql, params or []).df()
        finally:
            con.close()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the loaded database, as the analytics use it."""
        return duckdb.connect(str(self.db), read_only=True)

    def rows(self, sql: str, params=None) -> list["Row"]:
        """Rows as plain Python values (NULL is None), with attribute access."""
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            cursor = con.execute(sql, params or [])
            names = [d[0] for d in cursor.description]
            return [Row(zip(names, values)) for values in cursor.fetchall()]
        finally:
            con.close()

    def one(self, sql: str, params=None) -> "Row":
        rows = self.rows(sql, params)
        assert len(rows) == 1, rows
        return rows[0]


def query(db: Path, sql: str) -> list[tuple]:
    """Rows of `sql` on the database file `db`, opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def only_row(frame):
    """The single row of a one-row result (an ungrouped summary)."""
    assert len(frame) == 1, frame
    return frame.iloc[0]


class Row(dict):
    __getattr__ = dict.__getitem__


@pytest.fixture(autouse=True, scope="session")
def own_config_folder(tmp_path_factory):
    """The audit log's key and head files (pipelines/audit.py) go to the user's config folder:
    in the tests, a folder of the test session's, never the machine's own ~/.config."""
    folder = tmp_path_factory.mktemp("config")
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = previous


@pytest.fixture
def clinic(tmp_path) -> Clinic:
    return Clinic(tmp_path)


@pytest.fixture(scope="session")
def sample_database(tmp_path_factory) -> Path:
    """The committed sample clinic, ingested once for the whole test session."""
    db = tmp_path_factory.mktemp("sample") / "outcomes.duckdb"
    ingest(db, [SAMPLE], Settings())
    return db


@pytest.fixture(scope="module")
def sample(sample_database):
    """A read-only connection to the sample database (property checks on realistic data)."""
    connection = duckdb.connect(str(sample_database), read_only=True)
    yield connection
    connection.close()


APP = REPO / "dashboard" / "app.py"


# The morning after the committed sample ends (its last infusion is on 30 Oct 2026): the day the
# pages are opened on in the tests, so what they show does not change with the calendar.
SAMPLE_TODAY = "2026-10-31"


def open_page(db: Path, page: str | None, monkeypatch, query: dict | None = None, timeout: float = 60,
              today: str = SAMPLE_TODAY):
    """The real dashboard (streamlit AppTest) serving `db`, run once on `page`
    ("views/patient.py"; None = the default page), with `query` as URL query parameters, on
    `today` at the clinic ($OUTCOMES_TODAY). Fails the test on an exception in the script."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OUTCOMES_DB", str(db))
    monkeypatch.setenv("OUTCOMES_TODAY", today)
    app = AppTest.from_file(str(APP), default_timeout=timeout)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory) -> Path:
    """An outcomes database with the schema and views but no rows (`outcomes init`)."""
    from pipelines.db import init_db

    db = tmp_path_factory.mktemp("empty") / "outcomes.duckdb"
    con = duckdb.connect(str(db))
    init_db(con, Settings())
    con.close()
    return db
