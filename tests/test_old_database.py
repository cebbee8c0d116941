"""After an upgrade, a database last loaded by the previous version still answers, read-only,
until the next ingest adds the columns this version reads (db.shadow_missing_columns).

The "old" database is the sample loaded by this version with the columns added since dropped:
exactly the shape the previous version wrote."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from conftest import open_page
from pipelines.analytics import activity, coverage, ingest_log
from pipelines.analytics.snapshot import open_snapshot
from pipelines.cli import main
from pipelines.db import ADDED_COLUMNS, ADDED_REFERENCE_COLUMNS
from pipelines.settings import Settings


@pytest.fixture(scope="module")
def old_database(sample_database, tmp_path_factory):
    db = tmp_path_factory.mktemp("old") / "outcomes.duckdb"
    shutil.copy(sample_database, db)
    con = duckdb.connect(str(db))
    con.execute("DROP SCHEMA IF EXISTS precomputed CASCADE")  # stored by this version's ingest only
    for table, column, _ in (*ADDED_COLUMNS, *ADDED_REFERENCE_COLUMNS):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.close()
    return db


def test_the_analytics_answer_on_a_database_of_the_previous_version(old_database):
    con = open_snapshot(old_database)
    runs = ingest_log.ingest_runs(con)
    assert len(runs) == 1 and runs.deleted.tolist() == [0] and runs.balanced.all()
    assert len(ingest_log.updated_records(con)) == 0
    assert set(coverage.baseline_coverage(con)["instrument"]) >= {"PHQ-9"}
    assert "PHQ-9" in activity.scales_with_data(con, Settings())["instrument"].tolist()


def test_outcomes_runs_answers_on_a_database_of_the_previous_version(old_database, capsys):
    assert main(["runs", "--db", str(old_database)]) == 0
    assert "6348" in capsys.readouterr().out.replace(",", "")


def test_the_data_quality_page_opens_on_a_database_of_the_previous_version(old_database, monkeypatch):
    app = open_page(old_database, "views/data_quality.py", monkeypatch)
    assert not app.exception and app.metric
