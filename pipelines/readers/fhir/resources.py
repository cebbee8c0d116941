"""What one FHIR resource is to the reader: which table it feeds, and the row or reject it
gives. The resource mappers (`patients.py`, `sessions.py`, `assessments.py`) build on these;
`export.py` runs the mappers over one export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...formats import APPOINTMENTS, ASSESSMENTS, PATIENTS, SESSIONS, ExportKind
from ...instruments import REGISTRY
from .codes import (GENERIC_WORDS, INFUSION_CODES, INFUSION_WORDS, KETAMINE_CODES, KETAMINE_WORDS, LOINC,
                    VITAL_CODES)
from .parse import Entry

# Observation codes that are a scale's total (from the instrument registry) -> scale code.
TOTAL_CODES: dict[str, str] = {i.loinc_total: i.code for i in REGISTRY.values() if i.loinc_total}

KIND_OF_TYPE: dict[str, ExportKind] = {
    "Patient": PATIENTS, "EpisodeOfCare": PATIENTS, "Condition": PATIENTS,
    "Procedure": SESSIONS, "MedicationAdministration": SESSIONS,
    "QuestionnaireResponse": ASSESSMENTS, "Appointment": APPOINTMENTS,
}
# A Procedure with this status is planned, not given (FHIR R4 EventStatus): a booking, never an
# infusion (appointments.py).
PREPARATION = "preparation"
# The elements of an Appointment that may say what it is for.
APPOINTMENT_PURPOSE = ("serviceType", "appointmentType", "reasonCode", "serviceCategory")


@dataclass
class Row:
    """A canonical staged row (column -> text or number) from one resource."""

    kind: ExportKind
    entry: Entry
    values: dict


@dataclass
class Rejected:
    """A resource we cannot take, quarantined under `kind` with a rule and a reason."""

    kind: ExportKind
    entry: Entry
    rule: str
    message: str


def loinc_codes(concept: dict | None) -> list[str]:
    """The LOINC codes of a CodeableConcept (codings without a system count as LOINC: some
    exports leave it out)."""
    return [c["code"] for c in (concept or {}).get("coding") or []
            if isinstance(c, dict) and isinstance(c.get("code"), str) and c.get("system", LOINC) == LOINC]


def kind_of(entry: Entry) -> ExportKind | None:
    """Which table a resource feeds, or None for a resource the reader does not read."""
    if entry.type == "Observation":
        codes = set(loinc_codes(entry.resource.get("code")))
        if codes & TOTAL_CODES.keys():
            return ASSESSMENTS
        return SESSIONS if codes & VITAL_CODES else None
    if entry.type == "Procedure" and not is_infusion(entry.resource.get("code")):
        return None  # another procedure of the patient's record: skipped, named in the progress line
    if entry.type == "Procedure" and entry.resource.get("status") == PREPARATION:
        return APPOINTMENTS  # an infusion being prepared: planned, not given
    if entry.type == "Appointment" and not is_infusion_appointment(entry.resource):
        return None  # a consultation or another service: not a planned infusion
    if entry.type == "MedicationAdministration" and names_ketamine(medication_of(entry.resource)) is False:
        return None  # another drug (an antiemetic given during the infusion): skipped, named likewise
    return KIND_OF_TYPE.get(entry.type)


def record_kind(entry: Entry) -> ExportKind | None:
    """The kind of record a resource is, or retracts (entered in error, not done): its id is a
    row's key. This, not `kind_of`, is what makes a file hold a kind in a full export
    (docs/ingest.md, "Full exports and deletions"): a Patient, an infusion Procedure or a
    MedicationAdministration, a QuestionnaireResponse or a scale-total Observation. An
    EpisodeOfCare, a Condition or a vital sign only adds to another resource's row (a vital sign
    outside any infusion to none), so a file of them says nothing about which records exist."""
    kind = kind_of(entry)
    if entry.type in ("EpisodeOfCare", "Condition") or (entry.type == "Observation" and kind is not ASSESSMENTS):
        return None
    return kind


def _codings(concept: dict) -> list[dict]:
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _words(concept: dict) -> str:
    return " ".join(str(t) for t in [concept.get("text"), *(c.get("display") for c in _codings(concept))] if t).lower()


def says_nothing(concept: dict | None) -> bool:
    return not isinstance(concept, dict) or not (concept.get("text") or concept.get("coding"))


def names_ketamine(concept: dict | None) -> bool | None:
    """Whether a CodeableConcept names ketamine or esketamine (codes.KETAMINE_WORDS in its text or
    a display, or a code of KETAMINE_CODES); None when it says nothing at all."""
    if says_nothing(concept):
        return None
    return (any(word in _words(concept) for word in KETAMINE_WORDS)
            or any(c.get("code") in KETAMINE_CODES for c in _codings(concept)))


def medication_of(resource: dict) -> dict | None:
    """A MedicationAdministration's drug as a CodeableConcept: `medicationCodeableConcept`, else
    the `code` of the Medication its `medicationReference` points to when it is contained
    (`#id`), else the reference's display as text. None when the resource does not say."""
    if isinstance(resource.get("medicationCodeableConcept"), dict):
        return resource["medicationCodeableConcept"]
    reference = resource.get("medicationReference")
    if not isinstance(reference, dict):
        return None
    target = reference.get("reference")
    if isinstance(target, str) and target.startswith("#"):
        contained = next((r for r in resource.get("contained") or [] if isinstance(r, dict)
                          and r.get("resourceType") == "Medication" and f"#{r.get('id')}" == target), None)
        if contained is not None and not says_nothing(contained.get("code")):
            return contained["code"]
    return {"text": reference["display"]} if isinstance(reference.get("display"), str) else None


def is_infusion(code: dict | None) -> bool:
    """Whether a Procedure's `code` says it is a ketamine infusion (codes.KETAMINE_WORDS /
    KETAMINE_CODES), or says nothing at all, or names an infusion (INFUSION_WORDS /
    INFUSION_CODES) and nothing else: every word one of GENERIC_WORDS ("Iron infusion" is not)."""
    if says_nothing(code):
        return True
    if names_ketamine(code):
        return True
    words = _words(code)
    generic = any(word in words for word in INFUSION_WORDS) or any(c.get("code") in INFUSION_CODES
                                                                   for c in _codings(code))
    return generic and all(w in GENERIC_WORDS for w in re.findall(r"[a-z]+", words))


def is_infusion_appointment(resource: dict) -> bool:
    """Whether an Appointment is for a ketamine infusion: its serviceType, appointmentType,
    reasonCode, serviceCategory or description names ketamine or an infusion (as `is_infusion`
    reads a Procedure's code), or none of them says anything (a scheduler that exports bare
    bookings)."""
    concepts = []
    for name in APPOINTMENT_PURPOSE:
        value = resource.get(name)
        concepts.extend(value if isinstance(value, list) else [value])
    concepts = [c for c in concepts if isinstance(c, dict) and not says_nothing(c)]
    description = resource.get("description")
    if isinstance(description, str) and description.strip():
        concepts.append({"text": description})
    if not concepts:
        return True
    return any(names_ketamine(c) or any(word in _words(c) for word in INFUSION_WORDS) for c in concepts)


def display(reference: dict | None) -> str | None:
    text = (reference or {}).get("display")
    return text if isinstance(text, str) and text.strip() else None
