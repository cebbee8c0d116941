"""Each quarantine rule: a bad row is kept out of the tables, recorded with file, row and a
reason in clinical words, and the good rows around it still load."""

from __future__ import annotations

import pytest

from conftest import assessment, patient, phq9_items, session

GOOD_SESSION = session("S1", "2025-01-06T09:00:00")
GOOD_ASSESSMENT = assessment("A1", "2025-01-06T08:30:00", "PHQ-9", phq9_items(18))


def bad_patient(**changes):
    return patient(**{"pid": "099", **changes})


PATIENT_CASES = [
    ("unparseable birth year", bad_patient(birth_year="19x0"), "not_a_number", 'birth_year "19x0" is not a year'),
    ("implausible birth year", bad_patient(birth_year=1850), "impossible_value", "not a plausible year of birth"),
    ("unknown indication", bad_patient(indication="flu"), "unknown_code", 'primary_indication "flu"'),
    ("unknown sex code", bad_patient(sex="q"), "unknown_code", 'sex "q"'),
    ("impossible intake date", bad_patient(intake="2025-02-30"), "impossible_date", "not a real date"),
    ("unparseable intake date", bad_patient(intake="03/02/2025"), "unparseable_date", "is not an ISO 8601 date"),
    ("future intake date", bad_patient(intake="2031-01-01"), "future_date", "in the future"),
    ("missing patient id", bad_patient(pid=""), "missing_value", "patient_id is missing"),
]

SESSION_CASES = [
    ("unknown patient", session("S9", "2025-01-08T09:00:00", pid="777"), "unknown_patient", "patient 777 is not loaded"),
    ("unparseable time", session("S9", "next tuesday"), "unparseable_date", '"next tuesday" is not an ISO 8601'),
    ("impossible time", session("S9", "2025-13-01T09:00:00"), "impossible_date", "not a real date"),
    ("future time", session("S9", "2031-01-01T09:00:00"), "future_date", "in the future"),
    ("systolic too high", session("S9", "2025-01-08T09:00:00", bp_peak_sys=400), "impossible_vitals", "systolic"),
    ("systolic too low", session("S9", "2025-01-08T09:00:00", bp_pre_sys=20, bp_pre_dia=10), "impossible_vitals",
     "systolic BP 20"),
    ("SpO2 above 100", session("S9", "2025-01-08T09:00:00", spo2_min=130), "impossible_vitals", "SpO2 130"),
    ("diastolic above systolic", session("S9", "2025-01-08T09:00:00", bp_pre_sys=80, bp_pre_dia=120),
     "impossible_vitals", "not below systolic"),
    ("vital not a number", session("S9", "2025-01-08T09:00:00", hr_pre="fast"), "not_a_number", "hr_pre \"fast\""),
    ("dose zero", session("S9", "2025-01-08T09:00:00", dose=0), "dose_out_of_range", "dose 0.0 mg"),
    ("dose 5000 mg", session("S9", "2025-01-08T09:00:00", dose=5000), "dose_out_of_range", "dose 5000.0 mg"),
    ("dose per kg", session("S9", "2025-01-08T09:00:00", dose=300, weight=60), "dose_out_of_range", "5.0 mg/kg"),
    ("unknown route", session("S9", "2025-01-08T09:00:00", route="oral"), "unknown_code", 'route "oral"'),
    ("CADSS above 92", session("S9", "2025-01-08T09:00:00", cadss_total=120), "impossible_value", "CADSS total 120"),
]

ASSESSMENT_CASES = [
    ("unparseable date", assessment("A9", "03/15/2025 9am", "PHQ-9", phq9_items(10)), "unparseable_date",
     '"03/15/2025 9am" is not an ISO 8601'),
    ("impossible date", assessment("A9", "2025-02-30T10:00:00", "PHQ-9", phq9_items(10)), "impossible_date",
     "not a real date"),
    ("future date", assessment("A9", "2031-05-01T10:00:00", "PHQ-9", phq9_items(10)), "future_date", "in the future"),
    ("before birth year", assessment("A9", "1979-05-01T10:00:00", "PHQ-9", phq9_items(10)), "before_birth",
     "before birth year 1980"),
    ("over a year before intake", assessment("A9", "2023-12-01T10:00:00", "PHQ-9", phq9_items(10)), "before_intake",
     "more than 365 days before intake on 2025-01-02"),
    ("unknown patient", assessment("A9", "2025-01-08T08:30:00", "PHQ-9", phq9_items(10), pid="777"),
     "unknown_patient", "patient 777"),
    ("unknown instrument", assessment("A9", "2025-01-08T08:30:00", "BDI-II", [1] * 20), "unknown_instrument",
     '"BDI-II" is not a known scale'),
    ("item above range", assessment("A9", "2025-01-08T08:30:00", "PHQ-9", [1, 1, 1, 4, 1, 1, 1, 1, 0]),
     "item_out_of_range", "item_4 = 4"),
    ("negative item", assessment("A9", "2025-01-08T08:30:00", "GAD-7", [1, 1, -1, 1, 1, 1, 1]),
     "item_out_of_range", "item_3 = -1"),
    ("fractional item", assessment("A9", "2025-01-08T08:30:00", "PHQ-9", [1, 1.5, 1, 1, 1, 1, 1, 1, 0]),
     "item_not_whole", "item_2 = 1.5"),
    ("text item", assessment("A9", "2025-01-08T08:30:00", "PHQ-9", [1, "two", 1, 1, 1, 1, 1, 1, 0]),
     "item_not_whole", 'item_2 "two"'),
    ("item beyond the scale", assessment("A9", "2025-01-08T08:30:00", "GAD-7", [1] * 8), "item_not_in_scale",
     "GAD-7 has 7 item columns"),
    ("total disagrees with items", assessment("A9", "2025-01-08T08:30:00", "PHQ-9", [1] * 9, total=12),
     "total_mismatch", "total 12 disagrees with the items, which give 9"),
    ("pain item and total disagree", assessment("A9", "2025-01-08T08:30:00", "PAIN-NRS", [6], total=5),
     "total_mismatch", "total 5 disagrees"),
    ("total above range", assessment("A9", "2025-01-08T08:30:00", "PHQ-9", [], total=31), "total_out_of_range",
     "PHQ-9 total 31 is outside 0-27"),
    ("pain total above 10", assessment("A9", "2025-01-08T08:30:00", "PAIN-NRS", [], total=12),
     "total_out_of_range", "PAIN-NRS total 12 is outside 0-10"),
    ("no answers at all", assessment("A9", "2025-01-08T08:30:00", "PHQ-9", []), "missing_value",
     "no PHQ-9 item answers and no total"),
    ("unknown session", assessment("A9", "2025-01-08T08:30:00", "PHQ-9", phq9_items(10), session_id="S404"),
     "unknown_session", "session S404"),
]


def assert_quarantined(clinic, file_name, rule, message, expected_row):
    row = clinic.one("SELECT * FROM quarantine")
    assert rule in row.rules
    assert message in row.reason, row.reason
    assert row.source_file.endswith(file_name) and row.source_row == expected_row
    assert row.raw  # the row as exported is kept for correction


@pytest.mark.parametrize("label,bad,rule,message", PATIENT_CASES, ids=[c[0] for c in PATIENT_CASES])
def test_bad_patient_row_is_quarantined(clinic, label, bad, rule, message):
    clinic.patients = [patient(), bad]
    run = clinic.load()
    assert run.totals.quarantined == 1
    assert_quarantined(clinic, "patients.csv", rule, message, expected_row=2)
    assert clinic.one("SELECT count(*) AS n FROM patients").n == 1


@pytest.mark.parametrize("label,bad,rule,message", SESSION_CASES, ids=[c[0] for c in SESSION_CASES])
def test_bad_session_row_is_quarantined(clinic, label, bad, rule, message):
    clinic.sessions = [GOOD_SESSION, bad]
    run = clinic.load()
    assert run.totals.quarantined == 1
    assert_quarantined(clinic, "sessions.csv", rule, message, expected_row=2)
    assert clinic.one("SELECT list(session_id) AS ids FROM sessions").ids == ["S1"]


@pytest.mark.parametrize("label,bad,rule,message", ASSESSMENT_CASES, ids=[c[0] for c in ASSESSMENT_CASES])
def test_bad_assessment_row_is_quarantined(clinic, label, bad, rule, message):
    clinic.sessions = [GOOD_SESSION]
    clinic.assessments = [GOOD_ASSESSMENT, bad]
    run = clinic.load()
    assert run.totals.quarantined == 1
    assert_quarantined(clinic, "assessments.csv", rule, message, expected_row=2)
    assert clinic.one("SELECT list(assessment_key) AS ids FROM assessments").ids == ["A1"]


def test_conflicting_duplicates_in_one_file_are_all_quarantined(clinic):
    clinic.sessions = [GOOD_SESSION]
    clinic.assessments = [
        GOOD_ASSESSMENT,
        assessment("A2", "2025-01-08T08:30:00", "PHQ-9", phq9_items(12)),
        assessment("A2", "2025-01-08T08:30:00", "PHQ-9", phq9_items(14)),
    ]
    run = clinic.load()
    assessments = next(f for f in run.files if f.kind == "assessments")
    assert (assessments.inserted, assessments.quarantined) == (1, 2)
    rows = clinic.rows("SELECT source_row, rules, reason FROM quarantine ORDER BY source_row")
    assert [r.source_row for r in rows] == [2, 3]
    assert all(r.rules == ["conflicting_duplicate"] and "rows 2 to 3" in r.reason for r in rows)


def test_exact_duplicate_in_one_file_loads_once_and_counts_as_unchanged(clinic):
    clinic.sessions = [GOOD_SESSION, GOOD_SESSION]
    run = clinic.load()
    sessions = next(f for f in run.files if f.kind == "sessions")
    assert (sessions.rows_in, sessions.inserted, sessions.unchanged, sessions.quarantined) == (2, 1, 1, 0)


def test_row_with_wrong_number_of_fields_is_quarantined_with_its_row_number(clinic):
    clinic.sessions = [GOOD_SESSION]
    clinic.assessments = [GOOD_ASSESSMENT, assessment("A2", "2025-01-08T08:30:00", "PHQ-9", phq9_items(12)),
                          assessment("A3", "2025-01-10T08:30:00", "PHQ-9", phq9_items(10))]
    files = clinic.write()
    lines = files[2].read_text().splitlines()
    lines[2] = lines[2] + ",surplus"  # data row 2 gets one field too many
    files[2].write_text("\n".join(lines) + "\n")
    from conftest import NOW
    from pipelines.ingest import ingest
    from pipelines.settings import Settings
    run = ingest(clinic.db, files, Settings(), now=NOW)
    assert (run.totals.quarantined, run.totals.inserted) == (1, 4)
    row = clinic.one("SELECT * FROM quarantine")
    assert row.rules == ["wrong_field_count"] and row.source_row == 2
    # the row after the rejected one keeps its own number
    assert clinic.one("SELECT source_row FROM assessments WHERE assessment_key = 'A3'").source_row == 3


def test_several_problems_in_one_row_are_all_reported(clinic):
    clinic.sessions = [GOOD_SESSION, session("S9", "next tuesday", pid="777", dose=0)]
    clinic.load()
    row = clinic.one("SELECT rules FROM quarantine")
    assert set(row.rules) == {"unknown_patient", "unparseable_date", "dose_out_of_range"}
