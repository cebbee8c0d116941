"""Cohort attributes and filters, on a hand-made clinic."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from conftest import patient, session
from pipelines.analytics.cohorts import CohortFilter, check_group_by


@pytest.fixture
def cohorts(clinic):
    clinic.patients = [
        patient("001", birth_year=1980, sex="female", site="Northside"),
        patient("002", birth_year=2001, sex="male", indication="ptsd", site="Riverside"),
        patient("003", birth_year=1950, intake="2025-03-01"),  # never infused: not in cohorts
    ]
    clinic.sessions = [
        # 001: IV 35 mg at 70 kg (0.5 mg/kg) then 49 mg (0.7): mean 0.6 -> "0.6-0.8 mg/kg"; age 2025-1980 = 45
        session("S1", "2025-01-06T09:00:00", pid="001", dose=35, weight=70),
        session("S2", "2025-01-08T09:00:00", pid="001", dose=49, weight=70),
        # 002: intranasal 56 mg fixed dose; age 2025-2001 = 24
        session("S3", "2025-02-03T09:00:00", pid="002", route="intranasal", dose=56, weight=80),
    ]
    clinic.load()
    return clinic


def test_cohort_attributes_are_worked_per_patient(cohorts):
    rows = {r.patient_id: r for r in cohorts.rows("SELECT * FROM patient_cohorts")}
    assert set(rows) == {"001", "002"}
    assert (rows["001"].age_at_start, rows["001"].age_band, rows["001"].dose_band, rows["001"].n_sessions) == \
        (45, "45-54", "0.6-0.8 mg/kg", 2)
    assert rows["001"].mean_dose_mg_per_kg == pytest.approx(0.6)
    assert (rows["002"].age_band, rows["002"].route, rows["002"].dose_band) == ("18-24", "intranasal",
                                                                                "intranasal (fixed dose)")
    assert rows["002"].start_month == dt.date(2025, 2, 1)


@pytest.mark.parametrize(
    "cohort,expected",
    [
        (CohortFilter(), {"001", "002"}),
        (CohortFilter(sites=("Riverside",)), {"002"}),
        (CohortFilter(start_from=dt.date(2025, 1, 7)), {"002"}),
        (CohortFilter(start_to=dt.date(2025, 1, 6)), {"001"}),
        (CohortFilter(indications=("depression",), sexes=("female",)), {"001"}),
        (CohortFilter(age_bands=("65+",)), set()),
    ],
)
def test_filters_select_the_right_patients(cohorts, cohort, expected):
    where, params = cohort.where("c")
    con = duckdb.connect(str(cohorts.db), read_only=True)
    found = {p for (p,) in con.execute(f"SELECT patient_id FROM patient_cohorts c WHERE {where}", params).fetchall()}
    assert found == expected


def test_grouping_only_by_known_attributes():
    assert check_group_by(["site", "dose_band"]) == ("site", "dose_band")
    with pytest.raises(ValueError, match="cannot group by"):
        check_group_by(["site; DROP TABLE patients"])
