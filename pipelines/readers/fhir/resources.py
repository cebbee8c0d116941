"""What one FHIR resource is to the reader: which table it feeds, and the row or reject it
gives. The resource mappers (`patients.py`, `sessions.py`, `assessments.py`) build on these;
`export.py` runs the mappers over one export.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...formats import ASSESSMENTS, PATIENTS, SESSIONS, ExportKind
from ...instruments import REGISTRY
from .codes import INFUSION_CODES, INFUSION_WORDS, LOINC, VITAL_CODES
from .parse import Entry

# Observation codes that are a scale's total (from the instrument registry) -> scale code.
TOTAL_CODES: dict[str, str] = {i.loinc_total: i.code for i in REGISTRY.values() if i.loinc_total}

KIND_OF_TYPE: dict[str, ExportKind] = {
    "Patient": PATIENTS, "EpisodeOfCare": PATIENTS, "Condition": PATIENTS,
    "Procedure": SESSIONS, "MedicationAdministration": SESSIONS,
    "QuestionnaireResponse": ASSESSMENTS,
}


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


def is_infusion(code: dict | None) -> bool:
    """Whether a Procedure's `code` says it is an infusion (codes.INFUSION_WORDS / INFUSION_CODES),
    or says nothing at all."""
    if not isinstance(code, dict) or not (code.get("text") or code.get("coding")):
        return True
    codings = [c for c in code.get("coding") or [] if isinstance(c, dict)]
    words = " ".join(str(t) for t in [code.get("text"), *(c.get("display") for c in codings)] if t).lower()
    return any(word in words for word in INFUSION_WORDS) or any(c.get("code") in INFUSION_CODES for c in codings)


def display(reference: dict | None) -> str | None:
    text = (reference or {}).get("display")
    return text if isinstance(text, str) and text.strip() else None
