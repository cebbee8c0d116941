"""Planned infusions: the synthetic clinic's bookings for the days after its data ends.

Why: the Worklist's Today view lists who is booked today. The demo (`outcomes demo`) moves the
sample so its data ends yesterday; the bookings here then fall on today and the week after it,
so the demo has a realistic morning.

Who is booked: every patient whose course plans another infusion within a week of the end
date (`Schedule.next_day`, the day the schedule drew for it). Those due on the first clinic
day after the end are booked for the day right after the data's last infusion (the demo's
"today"); the rest on their own day. The time is the slot of the patient's last infusion
(patients keep their slot). No random draw: the existing rows' random streams are unchanged.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from . import dates
from . import patients as pt
from .schedule import Schedule

FILE_NAME = "appointments.csv"
HEADER = ("appointment_id", "patient_id", "planned_at", "status", "site", "clinician")
WEEK_DAYS = 7


def booking_rows(cohort: pt.Cohort, schedule: Schedule, end_day: int) -> list[list[str]]:
    """One row per booking (HEADER's columns), in order of time."""
    if schedule.next_day is None or schedule.n == 0:
        return []
    next_day = schedule.next_day.astype(np.int64)
    due = (next_day > end_day) & (next_day <= end_day + WEEK_DAYS)
    if not due.any():
        return []
    first_day_after = int(schedule.day.max()) + 1  # the day after the data's last infusion
    earliest = int(next_day[due].min())
    last_minute = np.zeros(cohort.n, dtype=np.int64)
    last_minute[schedule.pidx] = schedule.minute  # chronological: the last write is the last infusion
    patients = np.flatnonzero(due)
    day = np.where(next_day[patients] == earliest, first_day_after, next_day[patients])
    minute = last_minute[patients]
    order = np.lexsort((patients, minute, day))
    stamps = dates.iso_local(dates.to_datetime64(day[order], minute[order]))
    rows = []
    for number, (p, stamp) in enumerate(zip(patients[order], stamps), start=1):
        rows.append([f"B{number:07d}", cohort.patient_id[p], stamp, "booked", pt.SITES[cohort.site[p]],
                     pt.CLINICIANS[cohort.clinician[p]]])
    return rows


def write_bookings(out_dir: Path, rows: list[list[str]]) -> int:
    """Write appointments.csv; returns the number of data rows."""
    with open(Path(out_dir) / FILE_NAME, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return len(rows)
