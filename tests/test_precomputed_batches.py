"""A full computation of the stored outcome tables runs a batch of patients at a time
(pipelines/incremental.py, `refresh_full`), so its memory is one batch's at any clinic size:
the batches together give the views' rows exactly, sorted by patient without a final sort; and
stored tables stop being current when `outcomes init` changes the outcome settings (issue 18)."""

from __future__ import annotations

import math
import shutil

import duckdb
import pytest

from conftest import SAMPLE, assessment, patient, phq9_items, session
from pipelines import incremental, precomputed, sql
from pipelines.analytics.snapshot import open_snapshot, opened_from
from pipelines.db import init_db
from pipelines.ingest import ingest
from pipelines.settings import Settings


def differences(con, stored: str, computed: str) -> tuple[int, int]:
    """Rows of `stored` not in `computed` and the reverse, duplicates counted (EXCEPT ALL)."""
    return con.execute(f"SELECT (SELECT count(*) FROM (FROM {stored} EXCEPT ALL FROM {computed})), "
                       f"(SELECT count(*) FROM (FROM {computed} EXCEPT ALL FROM {stored}))").fetchone()


def test_a_full_computation_in_batches_of_7_patients_equals_the_views_sorted_by_patient(tmp_path, monkeypatch):
    monkeypatch.setattr(incremental, "BATCH_PATIENTS", 7)
    batches = []
    split = incremental._batches
    monkeypatch.setattr(incremental, "_batches", lambda con: batches.extend(split(con)) or batches)
    db = tmp_path / "outcomes.duckdb"
    ingest(db, [SAMPLE], Settings())
    con = duckdb.connect(str(db), read_only=True)
    try:
        (patients,) = con.execute("SELECT count(*) FROM patients").fetchone()
        assert len(batches) == math.ceil(patients / 7) > 1
        assert con.execute("SELECT refresh, reason FROM precomputed.about").fetchone() == (
            "full", "no stored tables to update")
        for table in (*precomputed.SNAPSHOT_VIEWS, *precomputed.SNAPSHOT_ANALYTICS_VIEWS):
            assert con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0] > 0, table
            assert differences(con, f"precomputed.{table}", f"main.{table}") == (0, 0), table
        assert differences(con, "precomputed.patient_assessments",
                           f"({sql.read(precomputed.PATIENT_ASSESSMENTS_QUERY)})") == (0, 0)
        for table in precomputed.TABLES:  # in stored (insertion) order
            ids = [p for (p,) in con.execute(f"SELECT patient_id FROM precomputed.{table}").fetchall()]
            assert ids == sorted(ids), table
        assert precomputed.current(con, "outcomes")
    finally:
        con.close()


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    db = tmp_path_factory.mktemp("batches") / "outcomes.duckdb"
    ingest(db, [SAMPLE], Settings())
    return db


@pytest.mark.parametrize("settings, is_current", [
    (Settings(), True),  # `outcomes init` again with the same settings
    (Settings(baseline_window_days=14), False),  # a new baseline window: every patient's baseline may move
])
def test_outcome_settings_changed_without_an_ingest_make_the_stored_tables_not_current(
        database, tmp_path, settings, is_current):
    db = tmp_path / "outcomes.duckdb"
    shutil.copy(database, db)
    con = duckdb.connect(str(db))
    try:
        init_db(con, settings)  # what `outcomes init` does (pipelines/cli/commands.py)
        assert precomputed.current(con, "outcomes") is is_current
    finally:
        con.close()
    snap = open_snapshot(db)
    assert opened_from(snap) == ("stored" if is_current else "computed")


@pytest.mark.parametrize("ids", [
    ["A'1", "B{view}", "C$high", "D''", "E}{work}", "F\\"],  # quotes, format braces, a parameter's name
    ["p-001", "p-002", "p-003", "p-004", "p-005", "p-006"],
])
def test_a_batchs_bounds_written_into_its_view_select_what_its_parameters_select(ids, monkeypatch):
    """A batch's rows of a stored table are read back through a view, where its bounds are
    written in as literals (`_literal_condition`): whatever the ids hold, the view's condition
    selects the rows its parameterised condition does."""
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE patients (patient_id VARCHAR)")
        con.executemany("INSERT INTO patients VALUES (?)", [[i] for i in ids])
        monkeypatch.setattr(incremental, "BATCH_PATIENTS", 2)
        batches = incremental._batches(con)
        assert len(batches) == 3
        seen = []
        for where, params in batches:
            expected = con.execute(f"SELECT patient_id FROM patients WHERE {where} ORDER BY 1", params).fetchall()
            literal = incremental._literal_condition(where, params)
            assert con.execute(f"SELECT patient_id FROM patients WHERE {literal} ORDER BY 1").fetchall() == expected
            seen += expected
        assert sorted(seen) == sorted((i,) for i in ids)  # every patient in exactly one batch
    finally:
        con.close()


def test_a_full_computation_in_batches_keeps_patients_whose_ids_hold_quotes_and_braces(clinic, monkeypatch):
    """The same through a whole ingest: patients whose ids hold quotes, braces and a parameter's
    name, in batches of 2, get their stored rows (an error there would leave no stored tables)."""
    monkeypatch.setattr(incremental, "BATCH_PATIENTS", 2)
    ids = ["A'1", "B{view}", "C$high", "D{source}", "E}{work}", "F\"x"]
    clinic.patients = [patient(pid=pid) for pid in ids]
    for number, pid in enumerate(ids):
        clinic.sessions += [session(f"s{number}-{k}", f"2025-02-{3 + 2 * k:02d} 09:00", pid=pid) for k in range(6)]
        clinic.assessments += [assessment(f"a{number}-0", "2025-02-03 08:30", items=phq9_items(20), pid=pid),
                               assessment(f"a{number}-1", "2025-02-14 08:30", items=phq9_items(8), pid=pid)]
    clinic.load()
    con = clinic.connect()
    try:
        assert precomputed.current(con, "outcomes")
        stored = [p for (p,) in con.execute("SELECT patient_id FROM precomputed.patient_outcomes").fetchall()]
        assert stored == sorted(ids)
        for table in (*precomputed.SNAPSHOT_VIEWS, *precomputed.SNAPSHOT_ANALYTICS_VIEWS):
            assert differences(con, f"precomputed.{table}", f"main.{table}") == (0, 0), table
    finally:
        con.close()
