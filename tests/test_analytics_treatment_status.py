"""Treatment status (pipelines/analytics/treatment_status.py, macro sql/views/treatment_status.sql)
on a hand-made clinic, at the boundaries of each rule, and the cohort filter built on it.

Seen as of Monday 1 June 2026, with the defaults: induction = 6 infusions, paused after 63 days
without one (maintenance runs every 2 to 8 weeks: clinical reference, "Treatment course"), ended
after 90 (settings.treatment; docs/analytics.md, "Treatment status").
Days are calendar days from the last infusion's date to 1 June, worked by hand:

| patient | infusions (09:00)                      | discharge  | days since last | status          |
|---------|----------------------------------------|------------|-----------------|-----------------|
| IND5    | 5, on 25-29 May                        |            | 3 (29 May)      | in induction    |
| MAINT6  | 6, on 22-27 May                        |            | 5 (27 May)      | in maintenance  |
| P62     | 6, the last on 31 Mar                  |            | 62              | in maintenance  |
| P63     | 6, the last on 30 Mar                  |            | 63              | paused          |
| IND63   | 2, the last on 30 Mar                  |            | 63              | paused (not induction) |
| E89     | 6, the last on 4 Mar                   |            | 89              | paused          |
| E90     | 6, the last on 3 Mar                   |            | 90              | ended           |
| DIS     | 6, on 22-27 May                        | 28 May     | 5               | ended (discharged) |
| DISLATER| 6, on 22-27 May                        | 1 June     | 5               | ended (discharged that day) |
| READMIT | 6, on 22-27 May                        | 20 May     | 5               | in maintenance (infused after the discharge: re-admitted) |

1 June minus 3 March = 28 (rest of March) + 30 (April) + 31 (May) + 1 = 90 days, so the patient
last infused on 3 March is 90 days out: ended; one last infused on 4 March is 89: paused. 1 June
minus 30 March = 1 (rest of March) + 30 + 31 + 1 = 63 days: paused; 31 March is 62.
"""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import patient, session
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.treatment_status import (IN_TREATMENT, STATUSES, patient_status, status_filter,
                                                   treatment_status)
from pipelines.analytics.worklist import worklist
from pipelines.settings import Settings

SETTINGS = Settings()
AS_OF = dt.date(2026, 6, 1)


def infusions(pid, days):
    return [session(f"{pid}-{n}", f"{day}T09:00:00", pid=pid) for n, day in enumerate(days, start=1)]


def six_ending(last: str) -> list[str]:
    """Six infusion days, two days apart, the last on `last`."""
    end = dt.date.fromisoformat(last)
    return [(end - dt.timedelta(days=2 * k)).isoformat() for k in range(5, -1, -1)]


COURSES = {
    "IND5": ["2026-05-25", "2026-05-26", "2026-05-27", "2026-05-28", "2026-05-29"],
    "MAINT6": ["2026-05-22", "2026-05-23", "2026-05-24", "2026-05-25", "2026-05-26", "2026-05-27"],
    "P62": six_ending("2026-03-31"),
    "P63": six_ending("2026-03-30"),
    "IND63": ["2026-03-28", "2026-03-30"],
    "E89": six_ending("2026-03-04"),
    "E90": six_ending("2026-03-03"),
    "DIS": ["2026-05-22", "2026-05-23", "2026-05-24", "2026-05-25", "2026-05-26", "2026-05-27"],
    "DISLATER": ["2026-05-22", "2026-05-23", "2026-05-24", "2026-05-25", "2026-05-26", "2026-05-27"],
    "READMIT": ["2026-05-22", "2026-05-23", "2026-05-24", "2026-05-25", "2026-05-26", "2026-05-27"],
}
DISCHARGED = {"DIS": "2026-05-28", "DISLATER": "2026-06-01", "READMIT": "2026-05-20"}
EXPECTED = {
    "IND5": ("in induction", 3), "MAINT6": ("in maintenance", 5), "P62": ("in maintenance", 62),
    "P63": ("paused", 63), "IND63": ("paused", 63), "E89": ("paused", 89), "E90": ("ended", 90),
    "DIS": ("ended", 5), "DISLATER": ("ended", 5), "READMIT": ("in maintenance", 5),
}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    from conftest import Clinic

    clinic = Clinic(tmp_path_factory.mktemp("status"))
    clinic.patients = [{**patient(pid, intake="2026-01-05"), "discharge_date": DISCHARGED.get(pid, "")}
                       for pid in COURSES]
    clinic.sessions = [row for pid, days in COURSES.items() for row in infusions(pid, days)]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


def test_each_status_at_its_boundary(con):
    frame = treatment_status(con, SETTINGS, AS_OF)
    got = {row.patient_id: (row.status, row.days_since_last_infusion) for row in frame.itertuples()}
    assert got == EXPECTED


def test_the_day_moves_the_status(con):
    # On 31 May P63 is 62 days out (in maintenance) and DISLATER not yet discharged.
    frame = treatment_status(con, SETTINGS, dt.date(2026, 5, 31)).set_index("patient_id")
    assert frame.loc["P63", "status"] == "in maintenance"
    assert frame.loc["DISLATER", "status"] == "in maintenance"
    assert frame.loc["DIS", "status"] == "ended"


def test_the_settings_move_the_boundaries(con):
    tighter = Settings(treatment=type(SETTINGS.treatment)(paused_after_days=62, ended_after_days=89))
    frame = treatment_status(con, tighter, AS_OF).set_index("patient_id")
    assert frame.loc["P62", "status"] == "paused"
    assert frame.loc["E89", "status"] == "ended"


def test_the_cohort_filter_keeps_only_the_chosen_statuses(con):
    in_treatment = status_filter(CohortFilter(), SETTINGS, AS_OF, IN_TREATMENT)
    assert set(treatment_status(con, SETTINGS, AS_OF, in_treatment).patient_id) == {"IND5", "MAINT6", "P62",
                                                                                    "READMIT"}
    ended = status_filter(CohortFilter(), SETTINGS, AS_OF, ("ended",))
    assert set(treatment_status(con, SETTINGS, AS_OF, ended).patient_id) == {"E90", "DIS", "DISLATER"}
    # The worklist honours it too: only in-treatment patients can be listed.
    listed = set(worklist(con, SETTINGS, as_of=AS_OF, cohort=in_treatment).patient_id)
    assert listed <= {"IND5", "MAINT6", "P62", "READMIT"} and listed


def test_no_status_chosen_means_no_restriction_and_unknown_ones_are_refused():
    assert status_filter(CohortFilter(), SETTINGS, AS_OF, ()) == CohortFilter()
    with pytest.raises(ValueError, match="unknown treatment status"):
        status_filter(CohortFilter(), SETTINGS, AS_OF, ("resting",))
    with pytest.raises(ValueError, match="status_as_of"):
        CohortFilter(statuses=("paused",)).where()
    assert STATUSES[:2] == IN_TREATMENT


def test_a_discharge_date_that_is_not_a_date_or_before_intake_is_quarantined(clinic):
    clinic.patients = [{**patient("A", intake="2026-01-05"), "discharge_date": "soon"},
                       {**patient("B", intake="2026-01-05"), "discharge_date": "2025-12-31"},
                       {**patient("C", intake="2026-01-05"), "discharge_date": "2026-02-01"}]
    clinic.load()
    problems = {row.patient_id: row.message for row in clinic.rows(
        "SELECT record_key AS patient_id, reason AS message FROM quarantine ORDER BY source_row")}
    assert "discharge_date \"soon\"" in problems["A"]
    assert "before intake_date" in problems["B"]
    assert clinic.one("SELECT discharge_date FROM patients WHERE patient_id = 'C'").discharge_date == dt.date(2026, 2, 1)


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2026, 5, 31)])
def test_one_patient_status_is_their_row_of_the_clinic(con, as_of):
    # The Patient page asks one patient's status; it must be that patient's row of the clinic's
    # statuses, on each day, and nothing for a patient never infused.
    clinic = treatment_status(con, SETTINGS, as_of).set_index("patient_id")
    for pid in COURSES:
        one = patient_status(con, SETTINGS, as_of, pid)
        assert len(one) == 1
        assert one.set_index("patient_id").loc[pid].to_dict() == clinic.loc[pid].to_dict()
    assert patient_status(con, SETTINGS, as_of, "NEVER-INFUSED").empty
