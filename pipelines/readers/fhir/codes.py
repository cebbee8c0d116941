"""The FHIR code tables, as data in one place: which codes the FHIR reader reads and what
each one becomes. The scale codes (panel, total, item LOINC codes) are not repeated here:
they live in the instrument registry, `pipelines/instruments.py`.

Sources: LOINC for vital signs and answer codes (the project's clinical reference gives the
PHQ-9 answer codes), SNOMED CT for routes, ICD-10(-CM) chapters for the indication.
"""

from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10")
# R4 core extension carrying a coded answer's number (valueDecimal); it wins over ANSWER_CODES.
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
# R5's name for the same number (also valueDecimal), used by SDC-based forms on R4.
ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
WEIGHT_EXTENSIONS = (ORDINAL_VALUE, ITEM_WEIGHT)
# CodeSystem concept properties holding an answer's number (SDC's CSPHQ9 uses itemWeight).
WEIGHT_PROPERTIES = ("itemWeight", "weight", "ordinalValue", "score")

# LOINC answer list LL358-3 (PHQ-9 / GAD-7 frequency answers), clinical reference "PHQ-9";
# LL359-1, the PHQ-9 difficulty question (69722-7, item 10, recorded but not summed), in the
# order LOINC gives: not difficult at all, somewhat, very, extremely difficult.
ANSWER_CODES: dict[str, int] = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3,
                                "LA6572-7": 0, "LA6573-5": 1, "LA6575-0": 2, "LA6574-3": 3}

# Condition (R4 terminology): which Conditions name a patient's indication when no
# EpisodeOfCare does: on the problem list or an encounter diagnosis, active (or no status).
CONDITION_CATEGORIES = ("problem-list-item", "encounter-diagnosis")
ACTIVE_CLINICAL_STATUSES = ("active", "recurrence", "relapse")
NOT_CONFIRMED = ("refuted", "entered-in-error")  # verificationStatus that rules a Condition out

# Vital signs (LOINC), read from Observations that are part of an infusion.
BP_PANEL = "85354-9"
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
HEART_RATE = "8867-4"
SPO2 = ("59408-5", "2708-6")  # SpO2 by pulse oximetry; O2 saturation in arterial blood
BODY_WEIGHT = "29463-7"
VITAL_CODES = frozenset({BP_PANEL, SYSTOLIC, DIASTOLIC, HEART_RATE, *SPO2, BODY_WEIGHT})

# SNOMED CT route of administration -> the sessions export's route.
ROUTES: dict[str, str] = {
    "47625008": "iv",  # intravenous route
    "78421000": "im",  # intramuscular route
    "46713006": "intranasal",  # nasal route
}

# ICD-10(-CM) code prefixes -> primary_indication (first match wins, so the longer prefix
# F43.1, PTSD, is listed before any broader one).
ICD10_INDICATIONS: tuple[tuple[str, str], ...] = (
    ("F43.1", "ptsd"),
    ("F31", "bipolar_depression"),
    ("F32", "depression"),
    ("F33", "depression"),
    ("F41", "anxiety"),
    ("G89", "chronic_pain"),
)

# Dose units accepted on MedicationAdministration.dosage.dose (UCUM code or unit text) and the
# factor to milligrams.
DOSE_UNITS_TO_MG: dict[str, float] = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mcg": 0.001}

# Resource statuses that mean "this did not happen / ignore this record".
ENTERED_IN_ERROR = "entered-in-error"
NOT_DONE = "not-done"
NOT_COMPLETED = ("in-progress", "stopped")  # QuestionnaireResponse: answers still missing or abandoned


# What makes a Procedure an infusion of this clinic (readers/fhir/resources.kind_of). An EHR's
# export holds every procedure of a patient (counselling, imaging, other drugs' infusions, ...);
# only ketamine infusions are sessions. A Procedure is one when its code names ketamine
# (KETAMINE_WORDS in its text or a display, or KETAMINE_CODES: RxNorm 6130 ketamine; HCPCS S0013
# esketamine nasal spray, G2082/G2083 esketamine visit), or has no code at all (a clinic's own
# export that says nothing else), or names an infusion without naming anything else: the word
# "infusion" or a billing code of INFUSION_CODES (CPT 96365-96368 intravenous infusion,
# 96374-96376 intravenous push; AMA CPT), with every word of its text and displays one of
# GENERIC_WORDS (the CPT descriptors' words). "Iron infusion" or "IVIG infusion" names another
# drug: not a session.
KETAMINE_WORDS = ("ketamine", "esketamine", "spravato", "ketalar")
KETAMINE_CODES = {"6130", "S0013", "G2082", "G2083"}
INFUSION_WORDS = ("infusion",)
INFUSION_CODES = {"96365", "96366", "96367", "96368", "96374", "96375", "96376"}
GENERIC_WORDS = frozenset(
    "intravenous iv i v infusion infusions push injection injections therapy therapeutic prophylaxis "
    "prophylactic diagnosis diagnostic specify substance drug initial subsequent up to hour hours hr h "
    "min minutes each additional list separately in addition code for primary procedure sequential new "
    "concurrent single or and of a an the same provided facility first session treatment visit "
    "administration administered given".split())
# A MedicationAdministration (its medicationCodeableConcept, or the code of the Medication it
# references) is ketamine's when it names ketamine as above; one naming another drug (an
# antiemetic, a benzodiazepine given during the infusion) is neither a session nor dose. One
# that names no drug at all is taken as the clinic's ketamine.
