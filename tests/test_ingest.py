"""Ingest runs as a whole: the count invariant, idempotency, updates with history, the
import format's tolerance (BOM, header spelling, any file order) and all-or-nothing runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from conftest import NOW, assessment, patient, phq9_items, session, write_csv
from pipelines.formats import ImportFormatError
from pipelines.ingest import ingest
from pipelines.settings import Settings


def small_clinic(clinic):
    clinic.patients = [patient("001"), patient("0002", indication="anxiety")]
    clinic.sessions = [session("S1", "2025-01-06T09:00:00"), session("S2", "2025-01-08T09:00:00"),
                       session("S3", "2025-01-06T10:00:00", pid="0002")]
    clinic.assessments = [
        assessment("A1", "2025-01-06T08:30:00", "PHQ-9", phq9_items(18), session_id="S1"),
        assessment("A2", "2025-01-08T08:30:00", "PHQ-9", phq9_items(9), session_id="S2"),
        assessment("A3", "2025-01-06T09:30:00", "GAD-7", [2] * 7, pid="0002"),
        assessment("A4", "2025-01-08T08:30:00", "PHQ-9", [9] * 9),  # quarantined: items out of range
    ]
    return clinic


def table_snapshot(db) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [n for (n,) in con.execute(
            "SELECT CASE table_schema WHEN 'main' THEN table_name ELSE table_schema || '.' || table_name END "
            "FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        return {n: sorted(map(repr, con.execute(f"SELECT * FROM {n}").fetchall())) for n in names}
    finally:
        con.close()


def test_every_row_is_counted_once(clinic):
    run = small_clinic(clinic).load()
    for f in run.files:
        assert f.rows_in == f.inserted + f.updated + f.unchanged + f.quarantined
    assert (run.totals.rows_in, run.totals.inserted, run.totals.quarantined) == (9, 8, 1)
    stored = clinic.one("SELECT * FROM ingest_runs")
    assert (stored.rows_in, stored.inserted, stored.updated, stored.unchanged, stored.quarantined) == (9, 8, 0, 0, 1)
    assert {f["kind"] for f in stored.files} == {"patients", "sessions", "assessments"}
    assert all(len(f["sha256"]) == 64 and f["seconds"] >= 0 for f in stored.files)


def test_reingesting_the_same_files_changes_nothing(clinic):
    small_clinic(clinic).load()
    before = table_snapshot(clinic.db)
    run = clinic.load()
    assert (run.totals.inserted, run.totals.updated, run.totals.quarantined) == (0, 0, 1)
    assert run.totals.unchanged == 8
    after = table_snapshot(clinic.db)
    # the run itself, and the run the outcome tables and the expected-course references are of
    recorded = ("ingest_runs", "precomputed.about", "precomputed.expected_about")
    assert {k: v for k, v in after.items() if k not in recorded} == \
           {k: v for k, v in before.items() if k not in recorded}
    assert len(after["ingest_runs"]) == 2  # the run itself is recorded


def test_changed_row_replaces_the_old_one_and_keeps_it_in_history(clinic):
    small_clinic(clinic).load()
    clinic.assessments[1] = assessment("A2", "2025-01-08T08:30:00", "PHQ-9", phq9_items(7), session_id="S2")
    run = clinic.load()
    assessments = next(f for f in run.files if f.kind == "assessments")
    assert (assessments.updated, assessments.unchanged, assessments.inserted) == (1, 2, 0)
    assert clinic.one("SELECT total FROM assessments WHERE assessment_key = 'A2'").total == 7
    old = clinic.one("SELECT total, replaced_by_run FROM assessments_history")
    assert (old.total, old.replaced_by_run) == (9, 2)
    assert clinic.one("SELECT count(*) AS n FROM assessments").n == 3


def test_assessments_without_an_id_are_keyed_by_patient_scale_and_time(clinic):
    clinic.sessions = [session("S1", "2025-01-06T09:00:00")]
    clinic.assessments = [assessment("", "2025-01-06T08:30:00", "phq9", phq9_items(18))]
    clinic.load()
    clinic.assessments = [assessment("", "2025-01-06T08:30:00", "PHQ-9", phq9_items(17))]
    run = clinic.load()
    assert next(f for f in run.files if f.kind == "assessments").updated == 1
    assert clinic.one("SELECT assessment_key FROM assessments").assessment_key == "001|PHQ-9|2025-01-06T08:30:00"


def test_files_load_in_dependency_order_whatever_order_they_are_given(clinic):
    files = small_clinic(clinic).write()
    run = ingest(clinic.db, list(reversed(files)), Settings(), now=NOW)
    assert [f.kind for f in run.files] == ["patients", "sessions", "assessments"]
    assert run.totals.quarantined == 1


def test_header_spelling_bom_and_leading_zeros_are_tolerated(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "export_1.csv").write_text(
        "\ufeffPatient ID, Birth Year ,SEX,Primary-Indication,Site,Clinician,Intake Date\n"
        "000417,1980,F,Bipolar Depression,North,Dr A,2025-01-01\n", encoding="utf-8")
    run = ingest(tmp_path / "o.duckdb", [folder], Settings(), now=NOW)
    assert run.totals.inserted == 1
    con = duckdb.connect(str(tmp_path / "o.duckdb"), read_only=True)
    assert con.execute("SELECT patient_id, sex, primary_indication FROM patients").fetchone() == \
        ("000417", "female", "bipolar_depression")


def test_missing_required_columns_stop_the_run_naming_file_and_columns(clinic):
    good = small_clinic(clinic).write()
    bad = write_csv(clinic.folder / "visits.csv", ["session_id", "patient_id", "started_at"], [])
    with pytest.raises(ImportFormatError) as error:
        ingest(clinic.db, [*good, bad], Settings(), now=NOW)
    assert "visits.csv" in str(error.value) and "dose_mg" in str(error.value) and "route" in str(error.value)
    assert not clinic.db.exists()  # nothing written, not even an empty database


def test_unrecognised_file_stops_the_run_and_leaves_loaded_data_alone(clinic):
    small_clinic(clinic).load()
    before = table_snapshot(clinic.db)
    notes = clinic.folder / "notes.csv"
    notes.write_text("date,note\n2025-01-01,hello\n")
    with pytest.raises(ImportFormatError, match="notes.csv: not a recognised export"):
        ingest(clinic.db, [*clinic.write(), notes], Settings(), now=NOW)
    assert table_snapshot(clinic.db) == before


def test_failure_part_way_through_a_run_rolls_everything_back(clinic, monkeypatch):
    small_clinic(clinic).load()
    before = table_snapshot(clinic.db)
    clinic.patients.append(patient("003"))
    import pipelines.ingest as ingest_module
    real_merge = ingest_module.merge

    def merge_then_fail_on_assessments(con, staged, run_id):
        if staged.kind.name == "assessments":
            raise RuntimeError("disk full")
        return real_merge(con, staged, run_id)

    monkeypatch.setattr(ingest_module, "merge", merge_then_fail_on_assessments)
    with pytest.raises(RuntimeError):
        clinic.load()
    assert table_snapshot(clinic.db) == before  # patient 003 was not kept


def test_non_utf8_file_is_refused_with_its_name(clinic, tmp_path):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("patient_id,birth_year\n001,1980 \xe9\n".encode("latin-1"))
    with pytest.raises(ImportFormatError, match="latin1.csv: not a UTF-8"):
        ingest(clinic.db, [latin], Settings(), now=NOW)


def test_killed_ingest_leaves_the_database_as_it_was(tmp_path):
    """kill -9 in the middle of a large load: the next open sees the previous state."""
    db, big = tmp_path / "o.duckdb", tmp_path / "big"
    big.mkdir()
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT lpad(i::VARCHAR, 6, '0') AS patient_id, 1970 + i % 30 AS birth_year, 'female' AS sex,
        'depression' AS primary_indication, 'North' AS site, 'Dr A' AS clinician, DATE '2024-01-01' AS intake_date
        FROM range(20000) t(i)) TO '{big}/patients.csv' (HEADER)""")
    con.execute(f"""COPY (SELECT 'A' || i AS assessment_id, lpad((i % 20000)::VARCHAR, 6, '0') AS patient_id,
        'PHQ-9' AS instrument, TIMESTAMP '2024-02-01' + to_minutes(i) AS administered_at,
        {', '.join(f'(i + {k}) % 4 AS item_{k}' for k in range(1, 10))} FROM range(1500000) t(i))
        TO '{big}/assessments.csv' (HEADER)""")
    con.close()
    small = tmp_path / "small"
    small.mkdir()
    write_csv(small / "patients.csv", list(patient().keys()), [patient("900")])
    ingest(db, [small], Settings(), now=NOW)
    before = table_snapshot(db)

    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ingest", str(big), "--db", str(db)],
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in process.stderr:  # wait until the big assessments file is being validated
        if "assessments.csv: validating" in line:
            break
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert table_snapshot(db) == before
    # and the next ingest succeeds
    run = ingest(db, [small], Settings(), now=NOW)
    assert run.totals.unchanged == 1
