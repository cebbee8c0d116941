"""The public code systems the synthetic FHIR and REDCap samples are written in: LOINC codes of
the scales and vital signs, the LOINC answer list, SNOMED CT routes.

Kept local to the generator on purpose, like `scales.py`: the samples are test data for the
importer, so they are written from the published code lists (loinc.org, SNOMED CT), not from
the importer's own tables; a wrong code there then shows up as a failing test instead of being
copied into the data meant to catch it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .scales import SCALES

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
# R4 core extension carrying a coded answer's number (valueDecimal).
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"

# LOINC answer list LL358-3 (PHQ-9 / GAD-7 frequency answers): answer code -> item value.
ANSWER_CODES: dict[str, int] = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}

# Vital signs (LOINC).
BP_PANEL = "85354-9"
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
HEART_RATE = "8867-4"
SPO2 = ("59408-5", "2708-6")  # SpO2 by pulse oximetry; O2 saturation in arterial blood
BODY_WEIGHT = "29463-7"

# SNOMED CT route of administration -> the sessions export's route.
ROUTES: dict[str, str] = {
    "47625008": "iv",  # intravenous route
    "78421000": "im",  # intramuscular route
    "46713006": "intranasal",  # nasal route
}


@dataclass(frozen=True)
class ScaleCodes:
    """A scale's LOINC codes (loinc.org): panel, total, scored items, then items recorded but
    not summed (PHQ-9's "how difficult" question)."""

    code: str
    n_items: int
    loinc_panel: str | None
    loinc_total: str
    loinc_items: tuple[str, ...] = ()
    extra_items: tuple[str, ...] = ()

    @property
    def n_columns(self) -> int:
        return self.n_items + len(self.extra_items)


PHQ9 = ScaleCodes(
    "PHQ-9", 9, loinc_panel="44249-1", loinc_total="44261-6",
    loinc_items=("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"),
    extra_items=("69722-7",),
)
GAD7 = ScaleCodes(
    "GAD-7", 7, loinc_panel="69737-5", loinc_total="70274-6",
    loinc_items=("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
)
PAIN_NRS = ScaleCodes("PAIN-NRS", 1, loinc_panel=None, loinc_total="72514-3")

# The scales the FHIR sample carries (the PCL-5 total has no LOINC code).
FHIR_SCALES: dict[str, ScaleCodes] = {s.code: s for s in (PHQ9, GAD7, PAIN_NRS)}


def squash(text: str) -> str:
    """`phq9`, `PHQ 9` and `Phq-9` all become `PHQ9`: case, spaces and punctuation ignored."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


_SPELLINGS = {squash(spelling): scale.name for scale in SCALES for spelling in (scale.name, scale.variant)}


def scale_code(text: str) -> str | None:
    """The canonical code of a scale as the synthetic CSV spells it (its name or its legacy
    variant), None for anything else."""
    return _SPELLINGS.get(squash(text))
