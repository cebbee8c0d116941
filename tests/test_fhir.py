"""FHIR R4 exports (a Bundle, or an NDJSON bulk export): resources become the canonical rows
of the CSV exports and load through the same validation, quarantine and upsert."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.formats import ImportFormatError
from pipelines.ingest import expand_paths, ingest
from pipelines.readers import readers_for
from pipelines.settings import Settings

from conftest import NOW, SAMPLE, query, write_csv

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
GAD7_ITEMS = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]


def code(text: str, system: str = LOINC) -> dict:
    return {"coding": [{"system": system, "code": text}]}


def mmhg(value) -> dict:
    return {"value": value, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}


def vital(oid, when, loinc, part_of="Procedure/S1", value=None, **extra) -> dict:
    resource = {"resourceType": "Observation", "id": oid, "status": "final", "code": code(loinc),
                "subject": {"reference": "Patient/001"}, "partOf": [{"reference": part_of}],
                "effectiveDateTime": when, **extra}
    if value is not None:
        resource["valueQuantity"] = {"value": value}
    return resource


def bp(oid, when, systolic, diastolic) -> dict:
    return vital(oid, when, "85354-9", component=[{"code": code("8480-6"), "valueQuantity": mmhg(systolic)},
                                                  {"code": code("8462-4"), "valueQuantity": mmhg(diastolic)}])


def answer(value) -> list[dict]:
    return [value if isinstance(value, dict) else {"valueInteger": value}]


def la(code_text: str, ordinal=None) -> dict:
    coding = {"system": LOINC, "code": code_text}
    if ordinal is not None:
        coding["extension"] = [{"url": ORDINAL, "valueDecimal": ordinal}]
    return {"valueCoding": coding}


def clinic_resources() -> list[tuple[str | None, dict]]:
    """Hand-made: (fullUrl, resource) in Bundle order; the comments give each entry's number."""
    phq9 = [  # PHQ-9 answers in every encoding: 3 + 2 + 1 + 2 + 1 + 3 + 1 + 1 + 0 = 14
        {"linkId": "/44250-9", "answer": answer(la("LA6571-9"))},                  # 3
        {"linkId": "/44255-8", "answer": answer(la("LA6570-1"))},                  # 2
        {"linkId": "/44259-0", "answer": answer(la("LA6569-3"))},                  # 1
        {"linkId": "/44254-1", "answer": answer(2)},                               # valueInteger
        {"linkId": "44251-7", "answer": answer({"valueDecimal": 1})},              # valueDecimal
        {"linkId": "/44258-2", "answer": answer(la("LA6568-5", ordinal=3))},       # ordinalValue wins: 3, not 0
        {"linkId": "seven", "definition": "http://loinc.org/44252-5", "answer": answer(1)},
        {"linkId": "group", "item": [{"linkId": "/44253-3", "answer": answer(1)}]},  # nested in a group
        {"linkId": "/44260-8", "answer": answer(la("LA6568-5"))},                  # 0
        {"linkId": "comment", "answer": [{"valueString": "felt better this week"}]},  # not a question we read
    ]
    return [
        (None, {"resourceType": "Organization", "id": "north", "name": "Northside"}),  # 1: skipped
        (None, {"resourceType": "Patient", "id": "001", "gender": "female", "birthDate": "1980-04-02"}),  # 2
        (None, {"resourceType": "EpisodeOfCare", "id": "course-001", "status": "active",  # 3
                "patient": {"reference": "Patient/001"}, "period": {"start": "2025-01-02"},
                "managingOrganization": {"reference": "Organization/north", "display": "Northside"},
                "careManager": {"display": "Dr. Okafor"},
                "diagnosis": [{"condition": {"display": "anxiety"}, "rank": 2},
                              {"condition": {"reference": "urn:uuid:6a4f0d5e-0c1b-4d7e-9a55-2d0f6a0b1c11"}, "rank": 1}]}),
        ("urn:uuid:6a4f0d5e-0c1b-4d7e-9a55-2d0f6a0b1c11",  # 4: the rank-1 diagnosis, ICD-10-CM F43.10
         {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/001"},
          "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F43.10"}], "text": "PTSD"}}),
        (None, {"resourceType": "Patient", "id": "002", "gender": "male", "birthDate": "1990"}),  # 5: no course
        (None, {"resourceType": "Patient", "id": "003", "birthDate": "1980-13-01"}),  # 6: invalid date
        (None, {"resourceType": "Procedure", "id": "S1", "status": "completed",  # 7
                "subject": {"reference": "Patient/001"},
                "performedPeriod": {"start": "2025-01-12T10:00:00-05:00", "end": "2025-01-12T10:40:00-05:00"},
                "performer": [{"actor": {"display": "Dr. Okafor"}}], "location": {"display": "Northside"}}),
        (None, {"resourceType": "MedicationAdministration", "id": "M1", "status": "completed",  # 8
                "partOf": [{"reference": "Procedure/S1"}], "medicationCodeableConcept": {"text": "ketamine"},
                "subject": {"reference": "Patient/001"}, "effectiveDateTime": "2025-01-12T10:00:00-05:00",
                "dosage": {"route": code("47625008", SNOMED), "dose": {"value": 35, "unit": "mg"}}}),
        (None, vital("w", "2025-01-12T09:50:00-05:00", "29463-7", value=70)),  # 9
        (None, bp("bp-old", "2025-01-12T09:30:00-05:00", 150, 95)),  # 10: earlier than the pre reading
        (None, bp("bp-pre", "2025-01-12T09:55:00-05:00", 120, 80)),  # 11
        (None, vital("hr", "2025-01-12T09:55:00-05:00", "8867-4", value=72)),  # 12
        (None, vital("spo2-pre", "2025-01-12T09:55:00-05:00", "59408-5", value=99)),  # 13: before the start
        (None, bp("bp-peak", "2025-01-12T10:15:00-05:00", 140, 88)),  # 14: the highest systolic after the start
        (None, bp("bp-late", "2025-01-12T10:30:00-05:00", 135, 92)),  # 15
        (None, vital("spo2-a", "2025-01-12T10:15:00-05:00", "59408-5", value=97)),  # 16
        (None, vital("spo2-b", "2025-01-12T10:30:00-05:00", "2708-6", value=95)),  # 17: the lowest
        (None, {"resourceType": "MedicationAdministration", "id": "M2", "status": "completed",  # 18: on its own
                "medicationCodeableConcept": {"text": "esketamine"}, "subject": {"reference": "Patient/001"},
                "effectiveDateTime": "2025-01-19T10:00:00-05:00", "performer": [{"actor": {"display": "Dr. Lee"}}],
                "dosage": {"route": code("46713006", SNOMED), "dose": {"value": 56, "unit": "mg"}}}),
        (None, {"resourceType": "Procedure", "id": "S2", "status": "not-done",  # 19
                "subject": {"reference": "Patient/001"}, "performedDateTime": "2025-01-26T10:00:00-05:00"}),
        (None, {"resourceType": "QuestionnaireResponse", "id": "A1", "status": "completed",  # 20
                "questionnaire": "http://loinc.org/q/44249-1", "subject": {"reference": "Patient/001"},
                "authored": "2025-01-05T09:00:00-05:00", "item": phq9}),
        (None, {"resourceType": "Observation", "id": "T1", "status": "final", "code": code("44261-6"),  # 21
                "subject": {"reference": "Patient/001"}, "effectiveDateTime": "2025-01-05T09:00:00-05:00",
                "derivedFrom": [{"reference": "QuestionnaireResponse/A1"}], "valueInteger": 14}),
        (None, {"resourceType": "QuestionnaireResponse", "id": "A2", "status": "completed",  # 22: scale from items
                "subject": {"reference": "Patient/001"}, "partOf": [{"reference": "Procedure/S1"}],
                "authored": "2025-01-12T09:50:00-05:00",
                "item": [{"linkId": f"/{c}", "answer": answer(1)} for c in GAD7_ITEMS]}),
        (None, {"resourceType": "Observation", "id": "P1", "status": "final", "code": code("72514-3"),  # 23
                "subject": {"reference": "Patient/001"}, "partOf": [{"reference": "Procedure/S1"}],
                "effectiveDateTime": "2025-01-12T10:45:00-05:00", "valueInteger": 6}),
        (None, {"resourceType": "QuestionnaireResponse", "id": "A3", "status": "completed",  # 24: a word
                "questionnaire": "http://example.org/fhir/Questionnaire/phq-9", "subject": {"reference": "Patient/001"},
                "authored": "2025-01-19T09:00:00-05:00",
                "item": [{"linkId": f"phq9_{n}", "answer": [{"valueString": "often"} if n == 2 else {"valueInteger": 1}]}
                         for n in range(1, 10)]}),
        (None, {"resourceType": "QuestionnaireResponse", "id": "A4", "status": "entered-in-error",  # 25
                "questionnaire": "http://loinc.org/q/44249-1", "subject": {"reference": "Patient/001"},
                "authored": "2025-01-20T09:00:00-05:00", "item": [{"linkId": "1", "answer": answer(1)}]}),
    ]


def write_bundle(path: Path, resources=None, bundle_type: str = "collection") -> Path:
    entries = []
    for full_url, resource in resources or clinic_resources():
        entries.append({**({"fullUrl": full_url} if full_url else {}), "resource": resource})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"resourceType": "Bundle", "type": bundle_type, "entry": entries}), encoding="utf-8")
    return path


def staged_rows(path: Path) -> dict[str, list[tuple]]:
    """Each unit's staged rows (without the resource JSON) and rejects, by kind."""
    reader = readers_for([path])[path]
    con = duckdb.connect()
    found = {}
    for number, unit in enumerate(reader.units, start=1):
        for staged in unit.stage(con, number):
            rows = con.execute("SELECT * EXCLUDE (resource) FROM staged ORDER BY source_row").fetchall()
            found[unit.kind.name] = (rows, [(r.source_row, r.rule, r.message) for r in staged.rejects])
    con.close()
    return found


def test_a_bundle_is_staged_as_the_csv_exports_rows(tmp_path):
    found = staged_rows(write_bundle(tmp_path / "export.json"))
    assert list(found) == ["patients", "sessions", "assessments"]

    patients, rejects = found["patients"]
    assert patients == [
        # source_row, patient_id, birth_year, sex, primary_indication, site, clinician, intake_date, contraindications,
        # discharge_date (the EpisodeOfCare is active: not discharged)
        (2, "001", "1980", "female", "ptsd", "Northside", "Dr. Okafor", "2025-01-02", None, None),
        (5, "002", "1990", "male", None, None, None, None, None, None),
    ]
    assert rejects == [(6, "invalid_fhir",
                        "Patient/003 is not valid FHIR R4: birthDate: Date value string does not match spec regex.")]

    sessions, rejects = found["sessions"]
    assert sessions == [
        # ..., started_at, route, dose_mg, weight_kg, duration_min, clinician, site,
        # bp_pre, bp_peak, hr_pre, spo2_min, cadss_total, side_effects, adverse_event
        (7, "S1", "001", "2025-01-12T10:00:00-05:00", "iv", 35.0, 70.0, 40.0, "Dr. Okafor", "Northside",
         120.0, 80.0, 140.0, 88.0, 72.0, 95.0, None, None, None),
        (18, "M2", "001", "2025-01-19T10:00:00-05:00", "intranasal", 56.0, None, None, "Dr. Lee", None,
         None, None, None, None, None, None, None, None, None),
    ]
    assert rejects == [(19, "not_given", "Procedure/S2 has status not-done: the infusion was not given")]

    assessments, rejects = found["assessments"]
    nothing = [None] * 20
    assert [(r[0], r[1:6], list(r[7:27]), r[6]) for r in assessments] == [
        # source_row, (patient_id, instrument, administered_at, assessment_id, session_id), items, total
        # (staged columns: ..., session_id, total, item_1 ... item_20)
        (20, ("001", "PHQ-9", "2025-01-05T09:00:00-05:00", "A1", None),
         [3.0, 2.0, 1.0, 2.0, 1.0, 3.0, 1.0, 1.0, 0.0] + nothing[9:], 14.0),
        (22, ("001", "GAD-7", "2025-01-12T09:50:00-05:00", "A2", "S1"), [1.0] * 7 + nothing[7:], None),
        (23, ("001", "PAIN-NRS", "2025-01-12T10:45:00-05:00", "P1", "S1"), nothing, 6.0),
    ]
    assert [(row, rule) for row, rule, _ in rejects] == [(24, "item_not_whole"), (25, "entered_in_error")]
    assert "QuestionnaireResponse/A3 PHQ-9 linkId 'phq9_2': item answer valueString 'often' is not a number" \
        in rejects[0][2]


def load(tmp_path: Path, resources=None, progress=lambda message: None):
    return ingest(tmp_path / "outcomes.duckdb", [write_bundle(tmp_path / "exports" / "export.json", resources)],
                  Settings(), now=NOW, progress=progress)


def test_a_bundle_loads_scores_and_quarantines_with_file_entry_and_reason(tmp_path):
    messages = []
    run = load(tmp_path, progress=messages.append)
    # the Organization is skipped and said so, not counted as a row
    assert any("skipped 1 Organization" in m for m in messages)
    (result,) = run.files
    assert result.kind == "patients+sessions+assessments"
    assert (result.rows_in, result.inserted, result.updated, result.unchanged, result.quarantined) == (11, 7, 0, 0, 4)
    db = tmp_path / "outcomes.duckdb"
    # Patient 002 has no EpisodeOfCare: incomplete (no indication, site, clinician or intake date), so
    # it loads with those unknown rather than being quarantined (issue 14).
    assert query(db, "SELECT patient_id, primary_indication, intake_date::VARCHAR FROM patients ORDER BY 1") == [
        ("001", "ptsd", "2025-01-02"), ("002", None, None)]
    # clinic time (America/New_York): the offsets -05:00 read back as the times written
    assert query(db, "SELECT session_id, started_at::VARCHAR, route FROM sessions ORDER BY 1") == [
        ("M2", "2025-01-19 10:00:00", "intranasal"), ("S1", "2025-01-12 10:00:00", "iv")]
    assert query(db, "SELECT instrument, administered_at::VARCHAR, total FROM scores ORDER BY 2") == [
        ("PHQ-9", "2025-01-05 09:00:00", 14), ("GAD-7", "2025-01-12 09:50:00", 7),
        ("PAIN-NRS", "2025-01-12 10:45:00", 6)]
    quarantined = query(db, "SELECT source_file, source_row, kind, rules, reason, raw FROM quarantine ORDER BY 2")
    assert {Path(q[0]).name for q in quarantined} == {"export.json"}
    assert [(q[1], q[2], q[3]) for q in quarantined] == [
        (6, "patients", ["invalid_fhir"]),
        (19, "sessions", ["not_given"]),
        (24, "assessments", ["item_not_whole"]),
        (25, "assessments", ["entered_in_error"]),
    ]
    assert "birthDate" in quarantined[0][4]
    assert json.loads(json.loads(quarantined[0][5])["line"])["id"] == "003"  # a reject keeps the resource
    assert json.loads(json.loads(quarantined[3][5])["line"])["id"] == "A4"


def test_reingesting_the_same_bundle_changes_nothing_and_an_edited_answer_is_an_update(tmp_path):
    load(tmp_path)
    (again,) = load(tmp_path).files
    assert (again.inserted, again.updated, again.unchanged, again.quarantined) == (0, 0, 7, 4)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT count(*) FROM quarantine") == [(4,)]

    edited = clinic_resources()
    a1 = next(r for _, r in edited if r.get("id") == "A1")
    a1["item"][8]["answer"] = answer(la("LA6569-3"))  # item 9: 0 -> 1
    next(r for _, r in edited if r.get("id") == "T1")["valueInteger"] = 15
    (third,) = load(tmp_path, edited).files
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 6)
    assert query(db, "SELECT total, item9_positive FROM scores WHERE instrument = 'PHQ-9'") == [(15, True)]
    assert query(db, "SELECT assessment_key, total FROM assessments_history") == [("A1", 14)]


def test_an_observation_total_without_its_response_is_an_assessment_of_its_own(tmp_path):
    resources = [r for r in clinic_resources() if r[1].get("id") != "A1"]  # T1 now derives from nothing here
    run = load(tmp_path, resources)
    assert run.files[0].inserted == 7
    assert query(tmp_path / "outcomes.duckdb",
                 "SELECT assessment_key, instrument, total, total_only FROM scores WHERE instrument = 'PHQ-9'") == [
        ("T1", "PHQ-9", 14, True)]


def ndjson(folder: Path, name: str, lines: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
                    encoding="utf-8")
    return path


def test_an_ndjson_bulk_export_resolves_references_across_its_files(tmp_path):
    """The dose is in MedicationAdministration.ndjson, blood pressure in two Observations part
    of the administration; a line that is not JSON is quarantined with its line number."""
    folder = tmp_path / "bulk"
    ndjson(folder, "Patient.ndjson", [
        {"resourceType": "Patient", "id": "001", "gender": "female", "birthDate": "1980"},
        '{"resourceType": "Patient", "id": "002", "gender": ',
    ])
    ndjson(folder, "EpisodeOfCare.ndjson", [
        {"resourceType": "EpisodeOfCare", "id": "e1", "status": "active", "patient": {"reference": "Patient/001"},
         "period": {"start": "2025-01-02"}, "managingOrganization": {"display": "Riverside"},
         "careManager": {"display": "Dr. Fischer"}, "diagnosis": [{"condition": {"display": "Bipolar Depression"}}]},
        {"resourceType": "EpisodeOfCare", "id": "e0", "status": "finished", "patient": {"reference": "Patient/001"},
         "period": {"start": "2025-03-01"}, "diagnosis": [{"condition": {"display": "anxiety"}}]},
    ])
    ndjson(folder, "Procedure.ndjson", [
        {"resourceType": "Procedure", "id": "S1", "status": "completed", "subject": {"reference": "Patient/001"},
         "performedDateTime": "2025-01-12T10:00:00-05:00", "location": {"display": "Riverside"}}])
    ndjson(folder, "MedicationAdministration.ndjson", [
        {"resourceType": "MedicationAdministration", "id": "M1", "status": "completed",
         "partOf": [{"reference": "Procedure/S1"}], "medicationCodeableConcept": {"text": "ketamine"},
         "subject": {"reference": "Patient/001"}, "effectiveDateTime": "2025-01-12T10:00:00-05:00",
         "dosage": {"route": {"text": "IM"}, "dose": {"value": 40, "unit": "mg"}}}])
    ndjson(folder, "Observation.ndjson", [
        vital("sys", "2025-01-12T09:55:00-05:00", "8480-6", part_of="MedicationAdministration/M1", value=118),
        vital("dia", "2025-01-12T09:55:00-05:00", "8462-4", part_of="MedicationAdministration/M1", value=76),
        {"resourceType": "Observation", "id": "lab", "status": "final", "code": code("2345-7"),
         "subject": {"reference": "Patient/001"}, "valueQuantity": {"value": 5.1}},
        {"resourceType": "Observation", "id": "t", "status": "final", "code": code("70274-6"),
         "subject": {"reference": "Patient/001"}, "effectiveDateTime": "2025-01-05T09:00:00-05:00",
         "derivedFrom": [{"reference": "QuestionnaireResponse/G1"}], "valueInteger": 7},
    ])
    ndjson(folder, "QuestionnaireResponse.ndjson", [
        {"resourceType": "QuestionnaireResponse", "id": "G1", "status": "completed",
         "questionnaire": "http://loinc.org/q/69737-5|2.74", "subject": {"reference": "Patient/001"},
         "authored": "2025-01-05T09:00:00-05:00",
         "item": [{"linkId": f"gad7_{n}", "answer": answer(la("LA6569-3", ordinal=1))} for n in range(1, 8)]}])
    (folder / "README.md").write_text("Bulk export of 2025-01-31\n", encoding="utf-8")

    run = ingest(tmp_path / "outcomes.duckdb", [folder], Settings(), now=NOW)
    by_name = {Path(f.path).name: f for f in run.files}
    assert sorted(by_name) == ["EpisodeOfCare.ndjson", "MedicationAdministration.ndjson", "Observation.ndjson",
                               "Patient.ndjson", "Procedure.ndjson", "QuestionnaireResponse.ndjson"]
    assert [f.kind for f in run.files][:2] == ["patients", "patients"]
    assert (by_name["Patient.ndjson"].rows_in, by_name["Patient.ndjson"].inserted,
            by_name["Patient.ndjson"].quarantined) == (2, 1, 1)
    # context resources are not rows of their own; the lab result is skipped
    assert [by_name[n].rows_in for n in ("EpisodeOfCare.ndjson", "MedicationAdministration.ndjson",
                                         "Observation.ndjson")] == [0, 0, 0]
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT primary_indication, site, clinician, intake_date::VARCHAR FROM patients") == [
        ("bipolar_depression", "Riverside", "Dr. Fischer", "2025-01-02")]  # the earlier course
    assert query(db, "SELECT route, dose_mg, bp_pre_sys, bp_pre_dia, duration_min FROM sessions") == [
        ("im", 40.0, 118, 76, None)]
    assert query(db, "SELECT instrument, total, complete FROM scores") == [("GAD-7", 7, True)]
    ((path, row, rules, reason),) = query(db, "SELECT source_file, source_row, rules, reason FROM quarantine")
    assert path.endswith("Patient.ndjson") and row == 2 and rules == ["unreadable_row"]
    assert reason.startswith("line 2 is not JSON")


@pytest.mark.parametrize("name, text, message", [
    ("broken.json", '{"resourceType": "Bundle", ', r"broken\.json: not valid JSON"),
    ("settings.json", '{"theme": "dark"}', r"settings\.json: JSON, but not a FHIR resource"),
    ("rows.ndjson", '{"a": 1}\n{"a": 2}\n', r"rows\.ndjson: NDJSON, but no line is a FHIR resource"),
    ("empty.json", "  \n", r"empty\.json: empty file"),
])
def test_a_file_that_is_not_fhir_stops_the_run_before_anything_is_written(tmp_path, name, text, message):
    good = write_bundle(tmp_path / "export.json")
    bad = tmp_path / name
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFormatError, match=message):
        ingest(tmp_path / "outcomes.duckdb", [good, bad], Settings(), now=NOW)
    assert not (tmp_path / "outcomes.duckdb").exists()


def test_folders_give_csv_json_and_ndjson_exports_and_nothing_else(tmp_path):
    for name in ("README.md", "b.ndjson", "a.json", "c.csv", "notes.txt", "redcap_mapping.toml"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.json", "b.ndjson", "c.csv"]


def _read(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), list(reader)


def test_the_sample_clinic_as_csv_redcap_and_fhir_gives_identical_patient_outcomes(tmp_path):
    """data/sample/fhir/ holds the REDCap sample's ten patients with their sessions and PHQ-9,
    GAD-7 and pain scores: half as a Bundle, half as an NDJSON bulk export."""
    _, redcap = _read(SAMPLE / "redcap" / "export.csv")
    ids = {row["record_id"] for row in redcap}
    scales = {"PHQ9", "GAD7", "PAINNRS"}
    subset = {}
    for name in ("patients", "sessions", "assessments"):
        header, rows = _read(SAMPLE / f"{name}.csv")
        keep = [r for r in rows if r["patient_id"] in ids and (
            name != "assessments" or "".join(c for c in r["instrument"].upper() if c.isalnum()) in scales)]
        subset[name] = write_csv(tmp_path / f"{name}.csv", header, keep)
    assert len(ids) == 10

    as_csv = ingest(tmp_path / "csv.duckdb", list(subset.values()), Settings(), now=NOW)
    as_redcap = ingest(tmp_path / "redcap.duckdb", [subset["patients"], subset["sessions"],
                                                    SAMPLE / "redcap" / "export.csv"], Settings(), now=NOW)
    assert as_redcap.files[-1].inserted == as_csv.files[-1].inserted > 90  # the assessments, one for one
    as_fhir = ingest(tmp_path / "fhir.duckdb", [SAMPLE / "fhir"], Settings(), now=NOW)
    assert as_fhir.totals.quarantined == as_csv.totals.quarantined == 0
    assert as_fhir.totals.inserted == as_csv.totals.inserted > 150
    assert {Path(f.path).name for f in as_fhir.files} >= {"bundle.json", "Patient.ndjson", "Procedure.ndjson"}

    outcomes_sql = "SELECT * FROM patient_outcomes ORDER BY ALL"
    from_csv = query(tmp_path / "csv.duckdb", outcomes_sql)
    assert len(from_csv) >= 10
    assert query(tmp_path / "redcap.duckdb", outcomes_sql) == from_csv
    assert query(tmp_path / "fhir.duckdb", outcomes_sql) == from_csv
    # Row by row too, but for what FHIR does not carry (docs/import-format.md, "FHIR R4").
    for sql in ("SELECT * EXCLUDE (contraindications, source_file, source_row, run_id) FROM patients ORDER BY ALL",
                "SELECT * EXCLUDE (cadss_total, side_effects, adverse_event, source_file, source_row, run_id)"
                " FROM sessions ORDER BY ALL",
                "SELECT assessment_key, patient_id, instrument, administered_at, session_id, total FROM scores"
                " ORDER BY ALL"):
        assert query(tmp_path / "fhir.duckdb", sql) == query(tmp_path / "csv.duckdb", sql)


def test_the_sample_uses_both_shapes_and_every_answer_encoding():
    bundle = json.loads((SAMPLE / "fhir" / "bundle.json").read_text(encoding="utf-8"))
    text = json.dumps(bundle) + "".join(p.read_text(encoding="utf-8") for p in (SAMPLE / "fhir").glob("*.ndjson"))
    assert bundle["resourceType"] == "Bundle" and (SAMPLE / "fhir" / "QuestionnaireResponse.ndjson").exists()
    assert '"LA6570-1"' in text and '"valueInteger"' in text and ORDINAL in text
    assert sorted(p.name for p in (SAMPLE / "fhir").iterdir()) == [
        "EpisodeOfCare.ndjson", "MedicationAdministration.ndjson", "Observation.ndjson", "Patient.ndjson",
        "Procedure.ndjson", "QuestionnaireResponse.ndjson", "bundle.json"]


def test_the_sample_is_regenerated_exactly_from_the_csv_sample(tmp_path):
    from pipelines.synth.fhir import write_fhir_sample

    write_fhir_sample(SAMPLE, tmp_path)
    for path in (SAMPLE / "fhir").iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
