"""One score as the FHIR R4 resources an EHR takes in: a `QuestionnaireResponse` with the
answers and a total `Observation` derived from it.

The shapes follow the published examples the FHIR reader is tested on (tests/fixtures/fhir):

- US Core's PHQ-9 `QuestionnaireResponse` (`phq-9-example`): each item's linkId is `/` and the
  item's LOINC code (`/44250-9`), answers are LOINC answer codes (`LA6570-1`), the total is the
  item `/44261-6`; the questionnaire is named by its LOINC panel as `http://loinc.org/q/44249-1`
  (the form LOINC's own FHIR Questionnaires use).
- SDC: a coded answer carries its number in the `ordinalValue` extension (R4's name for
  R5's `itemWeight`), so a system that does not know LOINC's answer lists still scores it.
- US Core's Observation Screening Assessment profile (`PHQ9-item-example-44261-6`): the total
  is an Observation with category `survey`, code the total's LOINC code, the score as a
  Quantity with the UCUM unit `{score}`, and `derivedFrom` the QuestionnaireResponse.

Scales without a LOINC panel (PCL-5, pain 0-10) are named by a canonical of this product
(`urn:infusion-outcomes:questionnaire:pcl-5`): no published Questionnaire exists for them.
The pain question is LOINC 72514-3 itself: its one item carries that code. The PCL-5 has
no LOINC code in the registry (clinical reference), so its items are numbered (`1` ... `20`)
and it gets no total Observation; a PCL-5 known only by its total cannot be written.

Only what the EHR needs to file the score leaves: the patient's id (the subject, as a
reference and as a medical-record-number identifier), the time, the answers and the total.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..instruments import REGISTRY, Instrument
from ..readers.fhir.codes import LOINC, ORDINAL_VALUE

UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"  # MR: medical record number
LOCAL_FORMS = "urn:infusion-outcomes:questionnaire:"
# FHIR R4 `id`: letters, digits, '-' and '.', 1 to 64 characters (R4 datatypes, "id").
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
# Stable ids for scores whose own id is not a FHIR id: the same score gets the same id in
# every export, so a re-export updates the EHR's copy instead of adding a second one.
ID_NAMESPACE = uuid.UUID("5d0c3f0e-8a51-4c8e-9d0e-6f1e6b0a7c21")

# LOINC answer list LL358-3 (PHQ-9 items 1-9, GAD-7 items 1-7) and LL359-1 (the PHQ-9
# difficulty question, 69722-7): code and display per number (clinical reference, "PHQ-9";
# the reader's `codes.ANSWER_CODES` holds the same codes, checked by tests/test_fhir_export.py).
FREQUENCY = {0: ("LA6568-5", "Not at all"), 1: ("LA6569-3", "Several days"),
             2: ("LA6570-1", "More than half the days"), 3: ("LA6571-9", "Nearly every day")}
DIFFICULTY = {0: ("LA6572-7", "Not difficult at all"), 1: ("LA6573-5", "Somewhat difficult"),
              2: ("LA6575-0", "Very difficult"), 3: ("LA6574-3", "Extremely difficult")}
ANSWER_LISTS: dict[str, dict[int, tuple[str, str]]] = {
    **{code: FREQUENCY for i in REGISTRY.values() if i.code in ("PHQ-9", "GAD-7") for code in i.loinc_items},
    "69722-7": DIFFICULTY,
}


@dataclass(frozen=True)
class Score:
    """One row of `sql/export/fhir_scores.sql`."""

    assessment_key: str
    assessment_id: str | None
    patient_id: str
    instrument: str
    administered_at: dt.datetime  # clinic local time
    items: tuple[int | None, ...]
    total: int
    total_only: bool


def resource_id(score: Score) -> str:
    """The score's own id when it is a FHIR id, else a UUID derived from its key."""
    if score.assessment_id and FHIR_ID.match(score.assessment_id):
        return score.assessment_id
    return str(uuid.uuid5(ID_NAMESPACE, score.assessment_key))


def fhir_time(local: dt.datetime, zone: ZoneInfo) -> str:
    """A clinic-local time with its UTC offset, as FHIR requires on a dateTime with a time."""
    return local.replace(tzinfo=zone).isoformat(timespec="seconds")


def questionnaire_of(instrument: Instrument) -> str:
    if instrument.loinc_panel:
        return f"http://loinc.org/q/{instrument.loinc_panel}"
    return LOCAL_FORMS + instrument.code.lower()


def subject(patient_id: str) -> dict:
    """The patient as the EHR finds them: `Patient/<id>` (the EHR's own id when the clinic's data
    came from its FHIR export, which gives the patient id from Patient.id) and the id as a
    medical record number identifier. An id that cannot be a FHIR id (an underscore, a space)
    is given as the identifier alone, a logical reference the EHR resolves by identifier."""
    identifier = {"type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR"}]}, "value": patient_id}
    if FHIR_ID.match(patient_id):
        return {"reference": f"Patient/{patient_id}", "identifier": identifier}
    return {"identifier": identifier}


def _answer(instrument: Instrument, number: int, value: int) -> tuple[str, dict]:
    """(linkId, answer) of item `number`: LOINC-coded where the registry has the item's code."""
    codes = (*instrument.loinc_items, *instrument.extra_items)
    if not codes and instrument.n_columns == 1 and instrument.loinc_total:  # pain: the question is the score
        codes = (instrument.loinc_total,)
    if number > len(codes):
        return str(number), {"valueInteger": value}
    code = codes[number - 1]
    answers = ANSWER_LISTS.get(code)
    if answers is None or value not in answers:
        return f"/{code}", {"valueInteger": value}
    answer_code, display = answers[value]
    return f"/{code}", {"valueCoding": {"extension": [{"url": ORDINAL_VALUE, "valueDecimal": value}],
                                        "system": LOINC, "code": answer_code, "display": display}}


def questionnaire_response(score: Score, rid: str, zone: ZoneInfo) -> dict:
    instrument = REGISTRY[score.instrument]
    items = []
    for number, value in enumerate(score.items, start=1):
        if value is not None:
            link, answer = _answer(instrument, number, int(value))
            items.append({"linkId": link, "answer": [answer]})
    if instrument.loinc_total and instrument.n_columns > 1:  # the total as US Core's example records it
        items.append({"linkId": f"/{instrument.loinc_total}", "answer": [{"valueInteger": int(score.total)}]})
    return {"resourceType": "QuestionnaireResponse", "id": rid, "questionnaire": questionnaire_of(instrument),
            "status": "completed", "subject": subject(score.patient_id),
            "authored": fhir_time(score.administered_at, zone), "item": items}


def total_observation(score: Score, rid: str, zone: ZoneInfo, derived: bool) -> dict:
    instrument = REGISTRY[score.instrument]
    resource = {
        "resourceType": "Observation", "id": rid, "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": LOINC, "code": instrument.loinc_total}],
                 "text": f"{instrument.display_name} total score"},
        "subject": subject(score.patient_id),
        "effectiveDateTime": fhir_time(score.administered_at, zone),
        "valueQuantity": {"value": int(score.total), "unit": "{score}", "system": UCUM, "code": "{score}"},
    }
    if derived:
        resource["derivedFrom"] = [{"reference": f"QuestionnaireResponse/{rid}"}]
    return resource


def resources_of(score: Score, zone: ZoneInfo) -> list[dict]:
    """The resources one score becomes: a response when any item was answered, a total
    Observation when the scale has a LOINC total code (derived from the response if there is
    one). Empty for a PCL-5 known only by its total (nothing LOINC-coded to say)."""
    instrument = REGISTRY[score.instrument]
    rid = resource_id(score)
    answered = any(v is not None for v in score.items)
    resources = [questionnaire_response(score, rid, zone)] if answered else []
    if instrument.loinc_total:
        resources.append(total_observation(score, rid, zone, derived=answered))
    return resources
