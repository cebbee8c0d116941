"""The resources of one FHIR export, turned into canonical rows or quarantine rejects.

One export is what references resolve within: a Bundle file (or a single-resource file), or
the NDJSON files of one folder given in the same run (a bulk export writes one file per
resource type, and an infusion's dose sits in MedicationAdministration.ndjson while the
infusion is in Procedure.ndjson). Each row is attributed to the file and entry/line of the
resource it comes from, so quarantine names a place a clinic can find.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ...formats import ASSESSMENTS, PATIENTS, SESSIONS, ExportKind
from ...instruments import REGISTRY
from .codes import ENTERED_IN_ERROR, LOINC, NOT_DONE, VITAL_CODES
from .parse import Document, Entry, Index, validation_error

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
    return KIND_OF_TYPE.get(entry.type)


def display(reference: dict | None) -> str | None:
    text = (reference or {}).get("display")
    return text if isinstance(text, str) and text.strip() else None


class FhirExport:
    """The documents of one export and, computed once, the rows and rejects they give."""

    def __init__(self, documents: list[Document]):
        self.documents = documents

    @cached_property
    def outcomes(self) -> list[Row | Rejected]:
        from .assessments import assessment_outcomes
        from .patients import patient_outcomes
        from .sessions import session_outcomes

        usable, results = [], []
        for document in self.documents:
            for entry in document.entries:
                kind = kind_of(entry)
                if kind is None:
                    continue
                problem = _unusable(entry)
                if problem:
                    results.append(Rejected(kind, entry, *problem))
                else:
                    usable.append(entry)
        index = Index(usable)
        for build in (patient_outcomes, session_outcomes, assessment_outcomes):
            results.extend(build(usable, index))
        return results

    def for_file(self, path: str, kind: ExportKind) -> tuple[list[Row], list[Rejected]]:
        rows = [o for o in self.outcomes if isinstance(o, Row) and o.entry.path == path and o.kind == kind]
        rejects = [o for o in self.outcomes if isinstance(o, Rejected) and o.entry.path == path and o.kind == kind]
        return rows, rejects


def _unusable(entry: Entry) -> tuple[str, str] | None:
    """(rule, reason) for a resource that must not be used: not valid FHIR, entered in error,
    or an infusion that did not take place."""
    status = entry.resource.get("status")
    if status == ENTERED_IN_ERROR:
        return "entered_in_error", f"{entry.where()} has status entered-in-error"
    if status == NOT_DONE and entry.type in ("Procedure", "MedicationAdministration"):
        return "not_given", f"{entry.where()} has status not-done: the infusion was not given"
    error = validation_error(entry)
    if error:
        return "invalid_fhir", f"{entry.where()} is not valid FHIR R4: {error}"
    return None
