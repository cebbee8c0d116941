"""Procedure (+ MedicationAdministration + vital-sign Observations) -> canonical sessions rows.

An infusion is a Procedure. Its dose and route come from the MedicationAdministration(s) that
are part of it (several, e.g. a bolus and an infusion, add up); a MedicationAdministration
that is part of nothing is an infusion on its own. Only ketamine's count: one naming another
drug (resources.kind_of; here also through a Medication of the export it references) is
neither a session nor dose. Vital signs are Observations part of the infusion (or of its
MedicationAdministration), read relative to the infusion's start: pre = latest reading at or
before the start; peak BP = the reading with the highest systolic after it; SpO2 = the lowest
after it; weight = latest at or before the start, else the first.
CADSS, side effects and adverse events are not read from FHIR (left empty).
"""

from __future__ import annotations

import datetime as dt

from ...formats import SESSIONS
from .codes import (BODY_WEIGHT, BP_PANEL, DIASTOLIC, DOSE_UNITS_TO_MG, HEART_RATE, ROUTES, SNOMED, SPO2,
                    SYSTOLIC)
from .resources import Rejected, Row, display, kind_of, loinc_codes, names_ketamine
from .parse import Entry, Index, parse_time, reference_id

POUNDS_TO_KG = 0.45359237  # international avoirdupois pound


def _key(entry: Entry) -> tuple[str, int]:
    return entry.path, entry.source_row


def session_outcomes(usable: list[Entry], index: Index,
                     medications: Index | None = None) -> list[Row | Rejected]:
    """Rows of infusions; `medications` holds the export's Medication resources, which a
    MedicationAdministration may reference for its drug."""
    results: list[Row | Rejected] = []
    given: dict[tuple, list[Entry]] = {}  # procedure -> its medication administrations
    infusion_of: dict[tuple, tuple] = {}  # medication administration -> the infusion it belongs to
    infusions: list[Entry] = [e for e in usable if e.type == "Procedure"]
    for entry in usable:
        if entry.type != "MedicationAdministration" or _another_drug(entry, medications):
            continue
        part_of = entry.resource.get("partOf") or []
        if not part_of:
            infusions.append(entry)
            infusion_of[_key(entry)] = _key(entry)
            continue
        target = next((t for t in map(index.resolve, part_of) if t is not None and t.type == "Procedure"), None)
        if target is None:
            results.append(Rejected(SESSIONS, entry, "unknown_session",
                                    f"{entry.where()} is part of {_refs(part_of)}, which is not a Procedure in "
                                    "this export"))
            continue
        given.setdefault(_key(target), []).append(entry)
        infusion_of[_key(entry)] = _key(target)
    for procedure in (e for e in usable if e.type == "Procedure"):
        infusion_of[_key(procedure)] = _key(procedure)

    readings: dict[tuple, list[tuple[dt.datetime | None, dict]]] = {}
    for entry in usable:
        if entry.type != "Observation" or kind_of(entry) is not SESSIONS:
            continue
        part_of = entry.resource.get("partOf") or []
        if not part_of:
            continue  # a vital sign taken outside an infusion: not part of any session
        targets = [infusion_of.get(_key(t)) for t in map(index.resolve, part_of) if t is not None]
        target = next((t for t in targets if t), None)
        if target is None:
            results.append(Rejected(SESSIONS, entry, "unknown_session",
                                    f"{entry.where()} is part of {_refs(part_of)}, which is not an infusion in "
                                    "this export"))
            continue
        readings.setdefault(target, []).append((_effective(entry.resource), _measures(entry.resource)))

    for infusion in sorted(infusions, key=lambda e: (e.path, e.source_row)):
        resource = infusion.resource
        if infusion.type == "Procedure":
            period, moment = resource.get("performedPeriod") or {}, resource.get("performedDateTime")
            administrations = given.get(_key(infusion), [])
            performers = resource.get("performer") or []
            site = display(resource.get("location"))
        else:
            period, moment = resource.get("effectivePeriod") or {}, resource.get("effectiveDateTime")
            administrations = [infusion]
            performers = resource.get("performer") or []
            site = None  # MedicationAdministration has no location element in R4
        started_text = period.get("start") or moment
        started, ended = parse_time(started_text), parse_time(period.get("end"))
        dose, route, problem = _dose_and_route(administrations)
        if problem:
            results.append(Rejected(SESSIONS, infusion, "unknown_code", problem))
            continue
        values = {
            "session_id": infusion.id,
            "patient_id": reference_id(resource.get("subject"), "Patient", index),
            "started_at": started_text,
            "route": route,
            "dose_mg": dose,
            "duration_min": (ended - started).total_seconds() / 60 if started and ended else None,
            "clinician": display((performers[0] or {}).get("actor")) if performers else None,
            "site": site,
            "cadss_total": None, "side_effects": None, "adverse_event": None,
            **_vitals(started, readings.get(_key(infusion), [])),
        }
        results.append(Row(SESSIONS, infusion, values))
    return results


def _another_drug(entry: Entry, medications: Index | None) -> bool:
    """Whether the Medication of the export a MedicationAdministration references names a drug
    other than ketamine (a contained one, or a code in the resource, is read by kind_of)."""
    medication = (medications or Index([])).resolve(entry.resource.get("medicationReference"))
    return medication is not None and names_ketamine(medication.resource.get("code")) is False


def _refs(references: list) -> str:
    return ", ".join(str((r or {}).get("reference", "?")) for r in references)


def _effective(resource: dict) -> dt.datetime | None:
    return parse_time(resource.get("effectiveDateTime") or resource.get("effectiveInstant")
                      or (resource.get("effectivePeriod") or {}).get("start"))


def _quantity(holder: dict) -> float | None:
    value = (holder.get("valueQuantity") or {}).get("value")
    return float(value) if isinstance(value, (int, float)) else None


def _measures(resource: dict) -> dict[str, float]:
    """What one Observation measured: sys, dia, hr, spo2, weight (those present)."""
    found: dict[str, float] = {}

    def note(codes: list[str], value: float | None, unit: str | None = None) -> None:
        if value is None:
            return
        if SYSTOLIC in codes:
            found["sys"] = value
        elif DIASTOLIC in codes:
            found["dia"] = value
        elif HEART_RATE in codes:
            found["hr"] = value
        elif set(codes) & set(SPO2):
            found["spo2"] = value
        elif BODY_WEIGHT in codes:
            found["weight"] = value * POUNDS_TO_KG if unit in ("[lb_av]", "lb", "lbs") else value

    codes = loinc_codes(resource.get("code"))
    if BP_PANEL in codes:
        for component in resource.get("component") or []:
            note(loinc_codes(component.get("code")), _quantity(component))
    else:
        quantity = resource.get("valueQuantity") or {}
        note(codes, _quantity(resource), quantity.get("code") or quantity.get("unit"))
    return found


def _vitals(started: dt.datetime | None, readings: list[tuple[dt.datetime | None, dict]]) -> dict:
    """The session's vital-sign columns from its readings (merged by time, so a systolic and
    a diastolic Observation taken together are one blood pressure)."""
    merged: dict[dt.datetime, dict] = {}
    for when, measures in readings:
        if when is not None:
            merged.setdefault(when, {}).update(measures)
    ordered = sorted(merged.items())
    before = [m for when, m in ordered if started is None or when <= started]
    after = [m for when, m in ordered if started is not None and when > started]

    def latest(measures: list[dict], name: str) -> dict | None:
        return next((m for m in reversed(measures) if name in m), None)

    pre_bp = latest(before, "sys") or {}
    pre_hr = latest(before, "hr") or {}
    peak = max((m for m in after if "sys" in m), key=lambda m: m["sys"], default={})
    spo2 = [m["spo2"] for m in after if "spo2" in m]
    weight = latest(before, "weight") or next((m for m in after if "weight" in m), {})
    return {
        "bp_pre_sys": pre_bp.get("sys"), "bp_pre_dia": pre_bp.get("dia"),
        "bp_peak_sys": peak.get("sys"), "bp_peak_dia": peak.get("dia"),
        "hr_pre": pre_hr.get("hr"),
        "spo2_min": min(spo2) if spo2 else None,
        "weight_kg": weight.get("weight"),
    }


def _dose_and_route(administrations: list[Entry]) -> tuple[float | None, str | None, str | None]:
    """Total dose in mg and the route of the first administration, or a problem naming a dose
    unit we cannot turn into mg."""
    total, route = None, None
    for entry in sorted(administrations, key=lambda e: (_time_order(e), e.source_row)):
        dosage = entry.resource.get("dosage") or {}
        dose = dosage.get("dose") or {}
        if isinstance(dose.get("value"), (int, float)):
            unit = dose.get("code") or dose.get("unit") or "mg"
            factor = DOSE_UNITS_TO_MG.get(unit.strip().lower())
            if factor is None:
                return None, None, f"{entry.where()} dose {dose['value']} {unit}: the unit is not one of mg, g, ug"
            total = (total or 0.0) + dose["value"] * factor
        if route is None:
            route = _route(dosage.get("route"))
    return total, route, None


def _time_order(entry: Entry) -> float:
    resource = entry.resource
    when = parse_time(resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start"))
    return when.timestamp() if when else 0.0


def _route(concept: dict | None) -> str | None:
    concept = concept or {}
    for coding in concept.get("coding") or []:
        if coding.get("system") == SNOMED and coding.get("code") in ROUTES:
            return ROUTES[coding["code"]]
    if concept.get("text"):
        return concept["text"]
    return next((c.get("display") for c in concept.get("coding") or [] if c.get("display")), None)
