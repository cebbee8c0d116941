"""Planned infusions (the appointments export) and the Today view's rows
(pipelines/analytics/bookings.py), on a hand-made clinic; and that a booking never counts as an
infusion anywhere.

Seen on Wednesday 3 June 2026 (pre-infusion window 7 days):

| patient | infusions (09:00)       | PHQ-9s                     | booking            | scales in? | infusion no. |
|---------|-------------------------|----------------------------|--------------------|------------|--------------|
| IN      | 25, 27, 29 May          | 28 May 08:30, 2 Jun 18:00  | 3 Jun 09:00 booked | yes (2 Jun: after 29 May) | 4 |
| STALE   | 25, 27, 29 May          | 27 May 08:30 (before the last infusion) | 3 Jun 10:00 booked | no | 4 |
| OLD     | 1 May                   | 20 May 08:30 (14 days before 3 Jun) | 3 Jun 11:00 booked | no (outside 7 days) | 2 |
| NEW     | none                    | 1 Jun 12:00                | 3 Jun 11:30 booked | yes (first infusion) | 1 |
| GONE    | 25 May                  |                            | 3 Jun 12:00 cancelled | not listed | |
| LATER   | 25 May                  |                            | 4 Jun 09:00 booked | not listed (another day) | |
"""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import Clinic, NOW, assessment, patient, phq9_items, session, write_csv
from pipelines.analytics.bookings import booked_on
from pipelines.formats import APPOINTMENTS
from pipelines.ingest import ingest
from pipelines.settings import Settings

SETTINGS = Settings()
DAY = dt.date(2026, 6, 3)
INGEST_AT = dt.datetime(2026, 6, 3, 12, 0)  # UTC: 08:00 on 3 June in New York

PATIENTS = ("IN", "STALE", "OLD", "NEW", "GONE", "LATER")
INFUSIONS = {"IN": ["2026-05-25", "2026-05-27", "2026-05-29"], "STALE": ["2026-05-25", "2026-05-27", "2026-05-29"],
             "OLD": ["2026-05-01"], "GONE": ["2026-05-25"], "LATER": ["2026-05-25"]}
PHQ9 = {"IN": ["2026-05-28T08:30:00", "2026-06-02T18:00:00"], "STALE": ["2026-05-27T08:30:00"],
        "OLD": ["2026-05-20T08:30:00"], "NEW": ["2026-06-01T12:00:00"]}
BOOKINGS = [("B1", "IN", "2026-06-03T09:00:00", "booked"), ("B2", "STALE", "2026-06-03T10:00:00", "Scheduled"),
            ("B3", "OLD", "2026-06-03T11:00:00", "booked"), ("B4", "NEW", "2026-06-03T11:30:00", ""),
            ("B5", "GONE", "2026-06-03T12:00:00", "cancelled"), ("B6", "LATER", "2026-06-04T09:00:00", "booked")]


def build(folder, with_bookings: bool):
    clinic = Clinic(folder)
    clinic.patients = [patient(pid, intake="2026-04-20") for pid in PATIENTS]
    clinic.sessions = [session(f"{pid}-{n}", f"{day}T09:00:00", pid=pid)
                       for pid, days in INFUSIONS.items() for n, day in enumerate(days, start=1)]
    clinic.assessments = [assessment(f"{pid}-{when}", when, "PHQ-9", phq9_items(12), pid=pid)
                          for pid, times in PHQ9.items() for when in times]
    files = clinic.write()
    if with_bookings:
        rows = [dict(zip(APPOINTMENTS.columns, (aid, pid, at, status, "", ""))) for aid, pid, at, status in BOOKINGS]
        files.append(write_csv(folder / "exports" / "appointments.csv", list(APPOINTMENTS.columns), rows))
    ingest(clinic.db, files, SETTINGS, now=INGEST_AT)
    return clinic


@pytest.fixture(scope="module")
def clinics(tmp_path_factory):
    return (build(tmp_path_factory.mktemp("booked"), True), build(tmp_path_factory.mktemp("plain"), False))


def test_who_is_booked_today_and_whether_their_scales_are_in(clinics):
    con = clinics[0].connect()
    try:
        frame = booked_on(con, SETTINGS, DAY)
    finally:
        con.close()
    got = {row.patient_id: (row.phq9_in, int(row.n_infusions) + 1, row.status) for row in frame.itertuples()}
    assert got == {"IN": (True, 4, "booked"), "STALE": (False, 4, "booked"), "OLD": (False, 2, "booked"),
                   "NEW": (True, 1, "booked")}
    assert frame["patient_id"].tolist() == ["IN", "STALE", "OLD", "NEW"]  # by time
    reasons = dict(zip(frame["patient_id"], frame["reasons"]))
    assert reasons["NEW"] == []  # not yet infused: on no worklist
    assert any("mid-induction" in r for r in reasons["STALE"])  # no PHQ-9 since the last infusion


def test_a_booking_never_counts_as_an_infusion(clinics):
    booked, plain = (c.connect() for c in clinics)
    try:
        for view in ("sessions", "session_numbers", "patient_cohorts", "scores", "patient_outcomes",
                     "scores_by_infusion", "last_infusions", "followup_responses"):
            columns = [name for (name, *_) in plain.execute(f"DESCRIBE {view}").fetchall() if name != "source_file"]
            query = f"SELECT {', '.join(columns)} FROM {view} ORDER BY ALL"  # the files' folders differ
            assert booked.execute(query).fetchall() == plain.execute(query).fetchall(), view
        assert booked.execute("SELECT count(*) FROM appointments").fetchone() == (6,)
    finally:
        booked.close()
        plain.close()


def test_a_database_without_bookings_has_nobody_booked(clinics):
    con = clinics[1].connect()
    try:
        assert booked_on(con, SETTINGS, DAY).empty
    finally:
        con.close()
