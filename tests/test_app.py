"""The dashboard's status page, run as a real Streamlit script with AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from conftest import REPO, SAMPLE
from pipelines.ingest import ingest
from pipelines.settings import Settings

APP = str(REPO / "dashboard" / "app.py")


def run_app(db, monkeypatch) -> AppTest:
    monkeypatch.setenv("OUTCOMES_DB", str(db))
    app = AppTest.from_file(APP, default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def test_status_page_shows_counts_and_latest_run(tmp_path, monkeypatch):
    db = tmp_path / "o.duckdb"
    run = ingest(db, [SAMPLE], Settings())
    app = run_app(db, monkeypatch)
    counts = app.dataframe[0].value
    patients = counts.loc[counts["what"] == "Patients", "rows"].item()
    assert patients == 300
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Inserted"] == f"{run.totals.inserted:,}"
    assert metrics["Quarantined"] == "0"


def test_status_page_without_a_database_says_how_to_load_one(tmp_path, monkeypatch):
    app = run_app(tmp_path / "missing.duckdb", monkeypatch)
    assert "outcomes ingest" in app.info[0].value
