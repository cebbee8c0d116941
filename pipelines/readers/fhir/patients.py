"""Patient + EpisodeOfCare (+ Condition) -> canonical patients rows.

The treatment course is the patient's EpisodeOfCare (the earliest by period.start if there
are several): it gives intake date, site, clinician and the primary indication. Most EHR
exports have no EpisodeOfCare: then the indication comes from the patient's Conditions (on the
problem list or an encounter diagnosis, active or without a clinical status, not refuted),
the earliest recorded whose ICD-10 code maps to an indication; a Condition whose code maps to
none (a burn, a birth) is not an indication. A Patient with neither loads with the columns
empty (incomplete, not wrong: docs/import-format.md, "Required and optional values").
"""

from __future__ import annotations

from ...formats import PATIENTS
from .codes import (ACTIVE_CLINICAL_STATUSES, CONDITION_CATEGORIES, ICD10_INDICATIONS, ICD10_SYSTEMS,
                    NOT_CONFIRMED)
from .resources import Row, display
from .parse import Entry, Index, parse_time, reference_id


def patient_outcomes(usable: list[Entry], index: Index) -> list[Row]:
    courses: dict[str, list[Entry]] = {}
    for entry in usable:
        if entry.type == "EpisodeOfCare":
            patient_id = reference_id(entry.resource.get("patient"), "Patient", index)
            if patient_id:
                courses.setdefault(patient_id, []).append(entry)
    diagnosed: dict[str, list[Entry]] = {}
    for entry in usable:
        if entry.type == "Condition" and _names_an_indication(entry.resource):
            patient_id = reference_id(entry.resource.get("subject"), "Patient", index)
            if patient_id:
                diagnosed.setdefault(patient_id, []).append(entry)
    rows = []
    for entry in usable:
        if entry.type != "Patient":
            continue
        patient = entry.resource
        birth = patient.get("birthDate")
        values = {"patient_id": entry.id, "birth_year": birth[:4] if isinstance(birth, str) else None,
                  "sex": patient.get("gender"), "primary_indication": None, "site": None, "clinician": None,
                  "intake_date": None, "contraindications": None, "discharge_date": None}
        episodes = courses.get(entry.id or "", [])
        if episodes:
            course = min(episodes, key=_start_order).resource
            start = (course.get("period") or {}).get("start")
            values.update(
                intake_date=start[:10] if isinstance(start, str) else None,
                site=display(course.get("managingOrganization")),
                clinician=display(course.get("careManager")),
                primary_indication=_indication(course, index),
                discharge_date=_discharge_date(episodes),
            )
        if values["primary_indication"] is None:
            values["primary_indication"] = _condition_indication(diagnosed.get(entry.id or "", []))
        rows.append(Row(PATIENTS, entry, values))
    return rows


def _discharge_date(episodes: list[Entry]) -> str | None:
    """The end of the course when every EpisodeOfCare of the patient is `finished` (FHIR R4
    EpisodeOfCare.status, https://hl7.org/fhir/R4/episodeofcare.html: "finished" = the care
    has ended): the latest period.end, as a date. An open episode, or a finished one without
    an end date, means not discharged (docs/analytics.md, "Treatment status")."""
    ends = []
    for episode in episodes:
        if episode.resource.get("status") != "finished":
            return None
        end = (episode.resource.get("period") or {}).get("end")
        if not isinstance(end, str):
            return None
        ends.append(end[:10])
    return max(ends) if ends else None


def _start_order(entry: Entry):
    start = parse_time((entry.resource.get("period") or {}).get("start"))
    return (start is None, start.timestamp() if start else 0, entry.source_row)


def _indication(course: dict, index: Index) -> str | None:
    """The rank-1 diagnosis (else the first): a Condition in this export by its ICD-10 code,
    else its text; a reference that does not resolve, by its display text."""
    diagnoses = [d for d in course.get("diagnosis") or [] if isinstance(d, dict)]
    if not diagnoses:
        return None
    chosen = next((d for d in diagnoses if d.get("rank") == 1), diagnoses[0])
    condition = index.resolve(chosen.get("condition"))
    if condition is not None and condition.type == "Condition":
        code = condition.resource.get("code") or {}
        mapped = _icd10_indication(code)
        if mapped:
            return mapped
        if code.get("text"):
            return code["text"]
        codings = [c.get("display") for c in code.get("coding") or [] if c.get("display")]
        if codings:
            return codings[0]
    return display(chosen.get("condition"))


def _icd10_indication(code: dict) -> str | None:
    """The indication an ICD-10(-CM) coding of a CodeableConcept maps to (codes.py), or None."""
    for coding in code.get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") in ICD10_SYSTEMS and isinstance(coding.get("code"), str):
            for prefix, indication in ICD10_INDICATIONS:
                if coding["code"].upper().startswith(prefix):
                    return indication
    return None


def _codes(concept) -> set[str]:
    return {c.get("code") for c in (concept or {}).get("coding") or [] if isinstance(c, dict)}


def _names_an_indication(condition: dict) -> bool:
    """Active (or no clinical status), confirmed (or no verification status), on the problem
    list or an encounter diagnosis (or no category: R4 leaves it optional)."""
    status = _codes(condition.get("clinicalStatus"))
    categories = set().union(*(_codes(c) for c in condition.get("category") or [] if isinstance(c, dict)))
    return ((not status or bool(status & set(ACTIVE_CLINICAL_STATUSES)))
            and not _codes(condition.get("verificationStatus")) & set(NOT_CONFIRMED)
            and (not categories or bool(categories & set(CONDITION_CATEGORIES)))
            and _icd10_indication(condition.get("code") or {}) is not None)


def _recorded_order(entry: Entry):
    resource = entry.resource
    when = parse_time(resource.get("onsetDateTime") or resource.get("recordedDate")
                      or (resource.get("onsetPeriod") or {}).get("start"))
    return (when is None, when.timestamp() if when else 0, entry.path, entry.source_row)


def _condition_indication(conditions: list[Entry]) -> str | None:
    """The earliest recorded of a patient's Conditions that name an indication."""
    if not conditions:
        return None
    return _icd10_indication(min(conditions, key=_recorded_order).resource.get("code") or {})
