"""REDCap flat exports: each record row x instrument with answers becomes one assessment,
loaded through the same validation, quarantine and upsert as the CSV exports."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.formats import PATIENTS, SESSIONS, ImportFormatError
from pipelines.ingest import ingest
from pipelines.readers import reader_for
from pipelines.readers.redcap import load_mapping, stage_redcap
from pipelines.settings import Settings

from conftest import NOW, SAMPLE, patient, query, session, write_csv


MAPPING = load_mapping()
HEADER = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
for _spec in MAPPING.instruments:
    HEADER += [*_spec.fields, f"{_spec.form}_complete"]


def phq9(when, items, total=None, session=None):
    row = {"phq9_date": when, "phq9_total": total, "phq9_session": session, "phq9_complete": 2}
    row.update({f"phq9_{n}": v for n, v in enumerate(items, start=1)})
    return row


def gad7(when, items, total=None):
    row = {"gad7_date": when, "gad7_total": total, "gad7_complete": 2}
    row.update({f"gad7_{n}": v for n, v in enumerate(items, start=1)})
    return row


def tiny_export() -> list[dict]:
    """Hand-made: a non-repeating baseline row with PHQ-9 and GAD-7 filled and the pain form
    left blank, then repeating PHQ-9, pain and GAD-7 rows (the GAD-7 has a word for an answer)."""
    return [
        {"record_id": "001", "redcap_event_name": "baseline_arm_1", "pain_complete": 0,
         **phq9("2025-01-05 09:00", [2, 2, 2, 2, 1, 1, 1, 1, 0]),
         **gad7("2025-01-05 09:00", [1, 1, 1, 1, 1, 1, 1])},
        {"record_id": "001", "redcap_event_name": "treatment_arm_1", "redcap_repeat_instrument": "phq9",
         "redcap_repeat_instance": 1, **phq9("2025-01-12 10:30", [1] * 9, total=9, session="S1")},
        {"record_id": "001", "redcap_event_name": "treatment_arm_1", "redcap_repeat_instrument": "pain",
         "redcap_repeat_instance": 1, "pain_date": "2025-01-12 10:30", "pain_nrs": 6, "pain_complete": 2},
        {"record_id": "001", "redcap_event_name": "treatment_arm_1", "redcap_repeat_instrument": "gad7",
         "redcap_repeat_instance": 1, **gad7("2025-01-12 10:30", [1, 1, "two", 1, 1, 1, 1])},
    ]


def write_export(folder: Path, rows: list[dict], header: list[str] = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / "export.csv", header, rows)


def load(tmp_path: Path, rows: list[dict]):
    """Ingest patient 001 and session S1 (CSV) and the REDCap rows into tmp_path/outcomes.duckdb."""
    patients = write_csv(tmp_path / "patients.csv", list(PATIENTS.columns), [patient()])
    sessions = write_csv(tmp_path / "sessions.csv", list(SESSIONS.columns), [session("S1", "2025-01-12T10:00:00")])
    export = write_export(tmp_path / "redcap", rows)
    return ingest(tmp_path / "outcomes.duckdb", [patients, sessions, export], Settings(), now=NOW)


def test_staged_rows_are_one_per_filled_instrument_with_the_file_row(tmp_path):
    export = write_export(tmp_path, tiny_export())
    con = duckdb.connect()
    staged, rejects = {}, {}
    for staged_file in stage_redcap(con, export):
        code = staged_file.sha256.partition("#")[2]
        staged[code] = con.execute(
            "SELECT source_row, patient_id, instrument, administered_at, assessment_id, session_id, total,"
            " [item_1, item_2, item_3, item_4, item_5, item_6, item_7, item_8, item_9, item_10] FROM staged"
            " ORDER BY source_row"
        ).fetchall()
        rejects[code] = [(r.source_row, r.rule, r.message) for r in staged_file.rejects]
    con.close()
    nothing = [None] * 10
    assert staged == {
        "PHQ-9": [
            (1, "001", "PHQ-9", "2025-01-05 09:00", "redcap|001|baseline_arm_1|PHQ-9|1", None, None,
             [2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.0, None]),
            (2, "001", "PHQ-9", "2025-01-12 10:30", "redcap|001|treatment_arm_1|PHQ-9|1", "S1", 9.0,
             [1.0] * 9 + [None]),
        ],
        "GAD-7": [
            (1, "001", "GAD-7", "2025-01-05 09:00", "redcap|001|baseline_arm_1|GAD-7|1", None, None,
             [1.0] * 7 + [None] * 3),
        ],
        # the blank pain form of the baseline row gives no row
        "PAIN-NRS": [
            (3, "001", "PAIN-NRS", "2025-01-12 10:30", "redcap|001|treatment_arm_1|PAIN-NRS|1", None, None,
             [6.0] + nothing[1:]),
        ],
    }
    assert rejects == {
        "PHQ-9": [], "PAIN-NRS": [],
        "GAD-7": [(4, "item_not_whole", 'GAD-7 item answers must be whole numbers: item_3 (gad7_3) "two"')],
    }


def test_redcap_export_loads_scores_and_quarantines_the_bad_answer_with_file_and_row(tmp_path):
    run = load(tmp_path, tiny_export())
    export = run.files[-1]
    assert export.path.endswith("redcap/export.csv") and export.kind == "assessments"
    assert (export.rows_in, export.inserted, export.updated, export.unchanged, export.quarantined) == (5, 4, 0, 0, 1)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT instrument, administered_at::VARCHAR, total FROM scores ORDER BY ALL") == [
        ("GAD-7", "2025-01-05 09:00:00", 7),
        ("PAIN-NRS", "2025-01-12 10:30:00", 6),
        ("PHQ-9", "2025-01-05 09:00:00", 12),
        ("PHQ-9", "2025-01-12 10:30:00", 9),
    ]
    ((source_file, source_row, rules, reason),) = query(db, "SELECT source_file, source_row, rules, reason FROM quarantine")
    assert source_file.endswith("redcap/export.csv") and source_row == 4 and rules == ["item_not_whole"]
    assert reason == 'GAD-7 item answers must be whole numbers: item_3 (gad7_3) "two"'


def test_reingesting_the_same_export_changes_nothing(tmp_path):
    load(tmp_path, tiny_export())
    again = load(tmp_path, tiny_export()).files[-1]
    assert (again.inserted, again.updated, again.unchanged, again.quarantined) == (0, 0, 4, 1)
    assert query(tmp_path / "outcomes.duckdb", "SELECT count(*) FROM quarantine") == [(1,)]


def test_an_edited_answer_on_a_shared_event_row_is_an_update_of_that_instrument_only(tmp_path):
    load(tmp_path, tiny_export())
    edited = tiny_export()
    edited[0]["gad7_1"] = 3  # baseline GAD-7 7 -> 9; the PHQ-9 on the same row is untouched
    again = load(tmp_path, edited).files[-1]
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 3)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT instrument, total FROM scores WHERE administered_at = '2025-01-05 09:00' ORDER BY 1") == [
        ("GAD-7", 9), ("PHQ-9", 12)]
    assert query(db, "SELECT count(*) FROM assessments_history") == [(1,)]


def test_a_mapped_field_missing_from_the_export_stops_the_run_naming_file_and_field(tmp_path):
    header = [h for h in HEADER if h != "phq9_3"]
    rows = [{k: v for k, v in row.items() if k != "phq9_3"} for row in tiny_export()]
    patients = write_csv(tmp_path / "patients.csv", list(PATIENTS.columns), [patient()])
    export = write_export(tmp_path / "redcap", rows, header)
    with pytest.raises(ImportFormatError, match=r"redcap/export\.csv.*phq9_3"):
        ingest(tmp_path / "outcomes.duckdb", [patients, export], Settings(), now=NOW)
    assert not (tmp_path / "outcomes.duckdb").exists() or query(
        tmp_path / "outcomes.duckdb", "SELECT count(*) FROM patients") == [(0,)]


def test_a_mapping_next_to_the_export_replaces_the_default(tmp_path):
    folder = tmp_path / "redcap"
    folder.mkdir()
    (folder / "redcap_mapping.toml").write_text(
        '[instruments."PAIN-NRS"]\nform = "pain_form"\ndate = "when"\nitems = ["score"]\n', encoding="utf-8")
    export = write_csv(folder / "export.csv", ["record_id", "redcap_event_name", "when", "score"],
                       [{"record_id": "001", "redcap_event_name": "visit_1", "when": "2025-01-20", "score": 4}])
    assert reader_for(export).kind.name == "assessments"
    patients = write_csv(tmp_path / "patients.csv", list(PATIENTS.columns), [patient()])
    ingest(tmp_path / "outcomes.duckdb", [patients, export], Settings(), now=NOW)
    assert query(tmp_path / "outcomes.duckdb", "SELECT instrument, total FROM scores") == [("PAIN-NRS", 4)]


def test_two_bad_instruments_on_one_event_row_are_both_quarantined(tmp_path):
    rows = tiny_export()[:1]
    rows[0]["phq9_2"], rows[0]["gad7_2"] = "often", "sometimes"
    export = load(tmp_path, rows).files[-1]
    assert (export.rows_in, export.inserted, export.quarantined) == (2, 0, 2)
    assert query(tmp_path / "outcomes.duckdb", "SELECT source_row, reason FROM quarantine ORDER BY reason") == [
        (1, 'GAD-7 item answers must be whole numbers: item_2 (gad7_2) "sometimes"'),
        (1, 'PHQ-9 item answers must be whole numbers: item_2 (phq9_2) "often"'),
    ]


def test_the_sample_redcap_folder_loads_whole_with_its_data_dictionary_skipped(tmp_path):
    run = ingest(tmp_path / "outcomes.duckdb", [SAMPLE / "patients.csv", SAMPLE / "sessions.csv",
                                                SAMPLE / "redcap"], Settings(), now=NOW)
    by_name = {Path(f.path).name: f for f in run.files}
    assert by_name["data_dictionary.csv"].rows_in == 0
    assert by_name["export.csv"].inserted == by_name["export.csv"].rows_in > 90
