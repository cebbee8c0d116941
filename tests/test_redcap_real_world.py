"""REDCap exports in the layouts REDCap itself writes (tests/fixtures/redcap/, sources cited in
its README): a labels export read through the project's data dictionary, the raw export of the
same project, and an API export with label answers and no dictionary. Each goes through the
real ingest into a DuckDB file; expected scores are worked by hand in the comments."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.formats import ASSESSMENTS, PATIENTS, SESSIONS, ImportFormatError
from pipelines.ingest import ingest
from pipelines.readers import reader_for
from pipelines.readers.csv_export import read_header
from pipelines.readers.redcap import stage_redcap
from pipelines.readers.redcap_dictionary import checkbox_columns, find_dictionary, resolve_header
from pipelines.settings import Settings

from conftest import NOW, patient, query, write_csv

FIXTURES = Path(__file__).parent / "fixtures" / "redcap"
LABELS = "KetamineClinic_DATA_LABELS_2025-02-01_0930.csv"
RAW = "KetamineClinic_DATA_2025-02-01_0930.csv"

# Hand-worked, the same for the raw and the labels export (the items as codes):
#   101 Baseline PHQ-9   2+2+2+2+1+1+1+1+0 = 12 (item 10, "Somewhat difficult", is not scored)
#   101 Baseline GAD-7   1 x 7             = 7
#   101 PHQ-9 instance 1 1 x 9             = 9
#   101 PHQ-9 instance 2 0+1+0+1+0+1+0+1+0 = 4
#   102 Baseline PHQ-9   3+3+3+3+3+2+2+2+1 = 22
#   102 Baseline GAD-7   3+3+3+2+2+2+2     = 17
#   102 PHQ-9 instance 1 (row 8): item 4 is not a choice -> quarantined, no score
SCORES = [
    ("101", "GAD-7", "2025-01-05 09:00:00", 7),
    ("101", "PHQ-9", "2025-01-05 09:00:00", 12),
    ("101", "PHQ-9", "2025-01-12 11:30:00", 9),
    ("101", "PHQ-9", "2025-01-19 11:30:00", 4),
    ("102", "GAD-7", "2025-01-06 09:00:00", 17),
    ("102", "PHQ-9", "2025-01-06 09:00:00", 22),
]
SCORES_SQL = "SELECT patient_id, instrument, administered_at::VARCHAR, total FROM scores ORDER BY ALL"
SESSIONS_SQL = ("SELECT session_id, started_at::VARCHAR, route, dose_mg, side_effects, adverse_event, site "
                "FROM sessions ORDER BY session_id")


def copy_fixture(tmp_path: Path, folder: str) -> Path:
    target = tmp_path / folder
    shutil.copytree(FIXTURES / folder, target)
    return target


def ingest_with_patients(tmp_path: Path, *exports: Path, pids=("101", "102")):
    patients = write_csv(tmp_path / "patients.csv", list(PATIENTS.columns), [patient(pid) for pid in pids])
    return ingest(tmp_path / "outcomes.duckdb", [patients, *exports], Settings(), now=NOW)


def counts(result) -> tuple[int, int, int, int, int]:
    return (result.rows_in, result.inserted, result.updated, result.unchanged, result.quarantined)


def test_a_labels_export_is_read_through_its_data_dictionary(tmp_path):
    folder = copy_fixture(tmp_path, "labels")
    run = ingest_with_patients(tmp_path, folder)
    export = next(f for f in run.files if f.path.endswith(LABELS))
    # 3 infusion rows + 7 scale administrations (the baseline rows carry PHQ-9 and GAD-7 each);
    # rows in = inserted + updated + unchanged + quarantined
    assert export.kind == "sessions+assessments"
    assert counts(export) == (10, 9, 0, 0, 1)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, SCORES_SQL) == SCORES
    # The infusion form: route labels as the clinic's codes, the ticked side effects as a list
    # (101 #1 ticked Nausea and Dissociation, #2 none; 102 ticked Dissociation and Dizziness),
    # the yes/no adverse event blank for No, the data access group as the site; the id is
    # record|event|form|instance, the event label ("Treatment") read as its unique name through
    # the events file beside the export.
    assert query(db, SESSIONS_SQL) == [
        ("redcap|101|treatment_arm_1|sessions|1", "2025-01-12 10:00:00", "iv", 35.0, ["nausea", "dissociation"], None,
         "North Clinic"),
        ("redcap|101|treatment_arm_1|sessions|2", "2025-01-19 10:00:00", "im", 40.0, [], None, "North Clinic"),
        ("redcap|102|treatment_arm_1|sessions|1", "2025-01-13 14:00:00", "intranasal", 56.0,
         ["dissociation", "dizziness"], "Yes", "South Clinic"),
    ]
    ((source_file, source_row, rules, reason),) = query(db, "SELECT source_file, source_row, rules, reason FROM quarantine")
    assert source_file.endswith(LABELS) and source_row == 8 and rules == ["unknown_code"]
    assert reason == 'PHQ-9 answer is neither a code nor a label of its field\'s choices: item_4 (phq9_4) "Sometimes"'


def test_the_raw_export_of_the_same_project_gives_the_same_scores(tmp_path):
    folder = copy_fixture(tmp_path, "raw")
    export = next(f for f in ingest_with_patients(tmp_path, folder).files if f.path.endswith(RAW))
    assert counts(export) == (10, 9, 0, 0, 1)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, SCORES_SQL) == SCORES
    # raw: route codes 1/2/3 read as their labels, checkbox columns 1/0, adverse event 0/1
    # (0 is blank, 1 reads "Yes"), the group's unique name as the site
    assert query(db, SESSIONS_SQL) == [
        ("redcap|101|treatment_arm_1|sessions|1", "2025-01-12 10:00:00", "iv", 35.0, ["nausea", "dissociation"],
         None, "north_clinic"),
        ("redcap|101|treatment_arm_1|sessions|2", "2025-01-19 10:00:00", "im", 40.0, [], None, "north_clinic"),
        ("redcap|102|treatment_arm_1|sessions|1", "2025-01-13 14:00:00", "intranasal", 56.0,
         ["dissociation", "dizziness"], "Yes", "south_clinic"),
    ]
    # a code that is a number but not a choice (4 on a 0-3 item) is the validator's business
    assert query(db, "SELECT source_row, rules FROM quarantine") == [(8, ["item_out_of_range"])]


def test_the_labels_export_after_the_raw_export_of_the_same_data_changes_nothing(tmp_path):
    """Same records, same keys, whichever layout: with the project's events file the labels
    export's `Treatment` is `treatment_arm_1`, and the answers read as labels are the codes."""
    ingest_with_patients(tmp_path, copy_fixture(tmp_path, "raw"))
    labels = next(f for f in ingest_with_patients(tmp_path, copy_fixture(tmp_path, "labels")).files
                  if f.path.endswith(LABELS))
    # The 6 scored administrations are unchanged, row 8 is quarantined in both (a code out of
    # range, a label not among the choices). The 3 infusions are updates for one reason: the
    # site is the data access group's unique name in a raw export (`north_clinic`) and its
    # name in a labels export (`North Clinic`), a difference REDCap makes, not a new infusion.
    assert counts(labels) == (10, 0, 3, 6, 1)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, SCORES_SQL) == SCORES
    assert query(db, "SELECT count(*) FROM assessments_history") == [(0,)]
    assert query(db, "SELECT site, count(*) FROM sessions GROUP BY 1 ORDER BY 1") == [("North Clinic", 2),
                                                                                      ("South Clinic", 1)]
    assert query(db, "SELECT site, count(*) FROM sessions_history GROUP BY 1 ORDER BY 1") == [("north_clinic", 2),
                                                                                              ("south_clinic", 1)]


def test_each_row_goes_to_the_forms_it_holds(tmp_path):
    """Repeating rows of other instruments on the same record are not taken for a scale: the
    infusion rows (2, 3, 7) give no PHQ-9, the PHQ-9 instance rows (4, 5, 8) no session, and
    only the baseline rows (1, 6) give both scales."""
    folder = copy_fixture(tmp_path, "labels")
    con = duckdb.connect()
    rows = {}
    for kind in (SESSIONS, ASSESSMENTS):
        for staged in stage_redcap(con, folder / LABELS, kind=kind):
            form = staged.sha256.partition("#")[2]
            loaded = [r for (r,) in con.execute("SELECT source_row FROM staged ORDER BY 1").fetchall()]
            rows[form] = (loaded, [r.source_row for r in staged.rejects])
    con.close()
    assert rows == {"sessions": ([2, 3, 7], []), "PHQ-9": ([1, 4, 5, 6], [8]), "GAD-7": ([1, 6], [])}


def test_labels_header_columns_are_matched_to_fields_in_dictionary_order():
    """`Date completed` labels both phq9_date and gad7_date: the first after the infusion
    fields is phq9_date, the next gad7_date. Each `Complete?` is left unread."""
    export = FIXTURES / "labels" / LABELS
    columns, labelled = resolve_header(read_header(export), find_dictionary(export), checkbox_columns(export))
    assert labelled
    assert columns[:15] == ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                            "redcap_data_access_group", "inf_start", "inf_route", "inf_dose", "side_effects___1",
                            "side_effects___2", "side_effects___3", "side_effects___4", "inf_ae", "inf_notes",
                            "unmatched_14"]
    assert columns[15:17] == ["phq9_date", "phq9_1"] and columns[25:28] == ["phq9_10", "phq9_total", "unmatched_27"]
    assert columns[28:30] == ["gad7_date", "gad7_1"] and columns[-2:] == ["gad7_total", "unmatched_37"]


def test_re_ingesting_the_labels_export_changes_nothing(tmp_path):
    folder = copy_fixture(tmp_path, "labels")
    ingest_with_patients(tmp_path, folder)
    again = next(f for f in ingest_with_patients(tmp_path, folder).files if f.path.endswith(LABELS))
    assert counts(again) == (10, 0, 0, 9, 1)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT count(*) FROM quarantine") == [(1,)]
    assert query(db, SCORES_SQL) == SCORES


def edit_cells(path: Path, edits: dict[tuple[int, str], str]) -> None:
    """Set (data row, header label) cells of a labels export (header labels may repeat: the
    first column with that label is edited)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for (row, label), value in edits.items():
        rows[row][rows[0].index(label)] = value
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def test_an_answer_edited_in_one_repeat_instance_updates_that_instance_only(tmp_path):
    folder = copy_fixture(tmp_path, "labels")
    ingest_with_patients(tmp_path, folder)
    # 101 PHQ-9 instance 2 (row 5): item 2 "Several days" -> "Nearly every day": 4 - 1 + 3 = 6,
    # and REDCap recalculates the calc field holding the total.
    # An unknown checkbox value ("maybe") on infusion row 2 is not a tick and quarantines nothing.
    edit_cells(folder / LABELS, {(5, "2. Feeling down, depressed, or hopeless"): "Nearly every day",
                                 (5, "PHQ-9 total score"): "6",
                                 (2, "Side effects (choice=Headache)"): "maybe"})
    again = next(f for f in ingest_with_patients(tmp_path, folder).files if f.path.endswith(LABELS))
    assert counts(again) == (10, 0, 1, 8, 1)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT total FROM scores WHERE administered_at = '2025-01-19 11:30'") == [(6,)]
    assert query(db, "SELECT count(*) FROM assessments_history") == [(1,)]


def test_api_label_answers_without_a_dictionary_use_the_standard_answer_labels(tmp_path):
    folder = copy_fixture(tmp_path, "api_label_answers")
    export = folder / "export.csv"
    # the checkbox field the mapping does not read is named in the reader's note, not quarantined
    assert reader_for(export).name == (
        "REDCap assessments (raw export; checkbox fields not in the mapping, not read: visit_side_effects)")
    result = next(f for f in ingest_with_patients(tmp_path, export, pids=("001",)).files if f.path.endswith("export.csv"))
    assert counts(result) == (4, 4, 0, 0, 0)
    # Baseline PHQ-9: Nearly every day x2 (3+3) + More than half the days (2) + Several days x2 (1+1)
    #   + Not at all x2 + Several days (1) + Not at all = 11 ("Very difficult" is item 10, not scored)
    # Baseline GAD-7: Several days x4 + Not at all x3 = 4
    # PHQ-9 "PHQ-9" instance 1: Several days x9 = 9 (total 9 as recorded agrees)
    # PHQ-9 instance 2: "not at all" x8 (any case) + " NEARLY EVERY DAY " (spaces trimmed) = 3
    assert query(tmp_path / "outcomes.duckdb", SCORES_SQL) == [
        ("001", "GAD-7", "2025-01-05 09:00:00", 4),
        ("001", "PHQ-9", "2025-01-05 09:00:00", 11),
        ("001", "PHQ-9", "2025-01-12 10:30:00", 9),
        ("001", "PHQ-9", "2025-01-19 10:30:00", 3),
    ]
    assert query(tmp_path / "outcomes.duckdb", "SELECT assessment_id FROM assessments ORDER BY 1") == [
        ("redcap|001|Baseline|GAD-7|1",), ("redcap|001|Baseline|PHQ-9|1",),
        ("redcap|001|Treatment|PHQ-9|1",), ("redcap|001|Treatment|PHQ-9|2",)]


def test_a_labels_export_without_its_dictionary_is_refused_with_what_to_do(tmp_path):
    folder = tmp_path / "alone"
    folder.mkdir()
    shutil.copy(FIXTURES / "labels" / LABELS, folder / LABELS)
    shutil.copy(FIXTURES / "labels" / "redcap_mapping.toml", folder / "redcap_mapping.toml")
    with pytest.raises(ImportFormatError, match=r"labels export.*data dictionary"):
        ingest_with_patients(tmp_path, folder / LABELS)
    assert not (tmp_path / "outcomes.duckdb").exists() or query(
        tmp_path / "outcomes.duckdb", "SELECT count(*) FROM patients") == [(0,)]


PHQ9_FIELDS = ["phq9_date", *[f"phq9_{n}" for n in range(1, 11)], "phq9_total", "phq9_complete"]


def phq9_fields(when: str, items: list[int], total: int) -> dict:
    return {"phq9_date": when, **{f"phq9_{n}": v for n, v in enumerate(items, start=1)}, "phq9_10": 0,
            "phq9_total": total, "phq9_complete": 2}


def test_a_repeating_event_gives_one_administration_per_instance(tmp_path):
    """A repeating *event* (Project Setup: repeat the whole event): `redcap_repeat_instrument`
    blank, `redcap_repeat_instance` numbering the event's instances."""
    folder = copy_fixture(tmp_path, "raw")
    (folder / RAW).unlink()
    header = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", *PHQ9_FIELDS]
    export = write_csv(folder / "weekly.csv", header, [
        # 2+1+1+1+0+0+0+0+0 = 5 and 1+1+0+0+0+0+0+0+0 = 2
        {"record_id": "101", "redcap_event_name": "weekly_arm_1", "redcap_repeat_instance": 1,
         **phq9_fields("2025-02-03 09:00", [2, 1, 1, 1, 0, 0, 0, 0, 0], 5)},
        {"record_id": "101", "redcap_event_name": "weekly_arm_1", "redcap_repeat_instance": 2,
         **phq9_fields("2025-02-10 09:00", [1, 1, 0, 0, 0, 0, 0, 0, 0], 2)},
    ])
    result = next(f for f in ingest_with_patients(tmp_path, export).files if f.path.endswith("weekly.csv"))
    assert counts(result) == (2, 2, 0, 0, 0)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT assessment_id FROM assessments ORDER BY 1") == [
        ("redcap|101|weekly_arm_1|PHQ-9|1",), ("redcap|101|weekly_arm_1|PHQ-9|2",)]
    assert query(db, SCORES_SQL) == [("101", "PHQ-9", "2025-02-03 09:00:00", 5), ("101", "PHQ-9", "2025-02-10 09:00:00", 2)]


def test_a_classic_project_export_is_known_by_its_dictionary(tmp_path):
    """A classic (not longitudinal, nothing repeating) project exports no REDCap columns at
    all: `record_id` and the fields. The data dictionary beside it, whose first field is the
    record id, tells it from a CSV export of ours."""
    folder = copy_fixture(tmp_path, "raw")
    (folder / RAW).unlink()
    # 3 on every item: 3 x 9 = 27, the top of the PHQ-9's 0-27 range
    export = write_csv(folder / "classic.csv", ["record_id", *PHQ9_FIELDS],
                       [{"record_id": "102", **phq9_fields("2025-02-03 09:00", [3] * 9, 27)}])
    assert reader_for(export).name == "REDCap assessments (raw export)"
    ingest_with_patients(tmp_path, export)
    assert query(tmp_path / "outcomes.duckdb", SCORES_SQL) == [("102", "PHQ-9", "2025-02-03 09:00:00", 27)]


def test_labels_repeated_for_columns_without_a_field_are_not_read(tmp_path):
    """A survey project's labels export has a `Survey Timestamp` before each survey form's
    fields (raw `phq9_timestamp`, `gad7_timestamp`; not in the data dictionary). They repeat,
    like `Complete?`, and are left unread instead of refusing the file."""
    folder = copy_fixture(tmp_path, "labels")
    with open(folder / LABELS, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    starts = [i for i, label in enumerate(rows[0]) if label == "Date completed"]
    for row_number, row in enumerate(rows):
        for start in reversed(starts):
            row.insert(start, "Survey Timestamp" if row_number == 0 else ("[not completed]" if row[start] else ""))
    with open(folder / LABELS, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    export = next(f for f in ingest_with_patients(tmp_path, folder).files if f.path.endswith(LABELS))
    assert counts(export) == (10, 9, 0, 0, 1)
    assert query(tmp_path / "outcomes.duckdb", SCORES_SQL) == SCORES


def test_a_bad_infusion_row_is_quarantined_alone_naming_row_field_and_value(tmp_path):
    folder = copy_fixture(tmp_path, "raw")
    with open(folder / RAW, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[3][rows[0].index("inf_dose")] = "forty"  # data row 3: 101's second infusion
    with open(folder / RAW, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    export = next(f for f in ingest_with_patients(tmp_path, folder).files if f.path.endswith(RAW))
    assert counts(export) == (10, 8, 0, 0, 2)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT source_row, rules, reason FROM quarantine ORDER BY source_row") == [
        (3, ["not_a_number"], 'session not a number: dose_mg (inf_dose) "forty"'),
        (8, ["item_out_of_range"], "PHQ-9 answers run 0-3; out of range: item_4 = 4"),
    ]
    assert query(db, "SELECT count(*) FROM sessions") == [(2,)] and query(db, SCORES_SQL) == SCORES


def test_event_labels_of_a_project_with_arms_are_read_as_unique_event_names(tmp_path):
    """With several arms a labels export writes `Baseline (Arm 1: Standard)` (the project XML's
    StudyEventDef Name); the events file beside it gives `baseline_arm_1`."""
    folder = copy_fixture(tmp_path, "api_label_answers")
    (folder / "events.csv").write_text(
        "event_name,arm_num,unique_event_name,custom_event_label,event_id\n"
        '"Baseline",1,baseline_arm_1,,1\n"Treatment",1,treatment_arm_1,,2\n"Baseline",2,baseline_arm_2,,3\n',
        encoding="utf-8")
    text = (folder / "export.csv").read_text(encoding="utf-8")
    text = text.replace('"Baseline"', '"Baseline (Arm 1: Standard)"').replace('"Treatment"', '"Treatment (Arm 1: Standard)"')
    (folder / "export.csv").write_text(text, encoding="utf-8")
    run = ingest_with_patients(tmp_path, folder, pids=("001",))
    assert {Path(f.path).name: f.kind for f in run.files}["events.csv"] == "assessments"  # skipped: 0 rows
    assert {Path(f.path).name: f.rows_in for f in run.files}["events.csv"] == 0
    assert query(tmp_path / "outcomes.duckdb", "SELECT assessment_id FROM assessments ORDER BY 1") == [
        ("redcap|001|baseline_arm_1|GAD-7|1",), ("redcap|001|baseline_arm_1|PHQ-9|1",),
        ("redcap|001|treatment_arm_1|PHQ-9|1",), ("redcap|001|treatment_arm_1|PHQ-9|2",)]


def test_in_a_labels_export_an_answer_is_read_as_a_label_before_a_code():
    """Choices whose labels are other choices' codes (`1, 0 | 2, 1 | 3, 2 | 4, 3`, a project that
    stores 1-4 and shows 0-3): a labels export's "1" is the label of code 2; a raw export's "1"
    is code 1. (A review found the labels export read as codes.)"""
    import duckdb

    from pipelines.readers.redcap import _coded

    choices = [("1", "0"), ("2", "1"), ("3", "2"), ("4", "3")]
    con = duckdb.connect()
    read = lambda value, labels_first: con.execute(  # noqa: E731
        f"SELECT {_coded('x', choices, labels_first=labels_first)} FROM (SELECT ?::VARCHAR AS x)", [value]).fetchone()[0]
    assert [read(v, True) for v in ("0", "1", "3", "Sometimes")] == ["1", "2", "4", "Sometimes"]
    assert [read(v, False) for v in ("1", "4", "0")] == ["1", "4", "1"]  # codes as they are; "0" only a label
