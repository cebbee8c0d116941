"""FHIR as EHRs and questionnaire apps send it: resources in the shapes public implementation
guides publish (tests/fixtures/fhir/, each file's source and changes in its README), loaded
through `outcomes ingest` into a real DuckDB file, with totals worked out by hand."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from pipelines.ingest import ingest
from pipelines.settings import Settings

from conftest import NOW, query

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"


def fixture(name: str) -> list[dict]:
    """A fixture Bundle's resources (a copy, to edit)."""
    bundle = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return [entry["resource"] for entry in bundle["entry"]]


def run(tmp_path: Path, resources: list[dict], name: str = "export.json", db: str = "outcomes.duckdb"):
    """Write `resources` as one collection Bundle and ingest it; (run, progress messages)."""
    path = tmp_path / "exports" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": r} for r in resources]}), encoding="utf-8")
    messages: list[str] = []
    return ingest(tmp_path / db, [path], Settings(), now=NOW, progress=messages.append), messages


def ingest_fixture(tmp_path: Path, name: str):
    return ingest(tmp_path / "outcomes.duckdb", [FIXTURES / name], Settings(), now=NOW)


def scores(tmp_path: Path) -> list[tuple]:
    return query(tmp_path / "outcomes.duckdb",
                 "SELECT s.assessment_key, s.instrument, s.total, a.items, s.complete"
                 " FROM scores AS s JOIN assessments AS a USING (assessment_key) ORDER BY 1")


def quarantined(tmp_path: Path) -> list[tuple]:
    return query(tmp_path / "outcomes.duckdb", "SELECT source_row, rules, reason FROM quarantine ORDER BY 1")


def test_an_ehr_export_without_episode_of_care_or_medication_administration_loads_whole(tmp_path):
    """US Core shapes: the indication comes from the encounter-diagnosis Condition coded F33.1 (the
    duodenal ulcer on the problem list and the burn are not indications); the infusion Procedure
    has no MedicationAdministration, so it loads with dose and route unknown."""
    result = ingest_fixture(tmp_path, "us-core-ehr-phq9.json")
    assert (result.totals.rows_in, result.totals.inserted, result.totals.quarantined) == (3, 3, 0)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT patient_id, primary_indication, sex, birth_year FROM patients") == [
        ("example", "depression", "unknown", 1987)]  # the example has no gender
    assert query(db, "SELECT session_id, started_at::VARCHAR, dose_mg, route FROM sessions") == [
        ("ketamine-infusion-1", "2022-11-22 10:00:00", None, None)]
    # 2+2+2+2+1+1+2+0+0 = 12 (README); the difficulty answer LA6573-5 is item 10 = 1, not summed
    assert scores(tmp_path) == [("phq-9-example", "PHQ-9", 12, [2, 2, 2, 2, 1, 1, 2, 0, 0, 1], True)]
    assert quarantined(tmp_path) == []


def test_the_earliest_active_condition_naming_an_indication_is_the_indication(tmp_path):
    resources = fixture("us-core-ehr-phq9.json")
    depression = next(r for r in resources if r["id"] == "encounter-diagnosis-depression")
    ptsd = copy.deepcopy(depression) | {"id": "ptsd", "recordedDate": "2021-05-01"}
    ptsd["code"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F43.10"}]}
    resolved = copy.deepcopy(ptsd) | {"id": "resolved", "recordedDate": "2020-01-01",
                                      "clinicalStatus": {"coding": [{"code": "resolved"}]}}
    resolved["code"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "G89.4"}]}
    run(tmp_path, [*resources, ptsd, resolved])
    assert query(tmp_path / "outcomes.duckdb", "SELECT primary_indication FROM patients") == [("ptsd",)]
    # An EpisodeOfCare naming a diagnosis still wins over the Conditions.
    episode = {"resourceType": "EpisodeOfCare", "id": "course", "status": "active",
               "patient": {"reference": "Patient/example"}, "period": {"start": "2022-11-01"},
               "diagnosis": [{"condition": {"display": "anxiety"}}]}
    run(tmp_path, [*resources, ptsd, episode], db="second.duckdb")
    assert query(tmp_path / "second.duckdb", "SELECT primary_indication, intake_date::VARCHAR FROM patients") == [
        ("anxiety", "2022-11-01")]


def test_the_sdc_phq9_example_nested_in_a_group_with_codesystem_weights(tmp_path):
    result = ingest_fixture(tmp_path, "sdc-phq9.json")
    assert (result.totals.rows_in, result.totals.inserted, result.totals.quarantined) == (2, 2, 0)
    # 0+0+0+1+2+1+3+2+1 = 10 (README); `H1/TS` is not known to be the total without the Questionnaire
    assert scores(tmp_path) == [
        ("questionnaireresponse-sdc-profile-example-PHQ9", "PHQ-9", 10, [0, 0, 0, 1, 2, 1, 3, 2, 1, None], True)]


def test_with_its_questionnaire_the_sdc_examples_wrong_total_is_read_and_quarantined(tmp_path):
    """The Questionnaire gives `H1/TS` the LOINC total code: the example's 13 disagrees with its
    answers (10), so the response is wrong, not incomplete."""
    questionnaire = json.loads((FIXTURES / "sdc-phq9-questionnaire.json").read_text(encoding="utf-8"))
    run(tmp_path, [*fixture("sdc-phq9.json"), questionnaire])
    ((row, rules, reason),) = quarantined(tmp_path)
    assert rules == ["total_mismatch"] and "total 13 disagrees with the items, which give 10" in reason


def test_mii_proms_phq9_and_gad7_with_numbered_link_ids(tmp_path):
    result = ingest_fixture(tmp_path, "mii-proms-phq9-gad7.json")
    assert (result.totals.rows_in, result.totals.inserted, result.totals.quarantined) == (4, 4, 0)
    # PHQ-9: 9 x 3 = 27, PHQ.10 "Extremely difficult" = 3 recorded; GAD-7: 2+3+2+1+2+1+2 = 13
    assert scores(tmp_path) == [
        ("mii-exa-pro-gad-7-response", "GAD-7", 13, [2, 3, 2, 1, 2, 1, 2], True),
        ("mii-exa-pro-phq-9-response", "PHQ-9", 27, [3] * 9 + [3], True),
    ]


def lhc_response(link_ids: list[str], questionnaire: str | None, **extra) -> dict:
    """The US Core PHQ-9 response with its linkIds renamed (answers 2,2,2,2,1,1,2,0,0 = 12)."""
    response = next(r for r in fixture("us-core-ehr-phq9.json") if r["resourceType"] == "QuestionnaireResponse")
    response = {k: v for k, v in response.items() if k != "questionnaire"} | extra
    if questionnaire:
        response["questionnaire"] = questionnaire
    scored = response["item"][:9]
    for item, link in zip(scored, link_ids):
        item["linkId"] = link
    response["item"] = scored
    return response


def test_common_link_id_patterns_are_read_once_the_questionnaire_is_known(tmp_path):
    patterns = {
        "PHQ.{}": "http://hl7.org/fhir/uv/sdc/Questionnaire/phq-9-questionnaire",
        "phq{}": "Questionnaire/phq9",
        "Q{}": "http://example.org/Questionnaire/PHQ-9|1.0",
        "H1/T1/Q{}": "http://loinc.org/q/44249-1",
        "phq9_{}": "https://forms.example.org/fhir/Questionnaire/phq9-v2",
        "item_{}": "Questionnaire/PHQ9",
        "{}": "phq-9",
    }
    resources = [r for r in fixture("us-core-ehr-phq9.json") if r["resourceType"] == "Patient"]
    for n, (pattern, questionnaire) in enumerate(patterns.items()):
        resources.append(lhc_response([pattern.format(k) for k in range(1, 10)], questionnaire, id=f"r{n}"))
    # Nested in a group, and as answers' nested items (item[].answer[].item[]).
    grouped = lhc_response([f"phq9_{k}" for k in range(1, 10)], "Questionnaire/phq-9", id="grouped")
    grouped["item"] = [{"linkId": "group", "item": grouped["item"][:5]},
                       {"linkId": "gate", "answer": [{"valueBoolean": True, "item": grouped["item"][5:]}]}]
    resources.append(grouped)
    result, _ = run(tmp_path, resources)
    assert result.totals.quarantined == 0
    assert {(key, total) for key, _, total, _, _ in scores(tmp_path)} == {
        (f"r{n}", 12) for n in range(len(patterns))} | {("grouped", 12)}


def test_unknown_questionnaire_items_are_not_read_by_position(tmp_path):
    """Without a scale named anywhere, `Q3` is no PHQ-9 item: the response is not guessed."""
    patient = next(r for r in fixture("us-core-ehr-phq9.json") if r["resourceType"] == "Patient")
    response = lhc_response([f"Q{k}" for k in range(1, 10)], "http://example.org/Questionnaire/intake", id="x")
    run(tmp_path, [patient, response])
    ((_, rules, reason),) = quarantined(tmp_path)
    assert "intake" in reason


def test_questions_that_are_not_scored_items_are_ignored(tmp_path):
    resources = fixture("us-core-ehr-phq9.json")
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    response["item"] += [
        {"linkId": "comment", "answer": [{"valueString": "slept badly"}]},
        {"linkId": "PHQ.10", "answer": [{"valueString": "a bit"}]},  # the difficulty question, unreadable
        {"linkId": "tscore", "answer": [{"valueDecimal": 63.5}]},
    ]
    run(tmp_path, resources)
    assert quarantined(tmp_path) == []
    assert [s[2] for s in scores(tmp_path)] == [12]


def test_answers_read_through_a_contained_questionnaires_answer_options(tmp_path):
    """Codes of the app's own (no LOINC answer code): ordinalValue (R4) or itemWeight (R5)."""
    weights = {"never": 0, "some": 1, "half": 2, "daily": 3}
    options = [{"valueCoding": {"system": "urn:app", "code": c},
                "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/"
                               + ("ordinalValue" if w % 2 else "itemWeight"), "valueDecimal": w}]}
               for c, w in weights.items()]
    contained = {"resourceType": "Questionnaire", "id": "q", "status": "active",
                 "code": [{"system": "http://loinc.org", "code": "69737-5"}],
                 "item": [{"linkId": f"g{k}", "type": "choice", "answerOption": options} for k in range(1, 8)]}
    answers = ["daily", "half", "some", "never", "daily", "half", "some"]  # 3+2+1+0+3+2+1 = 12
    response = {"resourceType": "QuestionnaireResponse", "id": "gad", "status": "completed",
                "contained": [contained], "questionnaire": "#q", "subject": {"reference": "Patient/example"},
                "authored": "2022-11-29T10:00:00Z",
                "item": [{"linkId": f"g{k}", "answer": [{"valueCoding": {"system": "urn:app", "code": a}}]}
                         for k, a in enumerate(answers, start=1)]}
    patient = next(r for r in fixture("us-core-ehr-phq9.json") if r["resourceType"] == "Patient")
    run(tmp_path, [patient, response])
    assert quarantined(tmp_path) == []
    assert scores(tmp_path) == [("gad", "GAD-7", 12, [3, 2, 1, 0, 3, 2, 1], True)]


def test_in_progress_and_stopped_responses_are_quarantined_as_not_completed(tmp_path):
    resources = fixture("sdc-phq9.json")
    response = resources[2]
    stopped = copy.deepcopy(response) | {"id": "stopped", "status": "stopped"}
    response["status"] = "in-progress"  # as SDC's adaptive-questionnaireresponse-sdc-example-phq9-start
    run(tmp_path, [*resources, stopped])
    assert [(rules, reason) for _, rules, reason in quarantined(tmp_path)] == [
        (["not_completed"], "QuestionnaireResponse/questionnaireresponse-sdc-profile-example-PHQ9 has status "
                            "in-progress: not a completed questionnaire"),
        (["not_completed"], "QuestionnaireResponse/stopped has status stopped: not a completed questionnaire"),
    ]


def test_an_amended_response_updates_the_assessment(tmp_path):
    resources = fixture("us-core-ehr-phq9.json")
    run(tmp_path, resources)
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    response["status"] = "amended"
    response["item"][8]["answer"] = [{"valueCoding": {"system": "http://loinc.org", "code": "LA6569-3"}}]  # 0 -> 1
    response["item"][9]["answer"] = [{"valueDecimal": 13}]
    second, _ = run(tmp_path, resources)
    assert (second.totals.inserted, second.totals.updated, second.totals.unchanged) == (0, 1, 2)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT total, item9_positive FROM scores") == [(13, True)]
    assert query(db, "SELECT assessment_key, total FROM assessments_history") == [("phq-9-example", 12)]


def test_elements_r4_does_not_define_are_counted_as_warnings_not_quarantined(tmp_path):
    """LHC-Forms and other apps put the item's `code` on QuestionnaireResponse items (not R4);
    a vendor property and a malformed element the pipeline does not read are tolerated too. An
    unreadable element it does read still quarantines the resource."""
    resources = fixture("us-core-ehr-phq9.json")
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    for item in response["item"]:
        item["code"] = [{"system": "http://loinc.org", "code": item["linkId"].strip("/")}]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    patient["vendorFlag"] = True
    patient["photo"] = "not a list"
    broken = copy.deepcopy(response) | {"id": "broken", "authored": "yesterday"}
    result, messages = run(tmp_path, [*resources, broken])
    assert "23 elements not defined by FHIR R4 ignored (Patient.vendorFlag ×1, QuestionnaireResponse.item.code ×22)" \
        in messages[0]
    assert "1 invalid element the importer does not read ignored (Patient.photo ×1)" in messages[0]
    # ... and in the run summary the CLI prints at the end of the run
    from pipelines.cli import summary
    (warnings,) = result.warnings.values()
    assert len(warnings) == 2 and any("23 elements not defined by FHIR R4 ignored" in w for w in warnings)
    assert "Warnings (tolerated and loaded" in summary(result) and "Patient.photo ×1" in summary(result)
    assert (result.totals.inserted, result.totals.quarantined) == (3, 1)
    ((_, rules, reason),) = quarantined(tmp_path)
    assert rules == ["invalid_fhir"] and reason.startswith("QuestionnaireResponse/broken is not valid FHIR R4: authored")
    assert [s[2] for s in scores(tmp_path)] == [12]


def test_a_total_observation_derived_from_a_response_not_loaded_is_quarantined_with_it(tmp_path):
    """EHRs export the total beside the response: the total of an in-progress response is no
    score of its own (it would otherwise load as a total-only assessment)."""
    resources = fixture("us-core-ehr-phq9.json")
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    response["status"] = "in-progress"
    total = {"resourceType": "Observation", "id": "phq-total", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
             "subject": {"reference": "Patient/example"}, "effectiveDateTime": "2022-11-29T20:50:32Z",
             "derivedFrom": [{"reference": "QuestionnaireResponse/phq-9-example"}], "valueInteger": 12}
    result, _ = run(tmp_path, [*resources, total])
    assert scores(tmp_path) == []
    assert [(rules, reason) for _, rules, reason in quarantined(tmp_path)] == [
        (["not_completed"], "QuestionnaireResponse/phq-9-example has status in-progress: not a completed questionnaire"),
        (["not_completed"], "Observation/phq-total is the total of QuestionnaireResponse/phq-9-example, which is "
                            "quarantined (not_completed)"),
    ]
    assert result.totals.rows_in == result.totals.inserted + result.totals.quarantined == 4


def test_only_infusion_procedures_become_sessions(tmp_path):
    """An EHR exports every procedure of the patient. Only an infusion is a session: a Procedure
    named as one (text or coding display mentioning ketamine or infusion), billed as one (CPT
    96365, intravenous infusion, initial hour), or carrying no code at all. A counselling session
    (SNOMED CT 409063005, as in US Core's Procedure examples) is skipped and counted nowhere."""
    resources = [r for r in fixture("us-core-ehr-phq9.json") if r["resourceType"] in ("Patient", "Condition")]
    base = {"resourceType": "Procedure", "status": "completed", "subject": {"reference": "Patient/example"}}
    resources += [
        {**base, "id": "counselling", "performedDateTime": "2022-11-20T10:00:00-05:00",
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "409063005", "display": "Counseling"}]}},
        {**base, "id": "billed", "performedDateTime": "2022-11-22T10:00:00-05:00",
         "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "96365"}]}},
        {**base, "id": "named", "performedDateTime": "2022-11-24T10:00:00-05:00",
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "000", "display": "Ketamine infusion"}]}},
        {**base, "id": "uncoded", "performedDateTime": "2022-11-26T10:00:00-05:00"},
    ]
    result, messages = run(tmp_path, resources)
    assert result.totals.quarantined == 0
    assert result.totals.rows_in == result.totals.inserted  # the counselling session is no row at all
    assert query(tmp_path / "outcomes.duckdb", "SELECT session_id FROM sessions ORDER BY 1") == [
        ("billed",), ("named",), ("uncoded",)]
    assert any("skipped" in m and "Procedure" in m for m in messages), messages


def test_a_link_id_naming_the_scale_is_not_an_item(tmp_path):
    """`phq9` (the scale's name, here an app's total) beside items `phq9_1 ... phq9_9` is not item 9,
    the suicidality question: item 9 stays as answered (0) and the total is the items' 2. The
    same for `PHQ-9`, `gad7`/`GAD-7`, `pcl5`: a linkId that is a scale's name is never an item."""
    patient = next(r for r in fixture("us-core-ehr-phq9.json") if r["resourceType"] == "Patient")

    def response(rid: str, questionnaire: str, links: list[str], answers: list[int], named: str) -> dict:
        return {"resourceType": "QuestionnaireResponse", "id": rid, "status": "completed",
                "questionnaire": questionnaire, "subject": {"reference": "Patient/example"},
                "authored": "2022-11-29T10:00:00Z",
                "item": [{"linkId": link, "answer": [{"valueInteger": a}]} for link, a in zip(links, answers)]
                + [{"linkId": named, "answer": [{"valueInteger": sum(answers)}]}]}

    phq = [2] + [0] * 8
    gad = [1] + [0] * 6
    resources = [patient,
                 response("a", "Questionnaire/phq9", [f"phq9_{k}" for k in range(1, 10)], phq, "phq9"),
                 response("b", "Questionnaire/phq9", [f"phq9_{k}" for k in range(1, 10)], phq, "PHQ-9"),
                 response("c", "Questionnaire/gad7", [f"gad7_{k}" for k in range(1, 8)], gad, "gad7"),
                 response("d", "Questionnaire/gad7", [f"gad7_{k}" for k in range(1, 8)], gad, "GAD-7"),
                 response("e", "Questionnaire/pcl5", [f"pcl5_{k}" for k in range(1, 21)], [1] * 4 + [0] * 16, "pcl5")]
    result, _ = run(tmp_path, resources)
    assert quarantined(tmp_path) == []
    assert scores(tmp_path) == [
        ("a", "PHQ-9", 2, phq + [None], True), ("b", "PHQ-9", 2, phq + [None], True),
        ("c", "GAD-7", 1, gad, True), ("d", "GAD-7", 1, gad, True),
        ("e", "PCL-5", 4, [1] * 4 + [0] * 16, True)]
    assert query(tmp_path / "outcomes.duckdb", "SELECT count(*) FROM scores WHERE item9_positive") == [(0,)]


def test_a_link_id_series_that_reaches_the_scales_number_keeps_its_last_item(tmp_path):
    """`phq1 ... phq9`: here `phq9` is item 9 (the series of the response's own linkIds reaches
    it), not the scale's name; so is `PHQ.9` beside `PHQ.1 ... PHQ.8`."""
    patient = next(r for r in fixture("us-core-ehr-phq9.json") if r["resourceType"] == "Patient")
    answers = [0] * 8 + [2]
    resources = [patient] + [
        {"resourceType": "QuestionnaireResponse", "id": rid, "status": "completed", "questionnaire": "phq-9",
         "subject": {"reference": "Patient/example"}, "authored": "2022-11-29T10:00:00Z",
         "item": [{"linkId": pattern.format(k), "answer": [{"valueInteger": a}]}
                  for k, a in enumerate(answers, start=1)]}
        for rid, pattern in (("a", "phq{}"), ("b", "PHQ.{}"), ("c", "phq-{}"))]
    run(tmp_path, resources)
    assert quarantined(tmp_path) == []
    assert [(key, total, items[8]) for key, _, total, items, _ in scores(tmp_path)] == [
        ("a", 2, 2), ("b", 2, 2), ("c", 2, 2)]
    assert query(tmp_path / "outcomes.duckdb", "SELECT count(*) FROM scores WHERE item9_positive") == [(3,)]


def test_a_coded_answer_of_another_system_gets_no_weight_from_a_code_alone(tmp_path):
    """The SDC CodeSystem weighs `Several-days` 1; the same code in another system is not its
    answer (no weight: the response is quarantined), while a coding without a system still is."""
    resources = fixture("sdc-phq9.json")
    response = next(r for r in resources if r["resourceType"] == "QuestionnaireResponse")
    other = copy.deepcopy(response) | {"id": "other-system"}
    no_system = copy.deepcopy(response) | {"id": "no-system"}
    for changed, system in ((other, "http://example.org/CodeSystem/app"), (no_system, None)):
        for item in _flat(changed["item"]):
            for answer in item.get("answer") or []:
                coding = answer.get("valueCoding")
                if coding:
                    coding.pop("system")
                    if system:
                        coding["system"] = system
    run(tmp_path, [*resources, other, no_system])
    ((_, rules, reason),) = quarantined(tmp_path)
    assert rules == ["item_not_whole"] and "QuestionnaireResponse/other-system" in reason
    assert [(key, total) for key, _, total, _, _ in scores(tmp_path)] == [
        ("no-system", 10), ("questionnaireresponse-sdc-profile-example-PHQ9", 10)]


def _flat(items: list[dict]):
    for item in items:
        yield item
        yield from _flat(item.get("item") or [])


def infusion_resources() -> list[dict]:
    """The US Core patient and ketamine infusion, with 35 mg of ketamine given as part of it."""
    resources = [r for r in fixture("us-core-ehr-phq9.json") if r["resourceType"] in ("Patient", "Procedure")]
    resources.append({"resourceType": "MedicationAdministration", "id": "ketamine", "status": "completed",
                      "partOf": [{"reference": "Procedure/ketamine-infusion-1"}],
                      "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                                "code": "6130"}]},
                      "subject": {"reference": "Patient/example"}, "effectiveDateTime": "2022-11-22T10:00:00Z",
                      "dosage": {"dose": {"value": 35, "unit": "mg"}}})
    return resources


def administration(rid: str, drug: dict, mg: float, part_of: bool = True, **extra) -> dict:
    return {"resourceType": "MedicationAdministration", "id": rid, "status": "completed",
            **({"partOf": [{"reference": "Procedure/ketamine-infusion-1"}]} if part_of else {}),
            **drug, "subject": {"reference": "Patient/example"}, "effectiveDateTime": "2022-11-22T10:05:00Z",
            "dosage": {"dose": {"value": mg, "unit": "mg"}}, **extra}


def test_only_ketamine_is_an_infusion_or_its_dose(tmp_path):
    """Ondansetron 4 mg and midazolam 2 mg given during the infusion add nothing to its 35 mg of
    ketamine, and an ondansetron administration on its own is not a session; an "Iron infusion"
    or "IVIG infusion" Procedure is not one either (skipped, named in the progress line). A
    ketamine administration on its own, named by text or a contained Medication, still is."""
    ondansetron = {"medicationCodeableConcept": {"text": "Ondansetron 4 mg IV"}}
    midazolam = {"medicationReference": {"reference": "#m"}}
    contained = [{"resourceType": "Medication", "id": "m", "code": {"text": "Midazolam"}}]
    procedure = next(r for r in infusion_resources() if r["resourceType"] == "Procedure")
    iron = copy.deepcopy(procedure) | {"id": "iron", "code": {"text": "Iron infusion"}}
    ivig = copy.deepcopy(procedure) | {"id": "ivig", "code": {
        "text": "IVIG infusion", "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "96365"}]}}
    cpt = copy.deepcopy(procedure) | {"id": "cpt", "code": {"coding": [{
        "system": "http://www.ama-assn.org/go/cpt", "code": "96365",
        "display": "Intravenous infusion, for therapy, prophylaxis, or diagnosis; initial, up to 1 hour"}]}}
    resources = [*infusion_resources(),
                 administration("ondansetron", ondansetron, 4),
                 administration("midazolam", midazolam, 2, contained=contained),
                 administration("lorazepam", {"medicationReference": {"reference": "Medication/lorazepam"}}, 1),
                 {"resourceType": "Medication", "id": "lorazepam", "code": {"coding": [{
                     "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6470",
                     "display": "lorazepam"}]}},
                 administration("alone", ondansetron, 4, part_of=False),
                 administration("esketamine", {"medicationReference": {"reference": "#e"}}, 56, part_of=False,
                                contained=[{"resourceType": "Medication", "id": "e", "code": {"text": "Spravato"}}]),
                 administration("ketamine-alone", {"medicationCodeableConcept": {"text": "Ketamine HCl"}}, 40,
                                part_of=False),
                 iron, ivig, cpt]
    result, messages = run(tmp_path, resources)
    db = tmp_path / "outcomes.duckdb"
    assert query(db, "SELECT session_id, dose_mg FROM sessions ORDER BY 1") == [
        ("cpt", None), ("esketamine", 56), ("ketamine-alone", 40), ("ketamine-infusion-1", 35)]
    assert quarantined(tmp_path) == []
    assert "skipped 1 Medication, 3 MedicationAdministration, 2 Procedure" in messages[0]
