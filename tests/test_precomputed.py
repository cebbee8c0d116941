"""The ingest stores the outcome tables in the database file (pipelines/precomputed.py), they
equal the views row for row, and readers use them instead of computing: the first page after an
ingest waits for nothing (issue 18, "No visitor pays for an ingest")."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from conftest import SAMPLE, open_page
from pipelines import precomputed, precomputed_expected
from pipelines.analytics.snapshot import open_snapshot, opened_from
from pipelines.ingest import ingest
from pipelines.settings import Settings


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    db = tmp_path_factory.mktemp("precomputed") / "outcomes.duckdb"
    ingest(db, [SAMPLE], Settings())
    return db


def rows(con, relation: str) -> list[str]:
    """Every row of `relation`, as text, in a fixed order (the tables are sorted by patient
    only, so rows of one patient may come in any order)."""
    return sorted(map(repr, con.execute(f"SELECT * FROM {relation}").fetchall()))


def test_the_ingest_stores_every_outcome_table_equal_to_the_views(database):
    con = duckdb.connect(str(database), read_only=True)
    try:
        stored = {name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'precomputed'").fetchall()}
        assert stored == {*precomputed.TABLES, "about", *precomputed_expected.TABLES}  # + the expected course's
        for view in (*precomputed.SNAPSHOT_VIEWS, *precomputed.SNAPSHOT_ANALYTICS_VIEWS):
            expected = rows(con, f"main.{view}")  # the definition, computed now
            assert expected, view  # the sample has rows in every one: the comparison means something
            assert rows(con, f"precomputed.{view}") == expected, view
        assert rows(con, "precomputed.patient_assessments") == rows(
            con, "(SELECT patient_id, instrument, administered_at, assessment_key, items, total, complete "
                 "FROM assessments)")
        # sorted by patient, which the per-patient lookups rely on
        ids = [p for (p,) in con.execute("SELECT patient_id FROM precomputed.scores").fetchall()]
        assert ids == sorted(ids)
        assert con.execute("SELECT run_id, definitions FROM precomputed.about").fetchall() == [
            (con.execute("SELECT max(run_id) FROM ingest_runs").fetchone()[0], precomputed.definitions())]
    finally:
        con.close()


@pytest.mark.parametrize("in_file", [False, True], ids=["in memory", "with a store"])
def test_a_snapshot_uses_the_stored_tables_and_answers_as_a_computed_one(database, tmp_path, in_file):
    store = tmp_path / "snapshot.duckdb" if in_file else None
    snap = open_snapshot(database, store=store, memory_limit="256MB")
    computed = open_snapshot(database, use_stored=False)
    assert opened_from(snap) == "stored" and opened_from(computed) == "computed"
    if in_file:
        assert not store.exists(), "nothing is computed, so nothing is written"
    for table in precomputed.TABLES:
        assert rows(snap, table) == rows(computed, table), table
    # the analytics views built on them answer alike
    assert rows(snap, "nhs_paired_outcomes") == rows(computed, "nhs_paired_outcomes")


def change(db, statement: str) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(statement)
    finally:
        con.close()


@pytest.mark.parametrize("statement", [
    "DROP SCHEMA precomputed CASCADE",  # a database loaded by an older version
    "UPDATE precomputed.about SET definitions = 'other'",  # the views' SQL has changed since
    "UPDATE precomputed.about SET run_id = run_id - 1",  # stale: left by an earlier run
    "DROP TABLE precomputed.patient_assessments",  # incomplete
], ids=["none", "other definitions", "an earlier run", "one missing"])
def test_tables_that_are_not_current_are_computed_as_before(database, tmp_path, statement):
    db = tmp_path / "outcomes.duckdb"
    shutil.copy(database, db)
    change(db, statement)
    snap = open_snapshot(db, store=tmp_path / "snapshot.duckdb")
    assert opened_from(snap) == "computed"
    reference = open_snapshot(database, use_stored=False)
    assert rows(snap, "patient_outcomes") == rows(reference, "patient_outcomes")


def test_a_failed_computation_still_publishes_the_run(tmp_path, monkeypatch):
    def fail(con, run_id):
        raise duckdb.OutOfMemoryException("could not allocate block")

    monkeypatch.setattr(precomputed, "record", fail)  # after every batch, in the transaction
    messages = []
    db = tmp_path / "outcomes.duckdb"
    ingest(db, [SAMPLE], Settings(), progress=messages.append)
    assert any("were not stored" in m and "could not allocate" in m for m in messages)
    snap = open_snapshot(db)
    assert opened_from(snap) == "computed"
    assert snap.execute("SELECT count(*) FROM ingest_runs").fetchone()[0] == 1


def test_the_dashboard_opens_a_new_version_from_the_stored_tables(database, tmp_path, monkeypatch):
    from dashboard import data

    db = tmp_path / "outcomes.duckdb"
    shutil.copy(database, db)
    app = open_page(db, "views/worklist.py", monkeypatch)
    assert app.metric and app.metric[0].label == "Patients shown"
    snapshot = data._snapshot(str(db), data.file_version(str(db)))
    assert opened_from(snapshot.con) == "stored"
