"""Planned infusions from FHIR R4 (pipelines/readers/fhir/appointments.py): an `Appointment`
(shaped as the R4 specification's own example, https://hl7.org/fhir/R4/appointment-example.json.html:
participants for the patient, the practitioner and the location; `start`/`end`; a status) and a
`Procedure` with status `preparation` (https://hl7.org/fhir/R4/valueset-event-status.html)
become rows of `appointments`, never infusions; an Appointment for something else (the example's
own "Discussion on the results of your recent MRI") is skipped."""

from __future__ import annotations

import json

from conftest import NOW, query
from pipelines.ingest import ingest
from pipelines.settings import Settings

SETTINGS = Settings()


def appointment(aid, start, status="booked", description="Ketamine infusion", patient="Patient/001") -> dict:
    """The R4 example's shape (appointment-example.json), for an infusion."""
    return {
        "resourceType": "Appointment", "id": aid, "status": status,
        "serviceType": [{"coding": [{"code": "52", "display": "General Discussion"}]}] if description is None else [],
        "description": description,
        "start": start, "end": start.replace("T09", "T11"),
        "participant": [
            {"actor": {"reference": patient, "display": "Peter James Chalmers"}, "required": "required",
             "status": "accepted"},
            {"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                   "code": "ATND"}]}],
             "actor": {"reference": "Practitioner/example", "display": "Dr Adam Careful"}, "required": "required",
             "status": "accepted"},
            {"actor": {"reference": "Location/1", "display": "South Wing, second floor"}, "required": "required",
             "status": "accepted"},
        ],
    }


def resources() -> list[dict]:
    mri = appointment("mri", "2026-06-10T09:00:00Z", description="Discussion on the results of your recent MRI")
    mri.pop("serviceType")
    return [
        {"resourceType": "Patient", "id": "001", "gender": "female", "birthDate": "1980-04-02"},
        {"resourceType": "Procedure", "id": "S1", "status": "completed", "subject": {"reference": "Patient/001"},
         "code": {"text": "Ketamine infusion"}, "performedDateTime": "2026-05-20T09:00:00-04:00"},
        # being prepared: planned for 4 June at 09:00 New York time (13:00 UTC)
        {"resourceType": "Procedure", "id": "S2", "status": "preparation", "subject": {"reference": "Patient/001"},
         "code": {"text": "Ketamine infusion"}, "performedDateTime": "2026-06-04T13:00:00Z",
         "performer": [{"actor": {"display": "Dr. Okafor"}}], "location": {"display": "Northside"}},
        appointment("ap1", "2026-06-10T13:00:00Z"),                 # 09:00 in New York (EDT)
        appointment("ap2", "2026-06-12T13:00:00Z", status="proposed"),
        mri,                                                         # not an infusion: skipped
        appointment("ap3", "2026-06-15T13:00:00Z", status="entered-in-error"),  # quarantined, as any such resource
    ]


def bundle(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": r} for r in resources()]}), encoding="utf-8")
    return path


def test_appointments_and_prepared_procedures_are_bookings_not_infusions(tmp_path):
    db = tmp_path / "o.duckdb"
    ingest(db, [bundle(tmp_path)], SETTINGS, now=NOW)
    assert query(db, "SELECT session_id FROM sessions") == [("S1",)]  # only the infusion given
    booked = query(db, "SELECT appointment_id, patient_id, planned_at::VARCHAR, status, site, clinician "
                       "FROM appointments ORDER BY appointment_id")
    assert booked == [
        ("S2", "001", "2026-06-04 09:00:00", "booked", "Northside", "Dr. Okafor"),
        ("ap1", "001", "2026-06-10 09:00:00", "booked", "South Wing, second floor", "Dr Adam Careful"),
        ("ap2", "001", "2026-06-12 09:00:00", "proposed", "South Wing, second floor", "Dr Adam Careful"),
    ]
    assert query(db, "SELECT kind, rules FROM quarantine") == [("appointments", ["entered_in_error"])]
    assert query(db, "SELECT n_sessions FROM patient_cohorts") == [(1,)]


def test_a_finished_episode_of_care_is_a_discharge(tmp_path):
    """EpisodeOfCare.status `finished` (https://hl7.org/fhir/R4/episodeofcare.html) with a
    period.end discharges the patient on that day; an active one, or a finished one without an
    end, does not."""
    def episode(eid, pid, status, period):
        return {"resourceType": "EpisodeOfCare", "id": eid, "status": status,
                "patient": {"reference": f"Patient/{pid}"}, "period": period}

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in [
        {"resourceType": "Patient", "id": "A", "gender": "female", "birthDate": "1980-04-02"},
        {"resourceType": "Patient", "id": "B", "gender": "male", "birthDate": "1981-04-02"},
        {"resourceType": "Patient", "id": "C", "gender": "male", "birthDate": "1982-04-02"},
        episode("eA", "A", "finished", {"start": "2026-01-05", "end": "2026-04-30T17:00:00-04:00"}),
        episode("eB", "B", "active", {"start": "2026-01-05"}),
        episode("eC", "C", "finished", {"start": "2026-01-05"}),
    ]]}), encoding="utf-8")
    db = tmp_path / "o.duckdb"
    ingest(db, [path], SETTINGS, now=NOW)
    assert query(db, "SELECT patient_id, discharge_date::VARCHAR FROM patients ORDER BY patient_id") == [
        ("A", "2026-04-30"), ("B", None), ("C", None)]
