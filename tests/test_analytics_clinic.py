"""Clinic-level analytics of the director's page (pipelines/analytics/activity.py, change.py,
funnel.py, and their published tables in pipelines/reports/) against
hand-worked values on one small clinic, the funnel limits against the binomial distribution by
hand, and properties on the committed sample data.

The clinic: infusions at 09:00; PHQ-9 totals at 08:30 unless a time is given. The latest
infusion in the database is 24 Jan 2025, so as-of = 2025-01-24; active = an infusion on or after
27 Dec 2024 (28 days); new starts = first infusion on or after 25 Dec 2024 (30 days).

| patient | site / clinician         | infusions                         | PHQ-9                                                       |
|---------|--------------------------|-----------------------------------|-------------------------------------------------------------|
| A       | Northside / Dr. Okafor   | 7: 6 8 10 13 15 17 20 Jan         | 20 (6 Jan), 16 (8 Jan), 16 (8 Jan 12:00), 8 (20 Jan)        |
| B       | Northside / Dr. Okafor   | 7: same days                      | 16 (7 Dec: exactly 30 days before), 4 (20 Jan), 2 (21 Jan)  |
| C       | Riverside / Dr. Reyes    | 3: 2 4 6 Dec 2024                 | 10 (2 Dec), 14 (6 Dec)                                      |
| D       | Riverside / Dr. Reyes    | 2: 20 24 Jan                      | 12 (20 Dec: 31 days before, no baseline), 11 (22 Jan)       |
| E       | Northside / Dr. Whitfield| 9: 6 8 10 13 15 17 20 22 24 Jan   | 8 (6 Jan), 6 (17 Jan), 3 (20 Jan)                          |
| F       | Northside                | none (never treated)              |                                                             |

A also has GAD-7 12 (6 Jan) and 5 (10 Jan).

Activity: 5 treated patients; active A, B, D, E (C's last infusion 6 Dec); new starts A, B, D, E;
infusions 7 + 7 + 3 + 2 + 9 = 28.

Assessment completion (PHQ-9), infusion k covered by a score with k - 1 infusions before it
(k = 1: in the 30-day baseline window):

| patient | covered infusions                                                     | of |
|---------|-----------------------------------------------------------------------|----|
| A       | 1 (6 Jan), 2 (8 Jan 08:30), 3 (8 Jan 12:00, after the 2nd began), 7   | 7  |
| B       | 1 (7 Dec, in the window), 7 (20 Jan); 21 Jan is after the last: none  | 7  |
| C       | 1, 3 (6 Dec 08:30: two infusions before it)                           | 3  |
| D       | 2 (22 Jan); 20 Dec is 31 days before the first: not in the window     | 2  |
| E       | 1, 6 (17 Jan: five before it), 7 (20 Jan)                             | 9  |
| total   | 12                                                                    | 28 |

Outcomes (caseness PHQ-9 >= 10, with a follow-up): A 20 -> 8 (-60.0%, response), B 16 -> 2
(-87.5%, response and remission), C 10 -> 14 (+40.0%); E (8) is not in caseness, D has no
baseline. After induction (first score with 6-8 infusions before it): A 8 (20 Jan), B 4, E 3.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from scipy import stats

from conftest import Clinic, assessment, only_row, patient, session
from pipelines.analytics.activity import activity, scales_with_data
from pipelines.analytics.coverage import assessment_completion
from pipelines.analytics.change import remission_pct_change
from pipelines.analytics.funnel import binomial_control_limits, funnel_sizes
from pipelines.reports.clinic import monthly_outcomes, outcomes_by_group, severity_transitions, waterfall
from pipelines.reports.suppression import suppress_small_groups
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.outcomes import cohort_outcomes
from pipelines.settings import Settings

SETTINGS = Settings()
RIVERSIDE = CohortFilter(sites=("Riverside",))
NOWHERE = CohortFilter(sites=("Nowhere",))
JANUARY = ["2025-01-06", "2025-01-08", "2025-01-10", "2025-01-13", "2025-01-15", "2025-01-17", "2025-01-20",
           "2025-01-22", "2025-01-24"]


def infusions(pid, days):
    return [session(f"{pid}-{k}", f"{day}T09:00:00", pid=pid) for k, day in enumerate(days, start=1)]


def score(pid, when, total, instrument="PHQ-9"):
    when = when if "T" in when else f"{when}T08:30:00"
    return assessment(f"{pid}-{instrument}-{when}", when, instrument, [], total, pid=pid)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("clinic"))
    clinic.patients = [
        patient("A", site="Northside", clinician="Dr. Okafor"),
        patient("B", site="Northside", clinician="Dr. Okafor"),
        patient("C", site="Riverside", clinician="Dr. Reyes", intake="2024-11-20"),
        patient("D", site="Riverside", clinician="Dr. Reyes", intake="2024-12-01"),
        patient("E", site="Northside", clinician="Dr. Whitfield"),
        patient("F", site="Northside", clinician="Dr. Whitfield"),
    ]
    clinic.sessions = [*infusions("A", JANUARY[:7]), *infusions("B", JANUARY[:7]),
                       *infusions("C", ["2024-12-02", "2024-12-04", "2024-12-06"]),
                       *infusions("D", ["2025-01-20", "2025-01-24"]), *infusions("E", JANUARY)]
    clinic.assessments = [
        score("A", "2025-01-06", 20), score("A", "2025-01-08", 16), score("A", "2025-01-08T12:00:00", 16),
        score("A", "2025-01-20", 8), score("A", "2025-01-06", 12, "GAD-7"), score("A", "2025-01-10", 5, "GAD-7"),
        score("B", "2024-12-07", 16), score("B", "2025-01-20", 4), score("B", "2025-01-21", 2),
        score("C", "2024-12-02", 10), score("C", "2024-12-06", 14),
        score("D", "2024-12-20", 12), score("D", "2025-01-22", 11),
        score("E", "2025-01-06", 8), score("E", "2025-01-17", 6), score("E", "2025-01-20", 3),
    ]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


# --- scales and activity -------------------------------------------------------------------------

def test_scales_with_data_lists_phq9_first_and_follows_the_cohort(con):
    frame = scales_with_data(con, SETTINGS)
    # PHQ-9 baselines A, B, C, E (evaluable A, B, C); GAD-7 baseline A (12 -> 5, evaluable)
    assert list(frame.instrument) == ["PHQ-9", "GAD-7"]
    assert list(frame.n_baseline) == [4, 1] and list(frame.n_evaluable) == [3, 1]
    assert list(scales_with_data(con, SETTINGS, RIVERSIDE).instrument) == ["PHQ-9"]  # C only
    assert scales_with_data(con, SETTINGS, NOWHERE).empty


def test_activity_by_hand(con):
    row = only_row(activity(con, SETTINGS))
    assert row.as_of == pd.Timestamp("2025-01-24")
    assert (row.n_patients, row.active_patients, row.new_starts, row.infusions) == (5, 4, 4, 28)
    assert row.new_starts_since == pd.Timestamp("2024-12-25")


def test_activity_follows_the_cohort_and_its_date_range(con):
    river = only_row(activity(con, SETTINGS, RIVERSIDE))
    # C (inactive, started 2 Dec) and D (active, started 20 Jan); 3 + 2 infusions
    assert (river.n_patients, river.active_patients, river.new_starts, river.infusions) == (2, 1, 1, 5)
    # first infusion up to 6 Jan: A, B, C, E; of them A, B, E started after 25 Dec
    early = only_row(activity(con, SETTINGS, CohortFilter(start_to=dt.date(2025, 1, 6))))
    assert (early.n_patients, early.new_starts, early.as_of) == (4, 3, pd.Timestamp("2025-01-24"))
    nobody = only_row(activity(con, SETTINGS, NOWHERE))
    assert (nobody.n_patients, nobody.active_patients, nobody.new_starts, nobody.infusions) == (0, 0, 0, 0)


def test_active_and_new_start_windows_come_from_the_settings(con):
    # active within 4 days of 24 Jan (from 20 Jan): A, B (20 Jan), D, E; within 3 days: D, E
    settings = Settings(thresholds=SETTINGS.thresholds.__class__(active_treatment_days=3))
    assert only_row(activity(con, settings)).active_patients == 2
    # new starts within 4 days (from 20 Jan): D only
    assert only_row(activity(con, SETTINGS, new_start_days=4)).new_starts == 1


# --- assessment completion -----------------------------------------------------------------------

def test_assessment_completion_by_hand(con):
    row = only_row(assessment_completion(con, SETTINGS))
    assert (row.n_infusions, row.n_with_score) == (28, 12)
    ci = stats.binomtest(12, 28).proportion_ci(method="wilson")
    assert (row.rate, row.low, row.high) == pytest.approx((12 / 28, ci.low, ci.high))


def test_assessment_completion_per_scale_and_cohort(con):
    river = only_row(assessment_completion(con, SETTINGS, cohort=RIVERSIDE))
    assert (river.n_infusions, river.n_with_score) == (5, 3)  # C 2 of 3, D 1 of 2
    # GAD-7: A's 6 Jan (infusion 1) and 10 Jan (two before it: infusion 3) of all 28 infusions
    gad = only_row(assessment_completion(con, SETTINGS, scale="GAD-7"))
    assert (gad.n_infusions, gad.n_with_score) == (28, 2)
    empty = only_row(assessment_completion(con, SETTINGS, cohort=NOWHERE))
    assert (empty.n_infusions, empty.n_with_score) == (0, 0) and math.isnan(empty.rate)


def test_assessment_completion_counts_infusions_beyond_64(tmp_path):
    # 66 infusions a day apart, a score before each of the 1st, 64th, 65th and 66th: the
    # per-patient bit mask covers 1-64, later infusions are counted pair by pair.
    clinic = Clinic(tmp_path)
    start = dt.datetime(2025, 1, 1, 9)
    clinic.sessions = [session(f"S{k}", (start + dt.timedelta(days=k - 1)).isoformat()) for k in range(1, 67)]
    clinic.assessments = [score("001", (start + dt.timedelta(days=k - 1, minutes=-30)).isoformat(), 15)
                          for k in (1, 64, 65, 66)]
    clinic.load()
    with clinic.connect() as connection:
        row = only_row(assessment_completion(connection, SETTINGS))
    assert (row.n_infusions, row.n_with_score) == (66, 4)


# --- waterfall -------------------------------------------------------------------------------------

def test_waterfall_one_bar_per_patient_worst_first(con):
    frame = waterfall(con, SETTINGS, min_cell=1)  # 1: no suppression (3 patients)
    assert list(frame["pct_change"]) == [40.0, -60.0, -87.5]  # C, A, B
    assert list(frame.n_patients) == [1, 1, 1] and list(frame.first_rank) == [1, 2, 3]
    assert list(frame.outcome) == ["no response", "response", "remission"]
    # remission (< 5) for a baseline of 10, 20, 16: (4 - 10) / 10, (4 - 20) / 20, (4 - 16) / 16
    assert list(frame.remission_pct_change) == [-60.0, -80.0, -75.0]
    assert frame.attrs == {"response_pct": -50.0, "n": 3, "suppressed": False}


def test_waterfall_is_not_drawn_for_fewer_patients_than_the_cell_size(con):
    # 3 evaluable patients: one bar each would show them one by one
    frame = waterfall(con, SETTINGS)
    assert frame.empty and frame.attrs["suppressed"] and frame.attrs["n"] is None
    assert not waterfall(con, SETTINGS, min_cell=3).attrs["suppressed"]  # 3 is not fewer than 3
    assert waterfall(con, SETTINGS, min_cell=4).empty


def test_waterfall_aggregates_ranks_above_max_bars(con):
    frame = waterfall(con, SETTINGS, max_bars=2, min_cell=1)
    # 3 patients in 2 bars: bar = (rank - 1) * 2 // 3 + 1 -> ranks 1, 2 in bar 1; rank 3 in bar 2
    assert list(frame.bar) == [1, 2] and list(frame.n_patients) == [2, 1]
    first = frame.iloc[0]
    assert (first.first_rank, first.last_rank, first.lowest_pct_change, first.highest_pct_change) == (1, 2, -60, 40)
    assert first["pct_change"] == -60.0  # the lower median of +40 and -60
    assert (first.n_response, first.n_remission, first.outcome) == (1, 0, "no response")  # 1 of 2 is no majority
    assert frame.attrs["n"] == 3


def test_waterfall_after_induction_and_empty(con):
    frame = waterfall(con, SETTINGS, timepoint="after_induction", min_cell=1)
    assert list(frame["pct_change"]) == [-60.0, -75.0]  # A 20 -> 8, B 16 -> 4; C has none
    assert list(frame.outcome) == ["response", "remission"]
    assert waterfall(con, SETTINGS, cohort=NOWHERE, min_cell=1).empty
    with pytest.raises(ValueError, match="timepoint"):
        waterfall(con, SETTINGS, timepoint="end")


def test_remission_threshold_in_percent():
    assert remission_pct_change(20, 5, None) == -80.0
    # PCL-5: below 33 and a drop of at least 10; from 40 the highest remitting score is 30
    assert remission_pct_change(40, 33, 10) == -25.0
    assert remission_pct_change(60, 33, 10) == -46.7  # 32 is below 33 and 28 below baseline
    assert math.isnan(remission_pct_change(7, None, None))  # pain has no remission


# --- severity transitions ------------------------------------------------------------------------

def test_severity_transitions_by_hand(con):
    frame = severity_transitions(con, SETTINGS, min_cell=1)  # the counts; suppression: test_suppression.py
    assert len(frame) == 25  # every pair of the five PHQ-9 bands
    moved = {(r.baseline_band, r.after_band): r.n_patients for r in frame.itertuples() if r.n_patients}
    # A severe 20 -> mild 8; B moderately severe 16 -> minimal 4; E mild 8 -> minimal 3 (not in
    # caseness, still counted); C has no after-induction score
    assert moved == {("severe", "mild"): 1, ("moderately severe", "minimal"): 1, ("mild", "minimal"): 1}
    assert list(frame.baseline_order.unique()) == [1, 2, 3, 4, 5]
    assert severity_transitions(con, SETTINGS, cohort=RIVERSIDE).n_patients.sum() == 0
    # at the default cell size all three are fewer than 11: nothing is shown, not even the total
    default = severity_transitions(con, SETTINGS)
    assert default.attrs["n"] is None and default.attrs["has_patients"]
    assert default.n_patients.isna().sum() == 3 and (default.n_patients.dropna() == 0).all()


# --- outcomes by group, suppression, funnel ------------------------------------------------------

def test_outcomes_by_clinician_suppresses_small_groups(con):
    result = outcomes_by_group(con, SETTINGS, by="clinician", min_cell=2)
    groups = result["groups"].set_index("group")
    # Okafor: A, B evaluable, both responded, B remitted. Reyes: C only (D has no baseline): 1 < 2.
    # Whitfield: E not in caseness: 0 evaluable, but 1 treated patient (< 2): suppressed too.
    okafor = groups.loc["Dr. Okafor"]
    assert (okafor.suppressed, okafor.n_shown, okafor.n_evaluable, okafor.response_n) == (False, "2", 2, 2)
    assert okafor.response_rate == 1.0
    # 1 remitter is a small cell: blanked with its rate
    assert pd.isna(okafor.remission_n) and math.isnan(okafor.remission_rate)
    for name in ("Dr. Reyes", "Dr. Whitfield"):
        row = groups.loc[name]
        assert row.suppressed and row.n_shown == "suppressed"
        assert pd.isna(row.n_patients) and pd.isna(row.n_evaluable) and pd.isna(row.response_n)
        assert math.isnan(row.response_rate) and math.isnan(row.remission_low)
    assert list(result["groups"].group) == ["Dr. Okafor", "Dr. Reyes", "Dr. Whitfield"]  # shown first
    # the clinic-wide rate counts every group, suppressed ones too: 2 responders of 3, which
    # leaves 1 non-responder, a small cell: the overall count and rate are blanked, no funnel
    overall = only_row(result["overall"])
    assert overall.n_evaluable == 3 and pd.isna(overall.response_n) and math.isnan(overall.response_rate)
    assert result["limits"].empty
    unsuppressed = only_row(outcomes_by_group(con, SETTINGS, by="clinician", min_cell=1)["overall"])
    assert (unsuppressed.n_evaluable, unsuppressed.response_n, unsuppressed.response_rate) == (3, 2, 2 / 3)


def test_default_cell_size_is_eleven(con):
    groups = outcomes_by_group(con, SETTINGS, by="site")["groups"]
    assert groups.suppressed.all() and set(groups.n_shown) == {"suppressed"}
    assert groups.response_rate.isna().all()


def test_group_rates_are_cohort_outcomes(con):
    groups = outcomes_by_group(con, SETTINGS, by="site", min_cell=1)["groups"]
    reference = cohort_outcomes(con, SETTINGS, group_by=("site",))
    assert list(groups.group) == list(reference.group)
    for column in ("n_evaluable", "response_n", "response_rate", "response_low", "remission_high"):
        assert list(groups[column].astype(float)) == pytest.approx(list(reference[column].astype(float)), nan_ok=True)


def test_funnel_limits_around_the_overall_rate(con):
    limits = outcomes_by_group(con, SETTINGS, by="clinician", min_cell=1)["limits"]
    # n from min_cell (1) to the largest shown group (Okafor, 2) x 1.05, rounded up: 1, 2, 3
    assert list(limits.n) == [1, 2, 3]
    # Binomial(3, 2/3): F(0) = 1/27, F(2) = 19/27. Lower 95%: r = 0, alpha = (1/27 - 0.025) / (1/27)
    # = 0.325, (0 - 0.325) / 3 < 0 -> clipped to 0. Upper: r = 3, alpha = 0.025 / (8/27) = 0.084375,
    # (3 - 0.084375) / 3 = 0.971875
    three = limits.iloc[2]
    assert three.low_95 == 0 and three.high_95 == pytest.approx(0.971875)
    assert (limits.rate == 2 / 3).all()


def test_binomial_control_limits_by_hand():
    row = only_row(binomial_control_limits(0.5, [10]))
    # Binomial(10, 1/2): F(1) = 11/1024, F(2) = 56/1024, F(7) = 968/1024, F(8) = 1013/1024.
    # p = 0.025: r = 2, alpha = (56 - 25.6) / 45 = 0.675556 -> (2 - 0.675556) / 10 = 0.132444
    # p = 0.975: r = 8, alpha = (1013 - 998.4) / 45 = 0.324444 -> (8 - 0.324444) / 10 = 0.767556
    assert row.low_95 == pytest.approx(0.132444, abs=1e-6)
    assert row.high_95 == pytest.approx(0.767556, abs=1e-6)
    # 99.8% is wider than 95%, and both narrow as n grows
    wide = binomial_control_limits(0.3, [20, 200, 2000])
    assert (wide.low_998 <= wide.low_95).all() and (wide.high_998 >= wide.high_95).all()
    assert wide.high_95.is_monotonic_decreasing and wide.low_95.is_monotonic_increasing
    # close to the normal approximation for large n: 0.3 +- 1.96 sqrt(0.21 / 2000)
    assert wide.high_95.iloc[-1] == pytest.approx(0.3 + 1.96 * math.sqrt(0.21 / 2000), abs=1e-3)


def test_funnel_sizes_cover_the_groups():
    sizes = funnel_sizes(11, 5000)
    assert sizes[0] == 11 and sizes[-1] == 5250 and (sizes[:90] == range(11, 101)).all()
    assert len(sizes) < 300


def test_suppress_small_groups_blanks_every_number():
    frame = pd.DataFrame({"group": ["big", "bigger", "small"], "n_patients": [30, 40, 12], "n_evaluable": [20, 30, 10],
                          "response_n": [12, 15, 4], "response_rate": [0.6, 0.5, 0.4], "response_low": [0.3, 0.3, 0.2],
                          "response_high": [0.7, 0.7, 0.7], "median_change": [-5.0, -6.0, -4.0]})
    shown = suppress_small_groups(frame)
    assert list(shown.columns[:3]) == ["group", "suppressed", "n_shown"]
    # small (10) is suppressed; the total minus the rest would give it back, so the next
    # smallest group (big, 20) goes too; bigger stays
    assert list(shown.n_shown) == ["suppressed", "30", "suppressed"]
    for index in (0, 2):
        row = shown.iloc[index]
        assert pd.isna(row.n_patients) and pd.isna(row.n_evaluable) and pd.isna(row.response_n)
        assert all(math.isnan(row[c]) for c in ("response_rate", "response_low", "response_high", "median_change"))
    assert shown.iloc[1].response_n == 15 and shown.iloc[1].response_rate == 0.5


def test_monthly_outcomes_by_start_month(con):
    frame = monthly_outcomes(con, SETTINGS, min_cell=1)
    # Dec 2024: C (1 evaluable); Jan 2025: A, B, D, E -> evaluable A, B
    assert [pd.Timestamp(m).strftime("%Y-%m") for m in frame.start_month] == ["2024-12", "2025-01"]
    january = frame.iloc[1]
    assert (january.n_patients, january.n_evaluable, january.response_rate, january.remission_rate) == (4, 2, 1.0, 0.5)
    # cell size 2: December (1) is suppressed, and January with it, since the cohort's 3
    # evaluable patients minus January's 2 would give December back
    suppressed = monthly_outcomes(con, SETTINGS, min_cell=2)
    assert list(suppressed.suppressed) == [True, True] and suppressed.response_rate.isna().all()


# --- properties on the committed sample ------------------------------------------------------------

def test_sample_group_tables_partition_the_clinic(sample):
    whole = only_row(cohort_outcomes(sample, SETTINGS))
    for by in ("clinician", "site"):
        result = outcomes_by_group(sample, SETTINGS, by=by)
        overall = only_row(result["overall"])
        assert (overall.n_evaluable, overall.response_n) == (whole.n_evaluable, whole.response_n)
        shown = result["groups"][~result["groups"].suppressed]
        assert (shown.n_evaluable >= 11).all()
        limits = result["limits"]
        assert ((limits.low_998 <= limits.low_95) & (limits.low_95 <= limits.rate)
                & (limits.rate <= limits.high_95) & (limits.high_95 <= limits.high_998)).all()


def test_sample_waterfall_aggregates_to_the_same_patients(sample):
    bars = waterfall(sample, SETTINGS)
    few = waterfall(sample, SETTINGS, max_bars=40, min_cell=1)
    whole = only_row(cohort_outcomes(sample, SETTINGS))
    assert bars.attrs["n"] == few.attrs["n"] == whole.n_evaluable == len(bars)
    assert len(few) == 40 and few.n_patients.sum() == len(bars)
    assert few.n_response.sum() == bars.n_response.sum() == whole.response_n
    assert few["pct_change"].is_monotonic_decreasing and bars["pct_change"].is_monotonic_decreasing
    # bars of several patients (6 or 7 here) are cells: their responder counts of 1 to 10, or
    # leaving 1 to 10 without, are blanked at the default cell size
    blanked = waterfall(sample, SETTINGS, max_bars=40)
    kept = blanked.n_response.dropna()
    assert blanked.n_response.isna().any() and ((kept == 0) | (kept >= 11)).all()
    assert list(blanked.outcome) == list(few.outcome)  # the majority colour does not change


def test_sample_completion_is_a_share_of_every_infusion(sample):
    row = only_row(assessment_completion(sample, SETTINGS))
    [(infusions_total,)] = sample.execute("SELECT count(*) FROM sessions").fetchall()
    assert row.n_infusions == infusions_total and 0 < row.n_with_score <= row.n_infusions
    # the first infusion is covered exactly when the patient has a baseline
    [(baselines,)] = sample.execute("SELECT count(*) FROM patient_outcomes WHERE instrument = 'PHQ-9'").fetchall()
    assert row.n_with_score >= baselines
