"""Score trajectories by infusion and by week: hand-worked values on a tiny clinic, and
properties on the sample clinic."""

from __future__ import annotations

import math

import duckdb
import pytest

from conftest import assessment, patient, session
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.trajectories import INTERVAL_COLUMNS, by_infusion, by_week
from pipelines.settings import Settings, Thresholds

# Infusions at 09:00 on Mon 6, Wed 8, Fri 10 and Mon 13 Jan 2025 (days 0, 2, 4, 7); PHQ-9
# totals (clinic local time). "pre-k" = taken before infusion k started.
#
#   P1 (4 infusions): baseline 6 Jan 08:00 = 20 (a 22 on 1 Jan is older, not the baseline);
#      7 Jan 10:00 = 16 and 8 Jan 08:30 = 14 (both pre-2: the latest, 14, counts);
#      10 Jan 08:30 = 10 (pre-3); 13 Jan 08:30 = 9 (pre-4); 20 Jan 10:00 = 6 (after the last infusion).
#   P2 (4 infusions): baseline 16; 8 Jan 08:30 = 12 (pre-2); 13 Jan 08:30 = 8 (pre-4).
#   P3 (3 infusions, Riverside): baseline 10; 8 Jan 08:30 = 10 (pre-2); 10 Jan 08:30 = 6 (pre-3);
#      12 Jan 23:00 = 5 (after the 3rd and last infusion: counts for infusion 4; day 6 = week 0).
#   P4 (2 infusions): no baseline (first score after the first infusion) -> not counted at all.
#
# With trajectory_max_infusion = 3, infusions 4+ are "maintenance" (latest score per patient):
#
#   infusion  scores        n  mean     median
#   1         20, 16, 10    3  15.333   16
#   2         14, 12, 10    3  12       12     t interval: sd 2, sem 2/sqrt(3) = 1.1547,
#                                                t(0.975, 2) = 4.3027 -> 12 -/+ 4.968 = [7.032, 16.968]
#   3         10, 6         2  8        8
#   maint.    6, 8, 5       3  6.333    6      (P1's latest is 20 Jan = 6, not 13 Jan = 9)
#
# By week (days since 6 Jan // 7; follow-ups only, latest per patient and week):
#
#   baseline  20, 16, 10    3  15.333   16
#   week 0    P1 10 (10 Jan), P2 12 (8 Jan), P3 5 (12 Jan 23:00, day 6)   n 3, mean 9, median 10
#   week 1    P1 9, P2 8 (13 Jan, day 7)                                   n 2, mean 8.5
#   week 2    P1 6 (20 Jan, day 14)                                        n 1

SETTINGS = Settings(thresholds=Thresholds(trajectory_max_infusion=3))
DAYS = ["06", "08", "10", "13"]


def score(aid, when, total, pid):
    return assessment(aid, when, "PHQ-9", [], total, pid=pid)


@pytest.fixture
def course_clinic(clinic):
    clinic.patients = [patient("P1"), patient("P2"), patient("P3", site="Riverside"), patient("P4")]
    infusions = {"P1": 4, "P2": 4, "P3": 3, "P4": 2}
    clinic.sessions = [session(f"{pid}-{k}", f"2025-01-{DAYS[k - 1]}T09:00:00", pid=pid)
                       for pid, n in infusions.items() for k in range(1, n + 1)]
    clinic.assessments = [
        score("a1", "2025-01-01T10:00:00", 22, "P1"), score("a2", "2025-01-06T08:00:00", 20, "P1"),
        score("a3", "2025-01-07T10:00:00", 16, "P1"), score("a4", "2025-01-08T08:30:00", 14, "P1"),
        score("a5", "2025-01-10T08:30:00", 10, "P1"), score("a6", "2025-01-13T08:30:00", 9, "P1"),
        score("a7", "2025-01-20T10:00:00", 6, "P1"),
        score("b1", "2025-01-06T08:00:00", 16, "P2"), score("b2", "2025-01-08T08:30:00", 12, "P2"),
        score("b3", "2025-01-13T08:30:00", 8, "P2"),
        score("c1", "2025-01-06T08:00:00", 10, "P3"), score("c2", "2025-01-08T08:30:00", 10, "P3"),
        score("c3", "2025-01-10T08:30:00", 6, "P3"), score("c4", "2025-01-12T23:00:00", 5, "P3"),
        score("d1", "2025-01-08T08:30:00", 27, "P4"),
    ]
    clinic.load()
    return clinic


def read(db):
    return duckdb.connect(str(db), read_only=True)


def test_by_infusion_is_hand_worked(course_clinic):
    with read(course_clinic.db) as con:
        table = by_infusion(con, SETTINGS)
    assert list(table.columns) == ["infusion", "label", *INTERVAL_COLUMNS]
    assert table["label"].tolist() == ["1", "2", "3", "maintenance"]
    assert table["infusion"].tolist() == [1, 2, 3, 4]
    assert table["n"].tolist() == [3, 3, 2, 3]
    assert table["mean"].tolist() == pytest.approx([46 / 3, 12, 8, 19 / 3])
    assert table["median"].tolist() == [16, 12, 8, 6]
    assert (table["mean_low"][1], table["mean_high"][1]) == pytest.approx((7.032, 16.968), abs=1e-3)
    assert math.isnan(table["median_low"][1])  # 3 values: too few for a 95% order-statistic interval


def test_by_infusion_groups_and_empty_cohort(course_clinic):
    with read(course_clinic.db) as con:
        grouped = by_infusion(con, SETTINGS, group_by=("site",))
        empty = by_infusion(con, SETTINGS, cohort=CohortFilter(sites=("Nowhere",)), group_by=("site",))
    first = grouped[grouped["infusion"] == 1]
    assert first[["site", "n", "mean"]].values.tolist() == [["Northside", 2, 18.0], ["Riverside", 1, 10.0]]
    assert empty.empty and list(empty.columns) == ["site", "infusion", "label", *INTERVAL_COLUMNS]


def test_by_week_is_hand_worked(course_clinic):
    with read(course_clinic.db) as con:
        table = by_week(con, SETTINGS)
        empty = by_week(con, SETTINGS, cohort=CohortFilter(age_bands=("65+",)))
    assert table["label"].tolist() == ["baseline", "week 0", "week 1", "week 2"]
    assert table["week"].tolist() == [-1, 0, 1, 2]
    assert table["n"].tolist() == [3, 3, 2, 1]
    assert table["mean"].tolist() == pytest.approx([46 / 3, 9, 8.5, 6])
    assert table["median"].tolist() == [16, 10, 8.5, 6]
    assert math.isnan(table["mean_low"][3])  # one value: no interval
    assert empty.empty and list(empty.columns) == ["week", "label", *INTERVAL_COLUMNS]


# --- Properties on the sample clinic --------------------------------------------------------


def check_intervals(table):
    assert (table["n"] > 0).all()
    for estimate in ("mean", "median"):
        defined = table[f"{estimate}_low"].notna()
        assert (table.loc[defined, f"{estimate}_low"] <= table.loc[defined, estimate] + 1e-9).all()
        assert (table.loc[defined, estimate] <= table.loc[defined, f"{estimate}_high"] + 1e-9).all()
    assert ((table["mean"] >= 0) & (table["mean"] <= 27)).all()


@pytest.mark.parametrize("group_by", [(), ("site",), ("age_band", "sex")])
def test_trajectory_properties_on_the_sample(sample, group_by):
    infusions = by_infusion(sample, Settings(), group_by=group_by)
    weeks = by_week(sample, Settings(), group_by=group_by)
    check_intervals(infusions)
    check_intervals(weeks)
    assert infusions["infusion"].max() <= Settings().thresholds.trajectory_max_infusion + 1
    assert (weeks["week"] >= -1).all()
    # infusion 1 and the baseline row count every patient with a baseline, once
    baselines = sample.execute("SELECT count(*) FROM patient_outcomes WHERE instrument = 'PHQ-9'").fetchone()[0]
    assert infusions.loc[infusions["infusion"] == 1, "n"].sum() == baselines
    assert weeks.loc[weeks["week"] == -1, "n"].sum() == baselines


def test_other_scales_and_filters_on_the_sample(sample):
    gad = by_infusion(sample, Settings(), scale="GAD-7", cohort=CohortFilter(sites=("Northside",)))
    if not gad.empty:
        check_intervals(gad)
        assert (gad["mean"] <= 21).all()
    assert by_week(sample, Settings(), scale="NO-SUCH-SCALE").empty


def test_whole_clinic_equals_a_filter_naming_every_site(sample):
    """The whole clinic ungrouped skips the join to patient_cohorts (cohorts.cohort_join);
    a filter that keeps everyone goes through the join and must give the same table."""
    sites = tuple(site for (site,) in sample.execute("SELECT DISTINCT site FROM patient_cohorts").fetchall())
    everyone = CohortFilter(sites=sites)
    for trajectory in (by_infusion, by_week):
        assert trajectory(sample, Settings()).equals(trajectory(sample, Settings(), cohort=everyone))
