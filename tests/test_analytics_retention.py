"""Retention and infusions per patient against hand-worked values, and property checks on the
committed sample data.

The clinic: infusions every other day from 2025-01-06 09:00.

| patient | site      | sex    | infusions |
|---------|-----------|--------|-----------|
| R1      | Northside | female | 1         |
| R2      | Northside | male   | 5         |
| R3      | Riverside | female | 6         |
| R4      | Riverside | male   | 7         |
| R5      | Northside | female | 12        |
| R6      | Northside | female | 0 (never started: not counted) |
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from conftest import Clinic, patient, session, only_row
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.retention import infusions_per_patient, retention
from pipelines.settings import Settings

SETTINGS = Settings()  # induction = 6 infusions
COURSES = {"R1": ("Northside", "female", 1), "R2": ("Northside", "male", 5), "R3": ("Riverside", "female", 6),
           "R4": ("Riverside", "male", 7), "R5": ("Northside", "female", 12), "R6": ("Northside", "female", 0)}


def infusions(pid, n):
    first = dt.datetime(2025, 1, 6, 9, 0)
    return [session(f"{pid}-S{k}", (first + dt.timedelta(days=2 * k)).isoformat(), pid=pid) for k in range(n)]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("retention"))
    clinic.patients = [patient(pid, site=site, sex=sex) for pid, (site, sex, _) in COURSES.items()]
    clinic.sessions = [s for pid, (_, _, n) in COURSES.items() for s in infusions(pid, n)]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


def test_retention_by_hand(con):
    row = only_row(retention(con, SETTINGS))
    # started R1-R5; >= 6 infusions R3, R4, R5; more than 6 R4, R5
    assert (row.group, row.n_started, row.completed_induction_n, row.any_maintenance_n) == ("all", 5, 3, 2)
    assert (row.completed_induction_rate, row.any_maintenance_rate) == (0.6, 0.4)
    # Wilson, 3 of 5, z^2 = 3.8415: centre (0.6 + 0.38415) / 1.76830 = 0.55655, half-width
    # 1.96 / 1.76830 * sqrt(0.048 + 0.038415) = 1.10841 * 0.29396 = 0.32583
    assert row.completed_induction_low == pytest.approx(0.2307, abs=1e-4)
    assert row.completed_induction_high == pytest.approx(0.8824, abs=1e-4)


def test_induction_length_comes_from_the_settings(con):
    row = only_row(retention(con, Settings(induction_sessions=5)))
    # >= 5: R2-R5; more than 5: R3-R5
    assert (row.completed_induction_n, row.any_maintenance_n) == (4, 3)


def test_grouping_and_filtering(con):
    frame = retention(con, SETTINGS, group_by=("sex",))
    assert list(frame.group) == ["female", "male"]
    # female R1, R3, R5: completed R3, R5; maintenance R5. male R2, R4: completed R4, maintenance R4
    assert [tuple(r) for r in frame[["n_started", "completed_induction_n", "any_maintenance_n"]].values] == \
        [(3, 2, 1), (2, 1, 1)]
    row = only_row(retention(con, SETTINGS, cohort=CohortFilter(sites=("Riverside",))))
    assert (row.n_started, row.completed_induction_rate, row.any_maintenance_rate) == (2, 1.0, 0.5)


def test_infusions_per_patient_by_hand(con):
    frame = infusions_per_patient(con, SETTINGS)
    # counts 1 .. 12, one patient each at 1, 5, 6, 7 and 12, none in between
    assert list(frame.n_infusions) == list(range(1, 13))
    assert dict(zip(frame.n_infusions, frame.n_patients)) == {1: 1, 2: 0, 3: 0, 4: 0, 5: 1, 6: 1, 7: 1, 8: 0, 9: 0,
                                                               10: 0, 11: 0, 12: 1}
    assert frame.share[frame.n_patients > 0].tolist() == [0.2] * 5
    male = infusions_per_patient(con, SETTINGS, cohort=CohortFilter(sexes=("male",)))
    assert (male.n_infusions.max(), male.n_patients.sum(), male.share.max()) == (7, 2, 0.5)


def test_infusions_per_patient_share_interval_by_hand(con):
    frame = infusions_per_patient(con, SETTINGS).set_index("n_infusions")
    assert list(frame.columns) == ["n_patients", "share", "share_low", "share_high"]
    # Wilson, N = 5 patients, z = 1.959964, z^2 = 3.841459, 2(N + z^2) = 17.682918.
    # 1 of 5 (1, 5, 6, 7 and 12 infusions): centre (2 x 1 + 3.841459) / 17.682918 = 0.330345,
    # half-width 1.959964 / 17.682918 x sqrt(4 x 1 x (1 - 1/5) + 3.841459)
    #   = 0.110839 x sqrt(7.041459) = 0.110839 x 2.653575 = 0.294121 -> [0.036224, 0.624465]
    one = frame.loc[[1, 5, 6, 7, 12]]
    assert one.share_low.tolist() == pytest.approx([0.036224] * 5, abs=1e-5)
    assert one.share_high.tolist() == pytest.approx([0.624465] * 5, abs=1e-5)
    # 0 of 5 (2-4, 8-11 infusions): lower bound exactly 0; upper = centre + half-width
    #   = 3.841459 / 17.682918 + 0.110839 x sqrt(3.841459) = 0.217241 + 0.217241 = 0.434482
    none = frame.loc[[2, 3, 4, 8, 9, 10, 11]]
    assert (none.share == 0).all() and (none.share_low == 0).all()
    assert none.share_high.tolist() == pytest.approx([0.434482] * 7, abs=1e-5)
    # men only: N = 2, 1 of 2 at 5 and 7 infusions, 2(N + z^2) = 11.682918;
    # centre (2 + 3.841459) / 11.682918 = 0.5, half-width 1.959964 / 11.682918 x sqrt(2 + 3.841459)
    #   = 0.167763 x 2.416911 = 0.405469 -> [0.094531, 0.905469]
    male = infusions_per_patient(con, SETTINGS, cohort=CohortFilter(sexes=("male",))).set_index("n_infusions")
    assert (male.loc[5, "share_low"], male.loc[5, "share_high"]) == pytest.approx((0.094531, 0.905469), abs=1e-5)
    assert ((male.share_low <= male.share) & (male.share <= male.share_high)).all()


def test_empty_cohort(con):
    empty = CohortFilter(sites=("Nowhere",))
    row = only_row(retention(con, SETTINGS, cohort=empty))
    assert (row.n_started, row.completed_induction_n, row.any_maintenance_n) == (0, 0, 0)
    assert math.isnan(row.completed_induction_rate) and math.isnan(row.any_maintenance_high)
    assert retention(con, SETTINGS, cohort=empty, group_by=("site",)).empty
    frame = infusions_per_patient(con, SETTINGS, cohort=empty)
    assert frame.empty and list(frame.columns) == ["n_infusions", "n_patients", "share", "share_low", "share_high"]


def test_unknown_grouping_is_refused(con):
    with pytest.raises(ValueError, match="cannot group by"):
        retention(con, SETTINGS, group_by=("patient_id",))


# --- properties on the committed sample data ------------------------------------------------


@pytest.mark.parametrize("group_by", [(), ("site",), ("clinician", "route"), ("dose_band",), ("start_month",)])
def test_sample_retention_properties(sample, group_by):
    frame = retention(sample, SETTINGS, group_by=group_by)
    assert len(frame) >= 1 and (frame.n_started > 0).all()
    assert ((0 <= frame.any_maintenance_n) & (frame.any_maintenance_n <= frame.completed_induction_n)
            & (frame.completed_induction_n <= frame.n_started)).all()
    for name in ("completed_induction", "any_maintenance"):
        rate, low, high = (frame[f"{name}_{s}"] for s in ("rate", "low", "high"))
        assert rate.between(0, 1).all() and ((low <= rate + 1e-12) & (rate <= high + 1e-12)).all()
    assert frame.n_started.sum() == sample.execute("SELECT count(*) FROM patient_cohorts").fetchone()[0]


def test_sample_infusion_distribution_adds_up(sample):
    frame = infusions_per_patient(sample, SETTINGS)
    (n_patients, n_sessions) = sample.execute("SELECT count(*), sum(n_sessions) FROM patient_cohorts").fetchone()
    assert frame.n_patients.sum() == n_patients
    assert (frame.n_infusions * frame.n_patients).sum() == n_sessions
    assert frame.share.sum() == pytest.approx(1.0) and (frame.n_patients >= 0).all()
    # the retention counts are tails of this distribution
    row = only_row(retention(sample, SETTINGS))
    assert row.completed_induction_n == frame.n_patients[frame.n_infusions >= 6].sum()
    assert row.any_maintenance_n == frame.n_patients[frame.n_infusions > 6].sum()
