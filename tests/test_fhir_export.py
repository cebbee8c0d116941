"""`outcomes export --fhir`: scores back to the EHR as FHIR R4 (pipelines/fhir_export).

The expected resources are worked by hand from the shapes of the published examples the
reader is tested on (tests/fixtures/fhir/README.md): US Core's PHQ-9 QuestionnaireResponse
(linkId `/` + the item's LOINC code, LOINC answer codes, total item `/44261-6`), SDC's
ordinalValue on coded answers, and US Core's screening-assessment Observation (category
survey, code 44261-6, the score as a `{score}` Quantity, derivedFrom the response). LOINC
codes and answer lists: /work/shared/clinical-reference.md ("PHQ-9", "GAD-7", pain 72514-3).
Every resource is parsed with fhir.resources, and the files are read back through the real
FHIR reader by the real ingest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest
from fhir.resources.R4B import get_fhir_model_class

from pipelines.audit import read as read_audit
from pipelines.fhir_export import FhirExportError, export_fhir, validate
from pipelines.fhir_export.resources import DIFFICULTY, FREQUENCY, ID_NAMESPACE, Score
from pipelines.ingest import ingest
from pipelines.readers.fhir.codes import ANSWER_CODES
from pipelines.settings import Settings

from conftest import NOW, SAMPLE, assessment, patient

ZONE = "America/New_York"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def by_id(resources: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in resources}


def assert_valid_r4(resources: list[dict]) -> None:
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)  # raises if not valid


@pytest.fixture
def scored(clinic, tmp_path):
    """Two patients' scores of every kind the exporter meets, loaded by the real ingest, and
    exported with --all-scores."""
    clinic.patients.append(patient("pt_002", indication="bipolar_depression"))  # an underscore: not a FHIR id
    clinic.assessments = [
        # PHQ-9 items 1-9 = 2+2+1+1+0+3+0+0+1 = 10; item 10 (difficulty, not summed) = 1.
        assessment("A1", "2025-01-10T09:30:00", "PHQ-9", [2, 2, 1, 1, 0, 3, 0, 0, 1, 1]),
        # GAD-7 3+2+1+0+1+2+3 = 12, in summer time (EDT, UTC-4).
        assessment("A2", "2025-06-15T14:05:00", "GAD-7", [3, 2, 1, 0, 1, 2, 3]),
        assessment("A3", "2025-01-10T09:30:00", "PAIN-NRS", [7]),  # the one question answered: 7
        assessment("A4", "2025-01-17T09:00:00", "PAIN-NRS", total=5),  # total only
        assessment("A5", "2025-01-10T09:40:00", "PCL-5", [1] * 20),  # 20 x 1 = 20
        assessment("A6", "2025-02-10T09:40:00", "PCL-5", total=40),  # total only: no LOINC code to write it
        # Item 5 unanswered: 8 answered items sum to 8, prorated 8 x 9/8 = 9 (clinical reference, prorating).
        assessment("A7", "2025-01-24T09:30:00", "PHQ-9", [1, 1, 1, 1, None, 1, 1, 1, 1]),
        assessment("visit 8", "2025-01-31T09:30:00", "PHQ-9", [0] * 9),  # an id FHIR does not allow
        assessment("B1", "2025-01-12T10:00:00", "PHQ-9", [1] * 9, pid="pt_002"),
    ]
    run = clinic.load()
    assert run.totals.quarantined == 0
    out = tmp_path / "fhir"
    result = export_fhir(clinic.db, out, ZONE, all_scores=True)
    return clinic, out, result


def test_answer_lists_are_the_readers(scored):
    """LL358-3 and LL359-1 as the exporter writes them are the codes the reader scores."""
    for answers in (FREQUENCY, DIFFICULTY):
        assert {code: value for value, (code, _) in answers.items()}.items() <= ANSWER_CODES.items()


def test_phq9_is_a_us_core_shaped_response_and_a_survey_observation_derived_from_it(scored):
    _, out, result = scored
    responses = by_id(lines(out / "QuestionnaireResponse.ndjson"))
    observations = by_id(lines(out / "Observation.ndjson"))
    assert_valid_r4([*responses.values(), *observations.values()])

    response = responses["A1"]
    assert response["status"] == "completed"
    assert response["questionnaire"] == "http://loinc.org/q/44249-1"
    assert response["subject"] == {"reference": "Patient/001", "identifier": {
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
        "value": "001"}}
    assert response["authored"] == "2025-01-10T09:30:00-05:00"  # January: EST, UTC-5
    items = {i["linkId"]: i["answer"][0] for i in response["item"]}
    assert list(items) == ["/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5",
                           "/44253-3", "/44260-8", "/69722-7", "/44261-6"]
    assert items["/44250-9"] == {"valueCoding": {"extension": [{"url": ORDINAL, "valueDecimal": 2}],
                                                 "system": "http://loinc.org", "code": "LA6570-1",
                                                 "display": "More than half the days"}}
    assert items["/44258-2"]["valueCoding"]["code"] == "LA6571-9"  # item 6 = 3
    assert items["/44251-7"]["valueCoding"]["code"] == "LA6568-5"  # item 5 = 0
    assert items["/69722-7"]["valueCoding"]["code"] == "LA6573-5"  # difficulty 1: somewhat difficult
    assert items["/44261-6"] == {"valueInteger": 10}

    total = observations["A1"]
    assert total["status"] == "final"
    assert total["category"][0]["coding"][0]["code"] == "survey"
    assert total["code"]["coding"] == [{"system": "http://loinc.org", "code": "44261-6"}]
    assert total["effectiveDateTime"] == "2025-01-10T09:30:00-05:00"
    assert total["valueQuantity"] == {"value": 10, "unit": "{score}", "system": "http://unitsofmeasure.org",
                                      "code": "{score}"}
    assert total["derivedFrom"] == [{"reference": "QuestionnaireResponse/A1"}]

    gad = responses["A2"]
    assert gad["questionnaire"] == "http://loinc.org/q/69737-5" and gad["authored"] == "2025-06-15T14:05:00-04:00"
    assert observations["A2"]["code"]["coding"][0]["code"] == "70274-6"
    assert observations["A2"]["valueQuantity"]["value"] == 12

    prorated = {i["linkId"]: i["answer"][0] for i in responses["A7"]["item"]}
    assert "/44251-7" not in prorated and prorated["/44261-6"] == {"valueInteger": 9}
    assert observations["A7"]["valueQuantity"]["value"] == 9


def test_pain_pcl5_and_total_only_scores(scored):
    _, out, result = scored
    responses = by_id(lines(out / "QuestionnaireResponse.ndjson"))
    observations = by_id(lines(out / "Observation.ndjson"))
    # Pain: the question is LOINC 72514-3 itself.
    assert responses["A3"]["item"] == [{"linkId": "/72514-3", "answer": [{"valueInteger": 7}]}]
    assert observations["A3"]["code"]["coding"][0]["code"] == "72514-3"
    assert observations["A3"]["derivedFrom"] == [{"reference": "QuestionnaireResponse/A3"}]
    # A total without items is an Observation alone.
    assert "A4" not in responses and "derivedFrom" not in observations["A4"]
    assert observations["A4"]["valueQuantity"]["value"] == 5
    # PCL-5: numbered items, no total Observation (no LOINC code for its total).
    assert [i["linkId"] for i in responses["A5"]["item"]] == [str(n) for n in range(1, 21)]
    assert responses["A5"]["questionnaire"] == "urn:infusion-outcomes:questionnaire:pcl-5"
    assert "A5" not in observations
    # A PCL-5 known only by its total cannot be written, and the result says so.
    assert "A6" not in responses and "A6" not in observations
    assert list(result.skipped.values()) == [1] and "PCL-5" in next(iter(result.skipped))
    # Responses: A1 A2 A3 A5 A7 "visit 8" B1; Observations: the same less PCL-5 A5, plus total-only A4.
    assert result.scores == 8 and result.counts == {"QuestionnaireResponse": 7, "Observation": 7}


def test_ids_are_stable_and_a_patient_id_fhir_cannot_hold_is_an_identifier(scored, tmp_path):
    clinic, out, result = scored
    responses = lines(out / "QuestionnaireResponse.ndjson")
    key = clinic.one("SELECT assessment_key FROM assessments WHERE assessment_id = 'visit 8'").assessment_key
    own = str(uuid.uuid5(ID_NAMESPACE, key))
    assert own in by_id(responses)
    again = export_fhir(clinic.db, tmp_path / "again", ZONE, all_scores=True)
    assert (tmp_path / "again" / "QuestionnaireResponse.ndjson").read_text() == \
        (out / "QuestionnaireResponse.ndjson").read_text()
    assert again.notes == result.notes
    b1 = by_id(responses)["B1"]
    assert b1["subject"] == {"identifier": {
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
        "value": "pt_002"}}
    assert list(result.notes.values()) == [1]


def test_nothing_identifying_beyond_the_patient_id(scored):
    """No birth year, sex, indication, intake date, site, clinician or source file leaves in a resource."""
    _, out, _ = scored
    text = (out / "QuestionnaireResponse.ndjson").read_text() + (out / "Observation.ndjson").read_text()
    for value in ("Okafor", "Northside", "1980", "female", "bipolar", "2025-01-02", "assessments.csv"):
        assert value not in text


def test_round_trip_of_the_hand_made_clinic(scored, tmp_path):
    clinic, out, _ = scored
    back = tmp_path / "back.duckdb"
    run = ingest(back, [clinic.folder / "exports" / "patients.csv", out], Settings(), now=NOW)
    con = duckdb.connect(str(back), read_only=True)
    quarantined = con.execute("SELECT record_key, rules FROM quarantine").fetchall()
    con.close()
    # The one score whose patient is an identifier only is not read back (the reader follows
    # references): docs/export.md says so.
    assert run.totals.quarantined == 1 and quarantined == [("B1", ["missing_value"])]
    columns = "patient_id, instrument, administered_at, items, total, total_only, prorated, complete"
    query = f"SELECT {columns} FROM assessments WHERE total IS NOT NULL AND patient_id = '001' ORDER BY ALL"
    source = clinic.rows(query)
    source = [r for r in source if not (r.instrument == "PCL-5" and r.total_only)]  # not writable (above)
    con = duckdb.connect(str(back), read_only=True)
    returned = con.execute(query).fetchall()
    con.close()
    assert [tuple(r.values()) for r in source] == returned
    # The pain question read back is item 1 and the total, as loaded from the CSV.
    assert ("PAIN-NRS", [7], 7, False) in [(r[1], r[3], r[4], r[5]) for r in returned]


def test_by_default_only_check_in_scores_are_written(clinic, tmp_path):
    """Scores that came in an export are the EHR's or another system's already: by default
    nothing of an export-only database is written back (check-ins are source_file 'check-in')."""
    clinic.assessments = [assessment("A1", "2025-01-10T09:30:00", "PHQ-9", [1] * 9)]
    clinic.load()
    result = export_fhir(clinic.db, tmp_path / "fhir", ZONE)
    assert result.scores == 0 and result.counts == {"QuestionnaireResponse": 0, "Observation": 0}
    assert list((tmp_path / "fhir").iterdir()) == []


def test_a_resource_that_is_not_valid_r4_is_refused():
    score = Score("k", "A1", "001", "PHQ-9", None, (), 10, True)
    # fhir.resources checks structure, cardinality, types and formats (not terminology bindings).
    with pytest.raises(FhirExportError, match=r"QuestionnaireResponse/A1 .* not valid FHIR R4: status"):
        validate({"resourceType": "QuestionnaireResponse", "id": "A1"}, score)
    with pytest.raises(FhirExportError, match=r"item\.0\.linkId"):
        validate({"resourceType": "QuestionnaireResponse", "id": "A1", "status": "completed",
                  "item": [{"answer": [{"valueInteger": 1}]}]}, score)
    with pytest.raises(FhirExportError, match="effectiveDateTime"):
        validate({"resourceType": "Observation", "id": "A1", "status": "final", "code": {"text": "x"},
                  "effectiveDateTime": "10 January"}, score)


def outcomes(*args):
    # The audit log's key and head live in the user's config folder: the test's, not the machine's.
    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"]}
    command = [sys.executable, "-m", "pipelines.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parent.parent)


def test_round_trip_of_the_sample_through_the_cli(sample_database, tmp_path):
    """Every valid score of the sample, exported by the command, validated as R4, and ingested
    into an empty database (with the clinic's patients, whom the EHR already has) through the
    FHIR reader: the same scores, row for row."""
    out = tmp_path / "fhir"
    done = outcomes("export", "--fhir", "--all-scores", "--out", out, "--db", sample_database)
    assert done.returncode == 0, done.stderr
    assert "QuestionnaireResponse.ndjson" in done.stdout
    responses, observations = lines(out / "QuestionnaireResponse.ndjson"), lines(out / "Observation.ndjson")
    assert_valid_r4(responses)
    assert_valid_r4(observations)

    back = tmp_path / "back.duckdb"
    run = ingest(back, [SAMPLE / "patients.csv", out], Settings())
    assert run.totals.quarantined == 0
    query = ("SELECT patient_id, instrument, administered_at, items, total, total_only, prorated, complete "
             "FROM assessments WHERE total IS NOT NULL ORDER BY ALL")
    source = duckdb.connect(str(sample_database), read_only=True)
    expected = source.execute(query).fetchall()
    source.close()
    con = duckdb.connect(str(back), read_only=True)
    returned = con.execute(query).fetchall()
    con.close()
    assert len(expected) > 4000 and returned == expected

    entries, verification = read_audit(sample_database.parent / "audit.log")
    assert verification.ok
    assert any(e.action == "export" and "FHIR R4" in (e.detail or "") and str(out) in e.detail for e in entries)

    again = outcomes("export", "--fhir", "--out", out, "--db", sample_database)
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr
    assert not list(tmp_path.glob(".*partial*"))
    both = outcomes("export", "--fhir", "--deidentified", "--out", tmp_path / "x", "--db", sample_database)
    assert both.returncode == 2 and "choose one" in both.stderr and not (tmp_path / "x").exists()


def test_an_export_that_fails_leaves_no_file_behind(scored, tmp_path):
    clinic, _, _ = scored
    with pytest.raises(Exception):
        export_fhir(clinic.db, tmp_path / "failed", "Not/A_Zone", all_scores=True)
    assert not (tmp_path / "failed").exists() and not list(tmp_path.glob(".*partial*"))


def test_check_ins_are_what_is_written_by_default_and_they_round_trip(clinic, tmp_path):
    """Check-ins saved in the store (pipelines/store/checkins.py) and loaded by the ingest as
    source 'check-in' are written by default; the scores that came in the CSV export are not.
    Hand-worked totals as in tests/test_checkin_store.py: PHQ-9 1+2+3+0+1+2+1+0+1 = 11, GAD-7
    7 x 2 = 14, pain 7, PCL-5 20 x 2 = 40, PHQ-9 with items 8 and 9 skipped 8 x 9/7 = 10.29 -> 10."""
    import datetime as dt

    from pipelines.store.checkins import ScaleAnswers, new_code, save_checkin

    answered = dt.datetime(2026, 5, 31, 15, 0, tzinfo=dt.timezone.utc)  # 11:00 in New York (EDT)

    def code() -> str:
        return new_code(clinic.db, "001", "dr@example.org", minutes=30, now=answered - dt.timedelta(minutes=5))[0]

    clinic.assessments = [assessment("csv-phq", "2026-05-01T09:00:00", "PHQ-9", [1] * 9)]
    clinic.load()
    save_checkin(clinic.db, code(), [ScaleAnswers("PHQ-9", (1, 2, 3, 0, 1, 2, 1, 0, 1, 2)),
                                     ScaleAnswers("GAD-7", (2,) * 7), ScaleAnswers("PAIN-NRS", (7,)),
                                     ScaleAnswers("PCL-5", (2,) * 20)], now=answered)
    save_checkin(clinic.db, code(), [ScaleAnswers("PHQ-9", (1, 1, 1, 1, 1, 1, 2, None, None), skipped=(8, 9))],
                 now=answered + dt.timedelta(minutes=1))
    clinic.load()

    out = tmp_path / "to-ehr"
    result = export_fhir(clinic.db, out, ZONE)
    responses = lines(out / "QuestionnaireResponse.ndjson")
    observations = lines(out / "Observation.ndjson")
    assert_valid_r4([*responses, *observations])
    assert result.scores == 5 and len(responses) == 5 and len(observations) == 4  # no PCL-5 total Observation
    assert all(r["id"].startswith("check-in-") for r in responses)
    assert {r["authored"] for r in responses} == {"2026-05-31T11:00:00-04:00", "2026-05-31T11:01:00-04:00"}
    totals = {o["code"]["coding"][0]["code"]: o["valueQuantity"]["value"] for o in observations
              if o["effectiveDateTime"].startswith("2026-05-31T11:00")}
    assert totals == {"44261-6": 11, "70274-6": 14, "72514-3": 7}
    later = next(o for o in observations if o["effectiveDateTime"] == "2026-05-31T11:01:00-04:00")
    assert later["valueQuantity"]["value"] == 10
    pcl = next(r for r in responses if r["questionnaire"].endswith("pcl-5"))
    assert sum(i["answer"][0]["valueInteger"] for i in pcl["item"]) == 40

    back = tmp_path / "back" / "outcomes.duckdb"
    back.parent.mkdir()
    run = ingest(back, [clinic.folder / "exports" / "patients.csv", out], Settings(), now=NOW)
    assert run.totals.quarantined == 0
    columns = "patient_id, instrument, administered_at, items, total, total_only, prorated, complete, item9_positive"
    expected = [tuple(r.values()) for r in clinic.rows(
        f"SELECT {columns} FROM assessments WHERE source_file = 'check-in' ORDER BY ALL")]
    con = duckdb.connect(str(back), read_only=True)
    returned = con.execute(f"SELECT {columns} FROM assessments ORDER BY ALL").fetchall()
    con.close()
    assert len(expected) == 5 and returned == expected
