"""Patient + EpisodeOfCare (+ Condition) -> canonical patients rows.

The treatment course is the patient's EpisodeOfCare (the earliest by period.start if there
are several): it gives intake date, site, clinician and the primary indication. A Patient
without one is still staged, with those columns empty, so the core validator quarantines it
naming what is missing.
"""

from __future__ import annotations

from ...formats import PATIENTS
from .codes import ICD10_INDICATIONS, ICD10_SYSTEMS
from .resources import Row, display
from .parse import Entry, Index, parse_time, reference_id


def patient_outcomes(usable: list[Entry], index: Index) -> list[Row]:
    courses: dict[str, list[Entry]] = {}
    for entry in usable:
        if entry.type == "EpisodeOfCare":
            patient_id = reference_id(entry.resource.get("patient"), "Patient", index)
            if patient_id:
                courses.setdefault(patient_id, []).append(entry)
    rows = []
    for entry in usable:
        if entry.type != "Patient":
            continue
        patient = entry.resource
        birth = patient.get("birthDate")
        values = {"patient_id": entry.id, "birth_year": birth[:4] if isinstance(birth, str) else None,
                  "sex": patient.get("gender"), "primary_indication": None, "site": None, "clinician": None,
                  "intake_date": None, "contraindications": None}
        episodes = courses.get(entry.id or "", [])
        if episodes:
            course = min(episodes, key=_start_order).resource
            start = (course.get("period") or {}).get("start")
            values.update(
                intake_date=start[:10] if isinstance(start, str) else None,
                site=display(course.get("managingOrganization")),
                clinician=display(course.get("careManager")),
                primary_indication=_indication(course, index),
            )
        rows.append(Row(PATIENTS, entry, values))
    return rows


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
        for coding in code.get("coding") or []:
            if coding.get("system") in ICD10_SYSTEMS and isinstance(coding.get("code"), str):
                for prefix, indication in ICD10_INDICATIONS:
                    if coding["code"].upper().startswith(prefix):
                        return indication
        if code.get("text"):
            return code["text"]
        codings = [c.get("display") for c in code.get("coding") or [] if c.get("display")]
        if codings:
            return codings[0]
    return display(chosen.get("condition"))
