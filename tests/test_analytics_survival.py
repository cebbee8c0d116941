"""Time to response (Kaplan–Meier) and the share responded by infusion, against hand-worked
product-limit and rate tables on tiny clinics, plus properties on the sample clinic."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest

from conftest import assessment, patient, session
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.survival import (CURVE_COLUMNS, SUMMARY_COLUMNS, kaplan_meier, responded_by_infusion,
                                          response_times, time_to_response)
from pipelines.settings import Settings, Thresholds


def total_only(aid, when, total, pid):
    return assessment(aid, when, "PHQ-9", [], total, pid=pid)


def read(db):
    return duckdb.connect(str(db), read_only=True)


# --- Kaplan–Meier against a hand-worked product-limit table -----------------------------
#
# Every patient: one infusion on Mon 2025-01-06 09:00 (day 0), PHQ-9 baseline 20 at 08:00.
# Response = a drop of >= 50%, i.e. a score <= 10.
#
#   P01  day 2: 10 (exactly 50%)                          -> event at 2
#   P02  day 1: 15, day 2: 8, day 6: 18 (relapse ignored) -> event at 2
#   P03  day 3: 12 (40%)                                  -> censored at 3
#   P04  day 2: 14, day 5: 9                              -> event at 5
#   P05  day 5: 11 (45%)                                  -> censored at 5
#   P06  day 8: 2                                         -> event at 8
#   P07  day 4: 15, day 9: 11                             -> censored at 9
#   left out: P08 baseline 0; P09 no follow-up; P10 no baseline (score 40 days before)
#
# Product-limit table (a patient censored at an event time is still at risk there):
#
#   t   at risk  events  censored  S(t)
#   2      7       2        0      1 x (1 - 2/7)        = 5/7   = 0.7143
#   3      5       0        1      5/7                          = 0.7143
#   5      4       1        1      5/7 x (1 - 1/4)      = 15/28 = 0.5357
#   8      2       1        0      15/28 x (1 - 1/2)    = 15/56 = 0.2679
#   9      1       0        1      15/56                        = 0.2679
#
# Median: first t with S(t) <= 0.5 -> 8 days.
# Log-log interval at t = 2: Greenwood sum d / (n (n - d)) = 2 / (7 x 5) = 0.05714;
#   se = sqrt(0.05714) / |log(5/7)| = 0.23905 / 0.33647 = 0.71047; exp(1.95996 x 0.71047) = 4.0251
#   low = (5/7)^4.0251 = 0.2581, high = (5/7)^(1/4.0251) = 0.9198.
# The lower band is <= 0.5 from t = 2 on -> median's lower limit 2; the upper band never
# falls to 0.5 (0.670 at t = 8) -> upper limit not reached (NaN).

KM_FOLLOW_UPS = {
    "P01": [(2, 10)],
    "P02": [(1, 15), (2, 8), (6, 18)],
    "P03": [(3, 12)],
    "P04": [(2, 14), (5, 9)],
    "P05": [(5, 11)],
    "P06": [(8, 2)],
    "P07": [(4, 15), (9, 11)],
}


@pytest.fixture
def km_clinic(clinic):
    pids = [*KM_FOLLOW_UPS, "P08", "P09", "P10"]
    clinic.patients = [patient(pid, site="Northside" if pid <= "P04" else "Riverside") for pid in pids]
    clinic.sessions = [session(f"S{pid}", "2025-01-06T09:00:00", pid=pid) for pid in pids]
    rows = []
    for pid, follow_ups in KM_FOLLOW_UPS.items():
        rows.append(total_only(f"{pid}-0", "2025-01-06T08:00:00", 20, pid))
        rows += [total_only(f"{pid}-{day}", f"2025-01-{6 + day:02d}T10:00:00", score, pid) for day, score in follow_ups]
    rows += [
        total_only("P08-0", "2025-01-06T08:00:00", 0, "P08"), total_only("P08-2", "2025-01-08T10:00:00", 0, "P08"),
        total_only("P09-0", "2025-01-06T08:00:00", 18, "P09"),
        total_only("P10-0", "2024-11-27T08:00:00", 20, "P10"), total_only("P10-2", "2025-01-08T10:00:00", 5, "P10"),
    ]
    clinic.assessments = rows
    clinic.load()
    return clinic


def test_kaplan_meier_matches_the_hand_worked_product_limit_table(km_clinic):
    with read(km_clinic.db) as con:
        result = time_to_response(con, Settings())
    curve, summary = result["curve"], result["summary"]
    assert list(curve.columns) == CURVE_COLUMNS
    assert curve["time"].tolist() == [2, 3, 5, 8, 9]
    assert curve["at_risk"].tolist() == [7, 5, 4, 2, 1]
    assert curve["events"].tolist() == [2, 0, 1, 1, 0]
    assert curve["censored"].tolist() == [0, 1, 1, 0, 1]
    assert curve["survival"].tolist() == pytest.approx([5 / 7, 5 / 7, 15 / 28, 15 / 56, 15 / 56])
    assert curve["responded"].tolist() == pytest.approx([2 / 7, 2 / 7, 13 / 28, 41 / 56, 41 / 56])
    assert (curve["low"][0], curve["high"][0]) == pytest.approx((0.2581, 0.9198), abs=1e-4)
    assert summary.to_dict("records") == [{"n": 7, "events": 4, "median_days": 8.0, "median_low": 2.0,
                                           "median_high": pytest.approx(math.nan, nan_ok=True)}]


def test_time_to_response_by_group_and_for_an_empty_cohort(km_clinic):
    with read(km_clinic.db) as con:
        by_site = time_to_response(con, Settings(), group_by=("site",))
        empty = time_to_response(con, Settings(), cohort=CohortFilter(sites=("Nowhere",)))
        with pytest.raises(ValueError):
            time_to_response(con, Settings(), group_by=("patient_id",))
    # Northside P01-P04: events at 2, 2, 5, censored at 3; Riverside P05-P07: event at 8.
    assert by_site["summary"][["site", "n", "events"]].values.tolist() == [["Northside", 4, 3], ["Riverside", 3, 1]]
    north = by_site["curve"][by_site["curve"]["site"] == "Northside"]
    # S: 1 x (1 - 2/4) = 0.5 at day 2 (the median: first S <= 0.5), then 0.5 x (1 - 1/1) = 0 at day 5
    assert north["survival"].tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert by_site["summary"]["median_days"].tolist()[0] == 2.0
    assert empty["curve"].empty and empty["summary"].empty
    assert list(empty["summary"].columns) == SUMMARY_COLUMNS


# --- Share responded by infusion k ----------------------------------------------------------
#
# Infusions Mon 6, Wed 8, Fri 10, Mon 13 Jan 2025 at 09:00; scores at 08:30 the same day are
# taken before that infusion. Baseline = the score at 08:30 on 6 Jan. Response: <= 50% of baseline.
#
#   A  4 infusions; baseline 20, before #2: 15, before #3: 10 (response) -> responded by #3
#   B  3 infusions; baseline 20, before #2: 9 (response)                 -> responded by #2
#   C  4 infusions; baseline 18, then 16, 14, 12                          -> never
#   D  2 infusions; baseline 0                                            -> left out
#   E  3 infusions; no baseline                                           -> left out
#
#   k   reached k   responded by k     share
#   1   A B C       none (baseline)    0/3
#   2   A B C       B                  1/3
#   3   A B C       A B                2/3
#   4   A C         A                  1/2
# Wilson 95% for 0/3: [0, z^2 / (n + z^2)] = [0, 3.8415 / 6.8415] = [0, 0.5615].

DAYS = ["06", "08", "10", "13"]


@pytest.fixture
def infusion_clinic(clinic):
    plan = {"A": (4, [20, 15, 10]), "B": (3, [20, 9]), "C": (4, [18, 16, 14, 12]), "D": (2, [0, 0]), "E": (3, [])}
    clinic.patients = [patient(pid) for pid in plan]
    clinic.sessions = [session(f"{pid}{k}", f"2025-01-{DAYS[k - 1]}T09:00:00", pid=pid)
                       for pid, (n, _) in plan.items() for k in range(1, n + 1)]
    clinic.assessments = [total_only(f"{pid}-{k}", f"2025-01-{DAYS[k - 1]}T08:30:00", score, pid)
                          for pid, (_, scores) in plan.items() for k, score in enumerate(scores, start=1)]
    clinic.assessments.append(total_only("E-late", "2025-01-08T10:00:00", 4, "E"))
    clinic.load()
    return clinic


def test_share_responded_by_infusion_is_hand_worked(infusion_clinic):
    settings = Settings(thresholds=Thresholds(trajectory_max_infusion=4))
    with read(infusion_clinic.db) as con:
        table = responded_by_infusion(con, settings)
    assert table[["infusion", "n", "responded"]].values.tolist() == [[1, 3, 0], [2, 3, 1], [3, 3, 2], [4, 2, 1]]
    assert table["share"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1 / 2])
    assert (table["low"][0], table["high"][0]) == pytest.approx((0.0, 0.5615), abs=1e-4)


def test_share_responded_for_an_empty_cohort(infusion_clinic):
    with read(infusion_clinic.db) as con:
        table = responded_by_infusion(con, Settings(), cohort=CohortFilter(sexes=("male",)))
    assert table.empty
    assert list(table.columns) == ["infusion", "n", "responded", "share", "low", "high"]


# --- Properties on the sample clinic --------------------------------------------------------


@pytest.mark.parametrize("group_by", [(), ("site",), ("sex", "route")])
def test_kaplan_meier_properties_on_the_sample(sample, group_by):
    result = time_to_response(sample, Settings(), group_by=group_by)
    curve, summary = result["curve"], result["summary"]
    assert not summary.empty
    for _, part in curve.groupby(list(group_by)) if group_by else [((), curve)]:
        survival = part["survival"].to_numpy()
        assert np.all(np.diff(survival) <= 1e-12)  # non-increasing
        assert np.all((survival >= 0) & (survival <= 1))
        assert np.all((part["low"] <= survival + 1e-12) & (survival <= part["high"] + 1e-12))
        assert np.all(np.diff(part["at_risk"].to_numpy()) < 0)
        assert np.all(np.diff(part["time"].to_numpy()) > 0)
    assert (summary["n"] > 0).all() and (summary["events"] <= summary["n"]).all()
    assert summary["n"].sum() == curve["events"].sum() + curve["censored"].sum()
    for row in summary.itertuples():
        if not math.isnan(row.median_days):
            assert row.median_low <= row.median_days
            assert math.isnan(row.median_high) or row.median_days <= row.median_high


def test_time_to_response_population_on_the_sample(sample):
    expected = sample.execute(
        "SELECT count(*) FROM patient_outcomes WHERE instrument = 'PHQ-9' AND baseline_caseness AND n_followups > 0"
    ).fetchone()[0]
    assert time_to_response(sample, Settings())["summary"]["n"].tolist() == [expected]


@pytest.mark.parametrize("group_by", [(), ("dose_band",)])
def test_share_responded_properties_on_the_sample(sample, group_by):
    table = responded_by_infusion(sample, Settings(), group_by=group_by)
    assert not table.empty
    assert (table["n"] > 0).all() and (table["responded"] <= table["n"]).all()
    assert ((table["low"] <= table["share"]) & (table["share"] <= table["high"])).all()
    assert (table.loc[table["infusion"] == 1, "responded"] == 0).all()
    for _, part in table.groupby(list(group_by)) if group_by else [((), table)]:
        assert np.all(np.diff(part["n"].to_numpy()) <= 0)  # reaching k+1 means having reached k


def test_whole_clinic_equals_a_filter_naming_every_site(sample):
    """The whole clinic ungrouped skips the join to patient_cohorts (cohorts.cohort_join);
    a filter that keeps everyone goes through the join and must give the same estimate, and
    the per-patient times counted per day give the same curve as one row per patient."""
    sites = tuple(site for (site,) in sample.execute("SELECT DISTINCT site FROM patient_cohorts").fetchall())
    whole = time_to_response(sample, Settings())
    filtered = time_to_response(sample, Settings(), cohort=CohortFilter(sites=sites))
    for part in ("curve", "summary"):
        assert whole[part].equals(filtered[part])
    times = response_times(sample)
    curve, summary = kaplan_meier(times["days"], times["responded"])
    assert np.allclose(curve["survival"], whole["curve"]["survival"])
    assert summary["median_days"] == whole["summary"]["median_days"].iat[0]
