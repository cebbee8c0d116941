"""The resources of one FHIR export, turned into canonical rows or quarantine rejects.

One export is what references resolve within: a Bundle file (or a single-resource file), or
the NDJSON files of one folder given in the same run (a bulk export writes one file per
resource type, and an infusion's dose sits in MedicationAdministration.ndjson while the
infusion is in Procedure.ndjson). Each row is attributed to the file and entry/line of the
resource it comes from, so quarantine names a place a clinic can find.
"""

from __future__ import annotations

from functools import cached_property

from ...formats import APPOINTMENTS, ExportKind
from .appointments import appointment_outcomes
from .assessments import assessment_outcomes
from .forms import FORM_TYPES, Forms
from .codes import ENTERED_IN_ERROR, NOT_COMPLETED, NOT_DONE
from .parse import Document, Entry, Index, validation_error
from .patients import patient_outcomes
from .resources import Rejected, Row, kind_of
from .sessions import session_outcomes


class FhirExport:
    """The documents of one export and, computed once, the rows and rejects they give."""

    def __init__(self, documents: list[Document]):
        self.documents = documents

    @cached_property
    def outcomes(self) -> list[Row | Rejected]:
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
        forms = Forms([e for d in self.documents for e in d.entries if e.type in FORM_TYPES])
        results.extend(patient_outcomes(usable, index))
        # Planned infusions (Appointment, Procedure in preparation) are bookings, kept out of sessions.
        planned = [e for e in usable if kind_of(e) is APPOINTMENTS]
        results.extend(appointment_outcomes(planned, index))
        usable = [e for e in usable if kind_of(e) is not APPOINTMENTS]
        medications = Index([e for d in self.documents for e in d.entries if e.type == "Medication"])
        results.extend(session_outcomes(usable, index, medications))
        not_loaded = [r for r in results if r.entry.type == "QuestionnaireResponse"]
        results.extend(assessment_outcomes(usable, index, forms, not_loaded))
        return results

    def for_file(self, path: str, kind: ExportKind) -> tuple[list[Row], list[Rejected]]:
        rows = [o for o in self.outcomes if isinstance(o, Row) and o.entry.path == path and o.kind == kind]
        rejects = [o for o in self.outcomes if isinstance(o, Rejected) and o.entry.path == path and o.kind == kind]
        return rows, rejects


def _unusable(entry: Entry) -> tuple[str, str] | None:
    """(rule, reason) for a resource that must not be used: not readable FHIR, entered in error,
    an infusion that did not take place, or a questionnaire not completed (`amended` is
    completed: its answers replace the earlier version's, an update like any other)."""
    status = entry.resource.get("status")
    if status == ENTERED_IN_ERROR:
        return "entered_in_error", f"{entry.where()} has status entered-in-error"
    if status == NOT_DONE and entry.type in ("Procedure", "MedicationAdministration"):
        return "not_given", f"{entry.where()} has status not-done: the infusion was not given"
    if status in NOT_COMPLETED and entry.type == "QuestionnaireResponse":
        return "not_completed", f"{entry.where()} has status {status}: not a completed questionnaire"
    error = validation_error(entry)
    if error:
        return "invalid_fhir", f"{entry.where()} is not valid FHIR R4: {error}"
    return None
