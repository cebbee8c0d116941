"""The ingest stores the expected-course references (pipelines/precomputed_expected.py) and
`analytics.expected` serves from them what it would compute: the same frames, row for row, on
the hand-worked clinic of test_analytics_expected.py and on the sample; other thresholds than the
ingest's fall back to computing; and a dashboard opening a version with stored references
computes nothing clinic-wide (issue 18: "No visitor pays for an ingest")."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from conftest import SAMPLE, open_page
from pipelines import precomputed_expected
from pipelines.analytics import expected, expected_reference
from pipelines.analytics.snapshot import open_snapshot
from pipelines.ingest import ingest
from pipelines.settings import Settings, Thresholds
from test_analytics_expected import COURSE, SETTINGS, build, verdicts


@pytest.fixture(autouse=True)
def fresh_cache():
    expected.clear_cache()
    yield
    expected.clear_cache()


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("expected-stored") / "outcomes.duckdb"
    ingest(db, [SAMPLE], Settings())
    return db


def change(db, statement: str) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(statement)
    finally:
        con.close()


def without_stored(db, tmp_path):
    """A copy of `db` whose stored references are gone (as in a file loaded by an older version)."""
    copy = tmp_path / "computed.duckdb"
    shutil.copy(db, copy)
    change(copy, "DROP TABLE precomputed.expected_about")
    return copy


def answers(db, settings: Settings, patient_ids, scales) -> tuple[str, dict]:
    """How `expected` served `db`, and every answer it gave: reference, patients behind, and each
    patient's course, per scale."""
    expected.clear_cache()
    con = duckdb.connect(str(db), read_only=True)
    try:
        served = {expected.served_from(con, settings, scale) for scale in scales}
        assert len(served) == 1
        found = {}
        for scale in scales:
            found[("reference", scale)] = expected.reference_distribution(con, settings, scale)
            found[("behind", scale)] = expected.patients_not_on_track(con, settings, scale)
            for pid in patient_ids:
                found[(pid, scale)] = expected.patient_expected(con, settings, pid, scale)
        return served.pop(), found
    finally:
        con.close()


def assert_same(stored: dict, computed: dict) -> None:
    assert stored.keys() == computed.keys()
    for key in stored:
        pd.testing.assert_frame_equal(stored[key], computed[key], obj=str(key))


def test_the_hand_worked_clinic_is_served_stored_as_computed(clinic, tmp_path):
    build(clinic)  # ingested with the default thresholds: load again with the hand-worked ones
    clinic.load(SETTINGS)
    patients = [*COURSE, "nobody"]
    served, stored = answers(clinic.db, SETTINGS, patients, ["PHQ-9", "GAD-7"])
    assert served == "stored"
    served, computed = answers(without_stored(clinic.db, tmp_path), SETTINGS, patients, ["PHQ-9", "GAD-7"])
    assert served == "computed"
    assert_same(stored, computed)
    # what was stored is the hand-worked reference (test_analytics_expected.py's table): severe at
    # k = 2 from its own 5 patients, moderate at k = 2 from all 7; S2 and M1 behind, S2 first
    severe2 = stored[("reference", "PHQ-9")].query("baseline_band == 'severe' and k == 2").iloc[0]
    assert (severe2.n_patients, severe2.p25, severe2.p50, severe2.p75, severe2.fallback) == (5, -15, -20, -30, False)
    moderate2 = stored[("reference", "PHQ-9")].query("baseline_band == 'moderate' and k == 2").iloc[0]
    assert (moderate2.n_patients, moderate2.p25, moderate2.fallback) == (7, -12.5, True)
    assert stored[("behind", "PHQ-9")]["patient_id"].tolist() == ["S2", "M1"]
    assert verdicts(stored[("S5", "PHQ-9")]) == [None, False, None]


def test_the_sample_is_served_stored_as_computed(sample_db, tmp_path):
    settings = Settings()
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        scales = [s for (s,) in con.execute("SELECT DISTINCT instrument FROM patient_outcomes ORDER BY 1").fetchall()]
        patients = [p for (p,) in con.execute(
            "SELECT DISTINCT patient_id FROM scores_by_infusion ORDER BY patient_id").fetchall()][::7]
    finally:
        con.close()
    served, stored = answers(sample_db, settings, patients, scales)
    assert served == "stored"
    assert not stored[("reference", "PHQ-9")].empty and not stored[("behind", "PHQ-9")].empty
    served, computed = answers(without_stored(sample_db, tmp_path), settings, patients, scales)
    assert served == "computed"
    assert_same(stored, computed)


@pytest.mark.parametrize("in_file", [False, True], ids=["in memory", "with a store"])
def test_a_snapshot_reads_one_patients_course_from_its_own_table(sample_db, tmp_path, in_file):
    settings = Settings()
    snap = open_snapshot(sample_db, store=tmp_path / "snapshot.duckdb" if in_file else None)
    plain = duckdb.connect(str(sample_db), read_only=True)
    try:
        patients = [p for (p,) in plain.execute(
            "SELECT DISTINCT patient_id FROM precomputed.scores_by_infusion ORDER BY patient_id").fetchall()][::11]
        for pid in patients:
            expected.clear_cache()
            from_snapshot = expected.patient_expected(snap, settings, pid)
            assert expected.served_from(snap, settings) == "stored"
            pd.testing.assert_frame_equal(from_snapshot, expected.patient_expected(plain, settings, pid))
    finally:
        plain.close()
        snap.close()


def test_other_thresholds_than_the_ingests_are_computed(sample_db):
    other = Settings(thresholds=Thresholds(not_on_track_percentile=50))
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        assert expected.served_from(con, Settings()) == "stored"
        assert expected.served_from(con, other) == "computed"
        reference = expected.reference_distribution(con, other)
        assert (reference["threshold"] == reference["p50"]).all()  # the caller's percentile, not the stored 25th
        stored = con.execute("SELECT thresholds FROM precomputed.expected_about").fetchone()[0]
        assert stored == precomputed_expected.thresholds(Settings())
    finally:
        con.close()


@pytest.mark.parametrize("statement", [
    "UPDATE precomputed.expected_about SET definitions = 'other'",  # the SQL changed since
    "UPDATE precomputed.expected_about SET run_id = run_id - 1",  # left by another run
    "UPDATE precomputed.about SET definitions = 'other'",  # the outcome tables are not current
    "DROP TABLE precomputed.expected_behind",  # incomplete
], ids=["other definitions", "another run", "outcome tables not current", "one missing"])
def test_references_that_are_not_current_are_computed(sample_db, tmp_path, statement):
    db = tmp_path / "outcomes.duckdb"
    shutil.copy(sample_db, db)
    change(db, statement)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert expected.served_from(con, Settings()) == "computed"
    finally:
        con.close()


def test_a_failed_store_still_publishes_the_run(tmp_path, monkeypatch):
    def fail(con, settings):
        raise duckdb.OutOfMemoryException("could not allocate block")

    monkeypatch.setattr(precomputed_expected, "store_expected", fail)
    messages = []
    db = tmp_path / "outcomes.duckdb"
    ingest(db, [SAMPLE], Settings(), progress=messages.append)
    assert any("references were not stored" in m and "could not allocate" in m for m in messages)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert expected.served_from(con, Settings()) == "computed"
        assert not expected.patients_not_on_track(con, Settings()).empty
    finally:
        con.close()


def calls_to_compute(monkeypatch) -> list:
    """Record every clinic-wide computation of the expected course (the calls go through)."""
    calls = []
    real = expected_reference.compute

    def counted(con, settings, scale):
        calls.append(scale)
        return real(con, settings, scale)

    monkeypatch.setattr(expected_reference, "compute", counted)
    return calls


@pytest.mark.parametrize("stored", [True, False], ids=["stored references", "a file without them"])
def test_the_dashboard_opens_a_version_without_computing_the_reference(sample_db, tmp_path, monkeypatch, stored):
    from dashboard import data

    db = tmp_path / "outcomes.duckdb"
    shutil.copy(sample_db, db)
    if not stored:
        change(db, "DROP TABLE precomputed.expected_about")
    with duckdb.connect(str(sample_db), read_only=True) as con:
        behind = expected.patients_not_on_track(con, Settings())
    expected.clear_cache()
    calls = calls_to_compute(monkeypatch)
    app = open_page(db, "views/worklist.py", monkeypatch)
    assert app.metric and app.metric[0].label == "Patients shown"
    open_page(db, "views/patient.py", monkeypatch, query={"patient": behind["patient_id"][0]})
    snapshot = data._snapshot(str(db), data.file_version(str(db)))
    if stored:
        assert calls == [], "a version with stored references computes nothing clinic-wide"
        assert expected.served_from(snapshot.con, data.settings()) == "stored"
    else:  # a file loaded by an older version: computed once, up front, for every scale
        assert "PHQ-9" in calls and len(calls) == len(set(calls))
        assert expected.served_from(snapshot.con, data.settings()) == "computed"
