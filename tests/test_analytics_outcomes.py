"""Cohort outcome rates (pipelines/analytics/outcomes.py) against hand-worked values on a small
clinic, and property checks on the committed sample data.

The clinic (PHQ-9 unless noted; caseness >= 10, response >= 50% drop, remission < 5,
reliable change 6). Infusions Mon/Wed/Fri from Monday 2025-01-06 09:00; baselines at 08:30
on 6 Jan, before the first infusion.

| patient | site      | sex    | infusions | PHQ-9 scores                              | notes |
|---------|-----------|--------|-----------|-------------------------------------------|-------|
| P1      | Northside | female | 7         | 20; 15 (10 Jan); 12 (17 Jan 10:00); 8 (27 Jan) | latest -12; after induction (after the 6th started) 12, -8 |
| P2      | Northside | male   | 7         | 16; 4 (20 Jan)                            | latest = after induction = 4, -12 |
| P3      | Riverside | female | 3         | 12; 10 (10 Jan)                           | -2; pain 6 -> 3 |
| P4      | Riverside | male   | 3         | 10; 17 (10 Jan)                           | +7: reliable deterioration |
| P5      | Northside | female | 3         | 8; 2 (10 Jan)                             | not in caseness |
| P6      | Riverside | female | 3         | 18                                        | no follow-up |
| P7      | Northside | male   | 3         | only 10 Jan                               | no baseline |
| P8      | Northside | female | 0         |                                           | never infused: not a treated patient |
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from conftest import Clinic, assessment, patient, session, only_row
from pipelines.analytics.cohorts import GROUPABLE, CohortFilter
from pipelines.analytics.outcomes import OUTCOMES, cohort_outcomes, judged_at_sql
from pipelines.analytics.stats import rank_biserial, wilcoxon_test
from pipelines.settings import Settings

SETTINGS = Settings()
INFUSION_DAYS = ["06", "08", "10", "13", "15", "17", "20", "22", "24"]


def course(pid, n):
    return [session(f"{pid}-S{k}", f"2025-01-{day}T09:00:00", pid=pid)
            for k, day in enumerate(INFUSION_DAYS[:n], start=1)]


def score(pid, when, total, instrument="PHQ-9"):
    return assessment(f"{pid}-{instrument}-{when}", when, instrument, [], total, pid=pid)


def baseline(pid, total, instrument="PHQ-9"):
    return score(pid, "2025-01-06T08:30:00", total, instrument)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("outcomes"))
    clinic.patients = [
        patient("P1", site="Northside", sex="female"),
        patient("P2", site="Northside", sex="male"),
        patient("P3", site="Riverside", sex="female"),
        patient("P4", site="Riverside", sex="male"),
        patient("P5", site="Northside", sex="female"),
        patient("P6", site="Riverside", sex="female"),
        patient("P7", site="Northside", sex="male"),
        patient("P8", site="Northside", sex="female"),
    ]
    clinic.sessions = [*course("P1", 7), *course("P2", 7),
                       *[s for pid in ("P3", "P4", "P5", "P6", "P7") for s in course(pid, 3)]]
    clinic.assessments = [
        baseline("P1", 20), score("P1", "2025-01-10T08:30:00", 15), score("P1", "2025-01-17T10:00:00", 12),
        score("P1", "2025-01-27T08:30:00", 8),
        baseline("P2", 16), score("P2", "2025-01-20T08:30:00", 4),
        baseline("P3", 12), score("P3", "2025-01-10T08:30:00", 10),
        baseline("P3", 6, "PAIN-NRS"), score("P3", "2025-01-10T08:30:00", 3, "PAIN-NRS"),
        baseline("P4", 10), score("P4", "2025-01-10T08:30:00", 17),
        baseline("P5", 8), score("P5", "2025-01-10T08:30:00", 2),
        baseline("P6", 18),
        score("P7", "2025-01-10T08:30:00", 14),
    ]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


# --- hand-worked counts and rates ----------------------------------------------------------

def test_whole_clinic_counts_and_rates(con):
    row = only_row(cohort_outcomes(con, SETTINGS))
    assert row.group == "all"
    # P1-P7 treated (P8 never infused); P7 has no baseline; P5 (8) is below caseness;
    # P6 has no follow-up: evaluable P1-P4.
    assert (row.n_patients, row.n_baseline, row.n_caseness, row.n_evaluable) == (7, 6, 5, 4)
    # P1 20->8: -12, response (12 >= 10), not remission (8), reliable improvement, recovery (8 < 10)
    # P2 16->4: -12, response, remission (4 < 5), reliable improvement, recovery
    # P3 12->10: -2, nothing (10 is not below caseness)
    # P4 10->17: +7, reliable deterioration only
    counts = {name: row[f"{name}_n"] for name in OUTCOMES}
    assert counts == {"response": 2, "remission": 1, "reliable_improvement": 2, "reliable_deterioration": 1,
                      "recovery": 2, "reliable_recovery": 2}
    assert (row.response_rate, row.remission_rate, row.reliable_deterioration_rate) == (0.5, 0.25, 0.25)
    # Wilson for 2 of 4, z^2 = 3.8415: centre (0.5 + 3.8415/8) / (1 + 3.8415/4) = 0.5, half-width
    # 1.96 / 1.9604 * sqrt(0.0625 + 3.8415/64) = 0.99980 * 0.35003 = 0.34996
    assert row.response_low == pytest.approx(0.1500, abs=1e-4)
    assert row.response_high == pytest.approx(0.8500, abs=1e-4)


def test_change_statistics_over_evaluable_patients(con):
    row = only_row(cohort_outcomes(con, SETTINGS))
    # changes -12, -12, -2, +7 (P5's -6 is not evaluable): mean -19/4, median (-12 + -2)/2
    assert row.mean_change == -4.75 and row.median_change == -7
    # sd = sqrt((7.25^2 + 7.25^2 + 2.75^2 + 11.75^2) / 3) = sqrt(250.75 / 3) = 9.1424,
    # sem 4.5712, t(0.975, 3) = 3.1824: -4.75 +- 14.547
    assert row.mean_change_low == pytest.approx(-19.297, abs=1e-3)
    assert row.mean_change_high == pytest.approx(9.797, abs=1e-3)
    assert math.isnan(row.median_change_low)  # n = 4 is too few for a 95% order-statistic interval
    # |changes| 12, 12, 2, 7 -> ranks 3.5, 3.5, 1, 2; falls sum 8, rises 2: W = min = 2;
    # exact two-sided p = 2 * P(W <= 2 | n = 4) = 2 * 3/16 ({}, {1}, {2})
    assert (row.wilcoxon_statistic, row.wilcoxon_p) == (2, 0.375)
    assert row.wilcoxon_p == stats.wilcoxon([8, 4, 10, 17], [20, 16, 12, 10]).pvalue
    assert row.effect_size_r == pytest.approx((8 - 2) / 10)


def test_grouping_splits_the_counts(con):
    frame = cohort_outcomes(con, SETTINGS, group_by=("site",))
    assert list(frame.group) == list(frame.site) == ["Northside", "Riverside"]
    north, river = frame.iloc[0], frame.iloc[1]
    # Northside: P1, P2, P5, P7 -> baselines P1, P2, P5; caseness and evaluable P1, P2
    assert (north.n_patients, north.n_baseline, north.n_caseness, north.n_evaluable) == (4, 3, 2, 2)
    assert (north.response_rate, north.remission_rate, north.reliable_deterioration_n) == (1.0, 0.5, 0)
    # Riverside: P3, P4, P6 -> all have baselines in caseness; P6 has no follow-up
    assert (river.n_patients, river.n_baseline, river.n_caseness, river.n_evaluable) == (3, 3, 3, 2)
    assert (river.response_n, river.reliable_deterioration_rate, river.mean_change) == (0, 0.5, 2.5)


def test_two_group_columns_label_the_row(con):
    frame = cohort_outcomes(con, SETTINGS, group_by=("site", "sex"))
    assert list(frame.group) == ["Northside / female", "Northside / male", "Riverside / female",
                                 "Riverside / male"]
    assert list(frame.n_patients) == [2, 2, 2, 1]  # P1 P5 | P2 P7 | P3 P6 | P4


def test_filter_restricts_the_cohort(con):
    row = only_row(cohort_outcomes(con, SETTINGS, cohort=CohortFilter(sexes=("male",))))
    # P2, P4, P7: P7 without baseline; P2 -12 and P4 +7 evaluable
    assert (row.n_patients, row.n_baseline, row.n_evaluable) == (3, 2, 2)
    assert (row.response_n, row.reliable_deterioration_n, row.mean_change) == (1, 1, -2.5)


def test_after_induction_judges_the_after_induction_score(con):
    row = only_row(cohort_outcomes(con, SETTINGS, timepoint="after_induction"))
    # Only P1 (12, after the 6th infusion started; not its latest 8) and P2 (4) have one.
    # P1 20->12: -8: reliable improvement, not response (8 < 10), not recovery (12 >= 10).
    # P2 16->4: everything.
    assert (row.n_baseline, row.n_caseness, row.n_evaluable) == (6, 5, 2)
    counts = {name: row[f"{name}_n"] for name in OUTCOMES}
    assert counts == {"response": 1, "remission": 1, "reliable_improvement": 2, "reliable_deterioration": 0,
                      "recovery": 1, "reliable_recovery": 1}
    assert (row.mean_change, row.median_change) == (-10, -10)


def test_pain_has_no_remission(con):
    row = only_row(cohort_outcomes(con, SETTINGS, scale="PAIN-NRS"))
    # P3 6 -> 3: -50% >= 30% response, drop 3 >= 2 reliable, 3 < 4 recovered
    assert (row.n_patients, row.n_baseline, row.n_evaluable, row.response_rate, row.recovery_rate) == \
        (7, 1, 1, 1.0, 1.0)
    assert pd.isna(row.remission_n)
    assert math.isnan(row.remission_rate) and math.isnan(row.remission_low) and math.isnan(row.remission_high)


def test_empty_cohort_gives_zero_counts_and_nan_rates(con):
    row = only_row(cohort_outcomes(con, SETTINGS, cohort=CohortFilter(sites=("Nowhere",))))
    assert (row.group, row.n_patients, row.n_baseline, row.n_evaluable, row.response_n) == ("all", 0, 0, 0, 0)
    assert all(math.isnan(row[c]) for c in ("response_rate", "response_low", "mean_change", "wilcoxon_p",
                                             "effect_size_r"))
    grouped = cohort_outcomes(con, SETTINGS, cohort=CohortFilter(sites=("Nowhere",)), group_by=("site",))
    assert grouped.empty and "site" in grouped.columns and "response_rate" in grouped.columns


def test_bad_arguments_are_refused(con):
    with pytest.raises(ValueError, match="cannot group by"):
        cohort_outcomes(con, SETTINGS, group_by=("site; DROP TABLE patients",))
    with pytest.raises(ValueError, match="timepoint"):
        cohort_outcomes(con, SETTINGS, timepoint="end")
    with pytest.raises(ValueError, match="unknown scale"):
        cohort_outcomes(con, SETTINGS, scale="BDI")


# --- the effect size and the test, by hand ----------------------------------------------------

def test_rank_biserial_by_hand():
    # Kerby 2014 simple difference formula. Changes -6, -4, -4, +2, 0, -1: the 0 is dropped;
    # |d| 6, 4, 4, 2, 1 -> ranks 5, 3.5, 3.5, 2, 1 (total 15 = 5*6/2).
    # Falls: 5 + 3.5 + 3.5 + 1 = 13; rises: 2. r = (13 - 2) / 15 = 0.7333
    assert rank_biserial([-6, -4, -4, 2, 0, -1]) == pytest.approx(11 / 15)
    assert rank_biserial([-3, -1]) == 1.0 and rank_biserial([2, 5]) == -1.0
    assert math.isnan(rank_biserial([0, 0])) and math.isnan(rank_biserial([]))


def test_wilcoxon_by_hand():
    # Same changes: W = min(13, 2) = 2; exact p = 2 * P(W <= 2 | n = 5) = 2 * 3/32 = 0.1875
    assert wilcoxon_test([-6, -4, -4, 2, 0, -1]) == (2.0, 0.1875)
    assert all(math.isnan(v) for v in wilcoxon_test([0, 0, 0]))


@pytest.mark.parametrize("changes", [
    [-3, -3, -1, 2, -5, -5, 4],        # ties, n <= 13: the fast sign-flip path
    [-2, -2, -2, -2, 1, 1, -6, 0],     # ties and a zero
    [-9, -7, -5, -3, -1, 2, 4],        # no ties: scipy's exact distribution
    [-(k % 7) - 1 for k in range(60)],  # n > 50: normal approximation
])
def test_wilcoxon_is_scipys_test_of_follow_up_against_baseline(changes):
    baseline = [20] * len(changes)
    follow_up = [20 + c for c in changes]
    expected = stats.wilcoxon(follow_up, baseline)
    statistic, p_value = wilcoxon_test(changes)
    assert statistic == pytest.approx(expected.statistic) and p_value == pytest.approx(expected.pvalue)


# --- properties on the committed sample data ------------------------------------------------


SCALES = ("PHQ-9", "GAD-7", "PAIN-NRS", "PCL-5")


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("timepoint", ("latest", "after_induction"))
@pytest.mark.parametrize("group_by", [(), ("site",), ("clinician", "sex"), ("dose_band",)])
def test_sample_properties(sample, scale, timepoint, group_by):
    frame = cohort_outcomes(sample, SETTINGS, scale=scale, group_by=group_by, timepoint=timepoint)
    assert len(frame) >= 1
    assert (frame.n_evaluable <= frame.n_caseness).all()
    assert (frame.n_caseness <= frame.n_baseline).all() and (frame.n_baseline <= frame.n_patients).all()
    for name in OUTCOMES:
        if scale == "PAIN-NRS" and name == "remission":
            assert frame.remission_n.isna().all() and frame.remission_rate.isna().all()
            continue
        n, rate, low, high = (frame[f"{name}_{s}"] for s in ("n", "rate", "low", "high"))
        assert ((n >= 0) & (n <= frame.n_evaluable)).all()
        rated = frame.n_evaluable > 0
        assert rate[rated].between(0, 1).all()
        assert ((low[rated] <= rate[rated] + 1e-12) & (rate[rated] <= high[rated] + 1e-12)).all()
        assert rate[~rated].isna().all()
    assert (frame.reliable_recovery_n <= frame.recovery_n).all()
    assert (frame.reliable_improvement_n + frame.reliable_deterioration_n <= frame.n_evaluable).all()


@pytest.mark.parametrize("group_by", GROUPABLE)
def test_sample_groups_add_up_to_the_whole(sample, group_by):
    whole = only_row(cohort_outcomes(sample, SETTINGS))
    groups = cohort_outcomes(sample, SETTINGS, group_by=(group_by,))
    for column in ("n_patients", "n_baseline", "n_caseness", "n_evaluable", "response_n", "remission_n"):
        assert groups[column].sum() == whole[column]


def test_sample_whole_clinic_matches_the_view(sample):
    whole = only_row(cohort_outcomes(sample, SETTINGS))
    expected = sample.execute("""
        SELECT count(*) FILTER (WHERE baseline_caseness AND n_followups > 0),
               count(*) FILTER (WHERE baseline_caseness AND n_followups > 0 AND response)
        FROM patient_outcomes WHERE instrument = 'PHQ-9'""").fetchone()
    assert (whole.n_evaluable, whole.response_n) == expected
    assert whole.n_patients == sample.execute("SELECT count(*) FROM patient_cohorts").fetchone()[0]


@pytest.mark.parametrize("scale", SCALES)
def test_recomputed_flags_agree_with_the_view_on_the_latest_score(sample, scale):
    # The after-induction judgement is the view's definitions re-applied; applied to the latest
    # score it must reproduce the view's own flags for every patient.
    flags = ("change", "response", "remission", "reliable_improvement", "reliable_deterioration", "recovery",
             "reliable_recovery")
    differs = " OR ".join(f"j.{f} IS DISTINCT FROM po.{f}" for f in flags)
    sql = f"""
        WITH {judged_at_sql("latest_score")}
        SELECT count(*) AS n, count(*) FILTER (WHERE {differs}) AS n_different
        FROM judged AS j JOIN patient_outcomes AS po ON po.patient_id = j.patient_id AND po.instrument = ?"""
    n, n_different = sample.execute(sql, [scale, scale]).fetchone()
    assert n > 0 and n_different == 0
