"""The import format: which files we accept and which columns each must have.

A file's kind is recognised from its header, so exports may arrive in any order and under
any name. Header names are matched ignoring case, spaces and punctuation (`Patient ID`,
`patient_id` and `PATIENT-ID` are the same column). Documented in docs/import-format.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .instruments import MAX_ITEM_COLUMNS

ITEM_COLUMNS = tuple(f"item_{n}" for n in range(1, MAX_ITEM_COLUMNS + 1))


@dataclass(frozen=True)
class ExportKind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    # The column that tells this kind apart from the others when present in a header.
    signature: str
    # Columns the CSV parser reads as numbers: a cell that is not a number is rejected there,
    # with the column named, and validation works on numbers.
    numeric: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


PATIENTS = ExportKind(
    name="patients",
    required=("patient_id", "birth_year", "sex", "primary_indication", "site", "clinician", "intake_date"),
    optional=("contraindications", "discharge_date"),
    signature="birth_year",
)

SESSIONS = ExportKind(
    name="sessions",
    required=(
        "session_id", "patient_id", "started_at", "route", "dose_mg", "weight_kg", "duration_min",
        "clinician", "site", "bp_pre_sys", "bp_pre_dia", "bp_peak_sys", "bp_peak_dia", "hr_pre",
        "spo2_min", "cadss_total", "side_effects", "adverse_event",
    ),
    optional=(),
    signature="started_at",
    numeric=("dose_mg", "weight_kg", "duration_min", "bp_pre_sys", "bp_pre_dia", "bp_peak_sys", "bp_peak_dia",
             "hr_pre", "spo2_min", "cadss_total"),
)

ASSESSMENTS = ExportKind(
    name="assessments",
    required=("patient_id", "instrument", "administered_at"),
    optional=("assessment_id", "session_id", "total", *ITEM_COLUMNS),
    signature="instrument",
    numeric=("total", *ITEM_COLUMNS),
)

# Planned infusions (the scheduler's bookings): kept apart from `sessions`, so a booking never
# counts as an infusion in any outcome, dose or retention figure (docs/import-format.md).
APPOINTMENTS = ExportKind(
    name="appointments",
    required=("appointment_id", "patient_id", "planned_at"),
    optional=("status", "site", "clinician"),
    signature="planned_at",
)

# Order matters twice: detection tries assessments first (its header may also hold
# session_id), and loading goes patients -> sessions -> assessments so references resolve.
KINDS: tuple[ExportKind, ...] = (PATIENTS, SESSIONS, ASSESSMENTS, APPOINTMENTS)
DETECTION_ORDER: tuple[ExportKind, ...] = (APPOINTMENTS, ASSESSMENTS, SESSIONS, PATIENTS)


class ImportFormatError(Exception):
    """A file we cannot take at all: the run stops and nothing is written."""


def normalise_header(name: str) -> str:
    """`Item 1` -> `item_1`, ` Patient-ID ` -> `patient_id`, `DoseMg`-style stays `dosemg`."""
    name = name.strip().lstrip("\ufeff").lower()
    name = re.sub(r"[^a-z0-9]+", "_", name)
    return name.strip("_")


def detect_kind(path: str, header: list[str]) -> ExportKind:
    """The export kind for a normalised header, or ImportFormatError naming what is missing."""
    present = set(header)
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ImportFormatError(f"{path}: the header repeats column(s) {', '.join(duplicated)}")
    for kind in DETECTION_ORDER:
        if kind.signature in present:
            missing = [c for c in kind.required if c not in present]
            if missing:
                raise ImportFormatError(
                    f"{path}: looks like a {kind.name} export but lacks required column(s): "
                    f"{', '.join(missing)}"
                )
            return kind
    expected = "; ".join(f"{k.name}: {', '.join(k.required)}" for k in KINDS)
    raise ImportFormatError(
        f"{path}: not a recognised export (header: {', '.join(header) or 'empty'}). "
        f"Expected the columns of one of: {expected}"
    )
