"""The sample FHIR R4 exports: the same ten patients as the REDCap sample, with their
sessions and PHQ-9 / GAD-7 / pain assessments, as an EHR would export them.

Why derived rather than generated: the FHIR reader's promise is that a clinic gets the same
outcomes whichever way it exports, so the sample is the CSV sample's own rows re-laid as FHIR
resources (tests/test_fhir.py checks that CSV, REDCap and FHIR give identical outcomes).

Two shapes, as clinics meet them:

- `bundle.json`: a Bundle (type collection) for the first five patients, every resource with
  a `urn:uuid:` fullUrl and every reference by that fullUrl. Indications are Conditions coded
  in ICD-10-CM; item answers are LOINC answer codes (PHQ-9 item 10 a valueInteger); a total
  recorded with the items is an Observation derivedFrom the QuestionnaireResponse; pain and
  total-only records are Observations of their own. Organizations for the sites ride along
  (the reader skips them).
- `<Type>.ndjson`: a bulk export (one file per resource type, one resource per line) for the
  other five, references as `Type/id`. Indications are the diagnosis' display text; PHQ-9
  answers are LOINC codes carrying the ordinalValue extension, GAD-7 answers valueInteger,
  with linkIds naming the position; totals are items of the response; blood pressure is two
  Observations (systolic, diastolic) part of the MedicationAdministration.

Times carry the clinic's UTC offset (FHIR requires one on a time), so they read back as the
CSV's local times. CADSS, side effects, adverse events and contraindications are not carried:
the reader does not read them.

    python -m pipelines.synth.fhir            # rewrites data/sample/fhir/
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

from ..settings import Settings
from .codes import (ANSWER_CODES, BODY_WEIGHT, BP_PANEL, DIASTOLIC, FHIR_SCALES, HEART_RATE, LOINC, ORDINAL_VALUE,
                    PAIN_NRS, PHQ9, ROUTES, SNOMED, SPO2, SYSTOLIC, scale_code, squash)

SCALES = FHIR_SCALES
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
# One ICD-10-CM code per indication for the Bundle's Conditions (any code under the prefixes
# the reader maps would do; these are common ones).
CONDITIONS = {
    "depression": ("F33.1", "Major depressive disorder, recurrent, moderate"),
    "bipolar_depression": ("F31.4", "Bipolar disorder, current episode depressed, severe"),
    "anxiety": ("F41.1", "Generalized anxiety disorder"),
    "ptsd": ("F43.10", "Post-traumatic stress disorder, unspecified"),
    "chronic_pain": ("G89.4", "Chronic pain syndrome"),
}
INDICATION_TEXT = {"depression": "Depression", "bipolar_depression": "Bipolar depression", "anxiety": "Anxiety",
                   "ptsd": "PTSD", "chronic_pain": "Chronic pain", "other": "Other"}
ANSWER_DISPLAY = {0: "Not at all", 1: "Several days", 2: "More than half the days", 3: "Nearly every day"}
CODE_OF_ANSWER = {value: code for code, value in ANSWER_CODES.items()}
ROUTE_CODES = {route: code for code, route in ROUTES.items()}
ROUTE_DISPLAY = {"iv": "Intravenous route", "im": "Intramuscular route", "intranasal": "Nasal route"}
TYPE_ORDER = ("Organization", "Patient", "Condition", "EpisodeOfCare", "Procedure", "MedicationAdministration",
              "Observation", "QuestionnaireResponse")


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _number(text: str) -> int | float | None:
    if not text:
        return None
    value = float(text)
    return int(value) if value.is_integer() else value


class Layout:
    """How one of the two files writes references, answers and totals."""

    def __init__(self, bundle: bool, zone: ZoneInfo):
        self.bundle, self.zone = bundle, zone

    def uid(self, resource_type: str, rid: str) -> str:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'infusion-outcomes-sample/{resource_type}/{rid}')}"

    def ref(self, resource_type: str, rid: str, display: str | None = None) -> dict:
        reference = {"reference": self.uid(resource_type, rid) if self.bundle else f"{resource_type}/{rid}"}
        if display:
            reference["display"] = display
        return reference

    def time(self, local: str, minutes: float = 0) -> str:
        """A CSV time (shifted by `minutes`) with the clinic's UTC offset: a local time as it
        is, a time exported with an offset (some are, in UTC) converted to clinic time."""
        moment = dt.datetime.fromisoformat(local) + dt.timedelta(minutes=minutes)
        if moment.tzinfo is not None:
            return moment.astimezone(self.zone).isoformat()
        return moment.replace(tzinfo=self.zone).isoformat()


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _loinc(code: str, text: str) -> dict:
    return {"coding": [_coding(LOINC, code, text)], "text": text}


def _quantity(value, unit: str, code: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def patient_resources(row: dict, layout: Layout) -> list[dict]:
    pid = row["patient_id"]
    patient = {"resourceType": "Patient", "id": pid, "gender": row["sex"] or "unknown", "birthDate": row["birth_year"]}
    indication = row["primary_indication"]
    course = {
        "resourceType": "EpisodeOfCare", "id": f"course-{pid}", "status": "active",
        "patient": layout.ref("Patient", pid),
        "managingOrganization": layout.ref("Organization", row["site"], row["site"]),
        "careManager": {"display": row["clinician"]},
        "period": {"start": row["intake_date"]},
    }
    resources = [patient, course]
    if layout.bundle:
        code, name = CONDITIONS.get(indication, (None, None))
        condition = {"resourceType": "Condition", "id": f"indication-{pid}", "subject": layout.ref("Patient", pid),
                     "code": ({"coding": [_coding(ICD10_CM, code, name)], "text": name} if code
                              else {"text": INDICATION_TEXT.get(indication, indication)})}
        course["diagnosis"] = [{"condition": layout.ref("Condition", condition["id"]), "rank": 1}]
        resources.append(condition)
    else:
        course["diagnosis"] = [{"condition": {"display": INDICATION_TEXT.get(indication, indication)}, "rank": 1}]
    return resources


def session_resources(row: dict, layout: Layout) -> list[dict]:
    sid, pid = row["session_id"], row["patient_id"]
    start = layout.time(row["started_at"])
    duration = _number(row["duration_min"])
    period = {"start": start, **({"end": layout.time(row["started_at"], duration)} if duration is not None else {})}
    procedure = {
        "resourceType": "Procedure", "id": sid, "status": "completed",
        "code": {"text": "Ketamine infusion"}, "subject": layout.ref("Patient", pid),
        "performedPeriod": period,
        "performer": [{"actor": {"display": row["clinician"]}}],
        "location": {"display": row["site"]},
    }
    administration = {
        "resourceType": "MedicationAdministration", "id": f"{sid}-dose", "status": "completed",
        "partOf": [layout.ref("Procedure", sid)],
        "medicationCodeableConcept": {"text": "esketamine" if row["route"] == "intranasal" else "ketamine hydrochloride"},
        "subject": layout.ref("Patient", pid), "effectivePeriod": period,
        "dosage": {"route": {"coding": [_coding(SNOMED, ROUTE_CODES[row["route"]], ROUTE_DISPLAY[row["route"]])]},
                   **({"dose": _quantity(_number(row["dose_mg"]), "mg", "mg")} if row["dose_mg"] else {})},
    }
    # Bundle: vitals part of the Procedure; bulk export: part of the administration.
    part_of = [layout.ref("Procedure", sid)] if layout.bundle else [layout.ref("MedicationAdministration", administration["id"])]
    observations = []

    def observe(name: str, minutes: float, code: str, text: str, **value) -> None:
        observations.append({
            "resourceType": "Observation", "id": f"{sid}-{name}", "status": "final",
            "category": [{"coding": [_coding("http://terminology.hl7.org/CodeSystem/observation-category",
                                             "vital-signs", "Vital Signs")]}],
            "code": _loinc(code, text), "subject": layout.ref("Patient", pid), "partOf": part_of,
            "effectiveDateTime": layout.time(row["started_at"], minutes), **value,
        })

    def blood_pressure(name: str, minutes: float, systolic, diastolic) -> None:
        parts = [(SYSTOLIC, "Systolic blood pressure", systolic), (DIASTOLIC, "Diastolic blood pressure", diastolic)]
        parts = [(code, text, value) for code, text, value in parts if value is not None]
        if not parts:
            return
        if layout.bundle:
            observe(name, minutes, BP_PANEL, "Blood pressure panel", component=[
                {"code": _loinc(code, text), "valueQuantity": _quantity(value, "mmHg", "mm[Hg]")}
                for code, text, value in parts])
        else:
            for code, text, value in parts:
                observe(f"{name}-{'sys' if code == SYSTOLIC else 'dia'}", minutes, code, text,
                        valueQuantity=_quantity(value, "mmHg", "mm[Hg]"))

    vitals = {k: _number(row[k]) for k in ("bp_pre_sys", "bp_pre_dia", "bp_peak_sys", "bp_peak_dia", "hr_pre",
                                           "spo2_min", "weight_kg")}
    if vitals["weight_kg"] is not None:
        observe("weight", -15, BODY_WEIGHT, "Body weight", valueQuantity=_quantity(vitals["weight_kg"], "kg", "kg"))
    blood_pressure("bp-pre", -10, vitals["bp_pre_sys"], vitals["bp_pre_dia"])
    if vitals["hr_pre"] is not None:
        observe("hr-pre", -10, HEART_RATE, "Heart rate", valueQuantity=_quantity(vitals["hr_pre"], "/min", "/min"))
    blood_pressure("bp-peak", 20, vitals["bp_peak_sys"], vitals["bp_peak_dia"])
    if vitals["bp_peak_sys"] is not None and vitals["bp_peak_dia"] is not None:
        # a later, lower reading: the reader must keep the highest systolic as the peak
        blood_pressure("bp-late", 50, vitals["bp_peak_sys"] - 8, vitals["bp_peak_dia"] - 4)
    if vitals["spo2_min"] is not None:
        observe("spo2-min", 20, SPO2[0], "Oxygen saturation by pulse oximetry",
                valueQuantity=_quantity(vitals["spo2_min"], "%", "%"))
        observe("spo2-late", 50, SPO2[0], "Oxygen saturation by pulse oximetry",
                valueQuantity=_quantity(min(100, vitals["spo2_min"] + 1), "%", "%"))
    return [procedure, administration, *observations]


def assessment_resources(row: dict, scale: str, layout: Layout) -> list[dict]:
    aid, pid = row["assessment_id"], row["patient_id"]
    spec = SCALES[scale]
    items = {n: _number(row.get(f"item_{n}", "")) for n in range(1, spec.n_columns + 1)}
    items = {n: v for n, v in items.items() if v is not None}
    total = _number(row.get("total", ""))
    authored = layout.time(row["administered_at"])
    session = [layout.ref("Procedure", row["session_id"])] if row.get("session_id") else []
    survey = [{"coding": [_coding("http://terminology.hl7.org/CodeSystem/observation-category", "survey", "Survey")]}]

    def total_observation(value, derived_from: str | None = None) -> dict:
        observation = {"resourceType": "Observation", "id": aid if derived_from is None else f"{aid}-total",
                       "status": "final", "category": survey,
                       "code": _loinc(spec.loinc_total, f"{spec.code} total score"),
                       "subject": layout.ref("Patient", pid), "effectiveDateTime": authored}
        if derived_from:
            observation["derivedFrom"] = [layout.ref("QuestionnaireResponse", derived_from)]
        elif session:
            observation["partOf"] = session
        if layout.bundle:
            observation["valueInteger"] = int(value)
        else:
            observation["valueQuantity"] = {"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"}
        return observation

    if scale == PAIN_NRS.code or not items:
        # Pain, and a total recorded without its items: an Observation of its own.
        value = total if total is not None else items.get(1)
        return [total_observation(value)]
    response = {"resourceType": "QuestionnaireResponse", "id": aid, "status": "completed",
                "questionnaire": f"http://loinc.org/q/{spec.loinc_panel}",
                "subject": layout.ref("Patient", pid), "authored": authored, "item": []}
    if session:
        response["partOf"] = session
    codes = (*spec.loinc_items, *spec.extra_items)
    for n, value in items.items():
        scored = n <= spec.n_items
        if layout.bundle:
            link = f"/{codes[n - 1]}"
            answer = ({"valueCoding": _coding(LOINC, CODE_OF_ANSWER[value], ANSWER_DISPLAY[value])} if scored
                      else {"valueInteger": value})
        elif scale == PHQ9.code:
            link = f"/{codes[n - 1]}"
            answer = ({"valueCoding": {"extension": [{"url": ORDINAL_VALUE, "valueDecimal": value}],
                                       **_coding(LOINC, CODE_OF_ANSWER[value], ANSWER_DISPLAY[value])}}
                      if scored else {"valueInteger": value})
        else:
            link, answer = f"{squash(scale).lower()}_{n}", {"valueInteger": value}
        response["item"].append({"linkId": link, "answer": [answer]})
    resources = [response]
    if total is not None:
        if layout.bundle:
            resources.append(total_observation(total, derived_from=aid))
        else:
            response["item"].append({"linkId": f"/{spec.loinc_total}", "answer": [{"valueInteger": int(total)}]})
    return resources


def fhir_resources(sample: Path, patient_ids: list[str], layout: Layout) -> list[dict]:
    """Every resource for `patient_ids`, in a stable order (type, then CSV order)."""
    wanted = set(patient_ids)
    resources: list[dict] = []
    patients = [r for r in _read(sample / "patients.csv") if r["patient_id"] in wanted]
    if layout.bundle:
        for site in sorted({r["site"] for r in patients}):
            resources.append({"resourceType": "Organization", "id": site, "name": site})
    for row in patients:
        resources += patient_resources(row, layout)
    for row in _read(sample / "sessions.csv"):
        if row["patient_id"] in wanted:
            resources += session_resources(row, layout)
    for row in _read(sample / "assessments.csv"):
        scale = scale_code(row["instrument"])
        if row["patient_id"] in wanted and scale in SCALES:
            resources += assessment_resources(row, scale, layout)
    return sorted(resources, key=lambda r: TYPE_ORDER.index(r["resourceType"]))  # stable: CSV order kept


def chosen_patients(sample: Path, n_patients: int = 10) -> list[str]:
    """The REDCap sample's patients: the first `n_patients` ids (sorted) with any assessment."""
    with_scores = {row["patient_id"] for row in _read(sample / "assessments.csv")}
    return [pid for pid in sorted(r["patient_id"] for r in _read(sample / "patients.csv")) if pid in with_scores][
        :n_patients]


def write_fhir_sample(sample: Path, out: Path, n_patients: int = 10, timezone: str | None = None) -> list[str]:
    """Write bundle.json (first half of the patients) and the <Type>.ndjson bulk export (the
    rest) into `out`; return the patient ids."""
    zone = ZoneInfo(timezone or Settings().clinic_timezone)
    chosen = chosen_patients(sample, n_patients)
    half = len(chosen) // 2
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.ndjson"), *out.glob("*.json")]:
        old.unlink()
    bundle_layout = Layout(bundle=True, zone=zone)
    entries = [{"fullUrl": bundle_layout.uid(r["resourceType"], r["id"]), "resource": r}
               for r in fhir_resources(sample, chosen[:half], bundle_layout)]
    bundle = {"resourceType": "Bundle", "id": "sample-clinic-export", "type": "collection",
              "timestamp": "2026-01-05T09:00:00-05:00", "entry": entries}
    (out / "bundle.json").write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    by_type: dict[str, list[dict]] = {}
    for resource in fhir_resources(sample, chosen[half:], Layout(bundle=False, zone=zone)):
        by_type.setdefault(resource["resourceType"], []).append(resource)
    for resource_type, resources in by_type.items():
        lines = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in resources]
        (out / f"{resource_type}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return chosen


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2] / "data" / "sample"
    print("patients:", ", ".join(write_fhir_sample(root, root / "fhir")))
