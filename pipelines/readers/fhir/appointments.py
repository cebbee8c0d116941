"""Appointment, and a Procedure in `preparation` -> canonical appointments rows (planned infusions).

Both say an infusion is planned, not given, so they feed the `appointments` table and never
`sessions` (docs/import-format.md, "appointments.csv"):

- `Appointment` (FHIR R4, https://hl7.org/fhir/R4/appointment.html): `start` is the planned
  time, `status` the booking's (booked, pending, proposed, ...), the patient, practitioner and
  location are `participant.actor` references. An Appointment is read when its serviceType,
  appointmentType, reasonCode or description names a ketamine infusion, or says nothing
  (`resources.kind_of`); a consultation or an MRI review is not a planned infusion.
- `Procedure` with `status` `preparation` (https://hl7.org/fhir/R4/valueset-event-status.html:
  "The core event has not started yet, but some staging activities have begun"): an infusion
  being prepared, planned at `performedDateTime` or `performedPeriod.start`; read as booked.
"""

from __future__ import annotations

from ...formats import APPOINTMENTS
from .parse import Entry, Index, reference_id
from .resources import Row, display


def _participant(resource: dict, resource_type: str, index: Index) -> tuple[str | None, str | None]:
    """(id, display) of the first participant whose actor is a `resource_type`."""
    for participant in resource.get("participant") or []:
        actor = (participant or {}).get("actor") if isinstance(participant, dict) else None
        if not isinstance(actor, dict):
            continue
        found = reference_id(actor, resource_type, index)
        if found is not None or str(actor.get("reference", "")).startswith(f"{resource_type}/"):
            return found, display(actor)
    return None, None


def appointment_outcomes(planned: list[Entry], index: Index) -> list[Row]:
    """One appointments row per planned infusion (Appointment, or Procedure in preparation)."""
    rows = []
    for entry in planned:
        resource = entry.resource
        if entry.type == "Appointment":
            patient_id, _ = _participant(resource, "Patient", index)
            _, clinician = _participant(resource, "Practitioner", index)
            _, site = _participant(resource, "Location", index)
            values = {"appointment_id": entry.id, "patient_id": patient_id, "planned_at": resource.get("start"),
                      "status": resource.get("status"), "site": site, "clinician": clinician}
        else:
            period = resource.get("performedPeriod") or {}
            performers = resource.get("performer") or []
            values = {"appointment_id": entry.id,
                      "patient_id": reference_id(resource.get("subject"), "Patient", index),
                      "planned_at": period.get("start") or resource.get("performedDateTime"),
                      "status": "booked",
                      "site": display(resource.get("location")),
                      "clinician": display((performers[0] or {}).get("actor")) if performers else None}
        rows.append(Row(APPOINTMENTS, entry, values))
    return rows
