"""Scoring rules, each against hand-worked values (clinical reference, "Scales").

Every case ingests a real export and reads the `assessments` table and `scores` view.
"""

from __future__ import annotations

import pytest

from conftest import assessment, session
from pipelines.instruments import REGISTRY

WHEN = "2025-01-06T08:30:00"


def score(clinic, instrument, items, total=None):
    clinic.sessions = [session("S1", "2025-01-06T09:00:00")]
    clinic.assessments = [assessment("A1", WHEN, instrument, items, total)]
    run = clinic.load()
    assert run.totals.quarantined == 0, clinic.query("SELECT reason FROM quarantine")
    return clinic.one("SELECT * FROM assessments")


def test_phq9_complete_total_is_the_item_sum(clinic):
    # 3+3+2+2+2+2+1+1+1 = 17 (Kroenke et al. 2001: sum of nine 0-3 items)
    row = score(clinic, "PHQ-9", [3, 3, 2, 2, 2, 2, 1, 1, 1])
    assert (row.total, row.complete, row.prorated, row.n_missing) == (17, True, False, 0)


def test_phq9_difficulty_question_is_recorded_but_not_summed(clinic):
    # items 1-9 sum to 9; item 10 (difficulty, LOINC 69722-7) = 3 is kept but not added
    row = score(clinic, "PHQ-9", [1] * 9 + [3], total=9)
    assert row.total == 9
    assert list(row["items"]) == [1] * 9 + [3]


def test_phq9_prorates_one_missing_item_rounding_half_up(clinic):
    # 8 answered items summing to 4: mean 0.5 x 9 = 4.5 -> 5 (half up; Python round() gives 4)
    row = score(clinic, "PHQ-9", [1, 1, 1, 1, 0, 0, 0, 0, None])
    assert (row.total, row.prorated, row.complete, row.n_missing) == (5, True, False, 1)


def test_phq9_prorates_two_missing_items(clinic):
    # 7 answered summing to 15: 15 / 7 x 9 = 19.29 -> 19
    row = score(clinic, "PHQ-9", [3, 3, 3, 2, 2, 1, 1, None, None])
    assert (row.total, row.prorated, row.n_missing) == (19, True, 2)


def test_phq9_with_three_missing_items_is_incomplete_and_not_scored(clinic):
    row = score(clinic, "PHQ-9", [3, 3, 3, 2, 2, 1, None, None, None])
    assert row.total is None
    assert (row.complete, row.prorated, row.n_missing) == (False, False, 3)
    assert clinic.query("SELECT * FROM scores").empty  # excluded from outcomes


def test_gad7_prorates_one_missing_item_rounding_half_up(clinic):
    # 6 answered summing to 3: 3 / 6 x 7 = 3.5 -> 4
    row = score(clinic, "GAD-7", [1, 1, 1, 0, 0, 0, None])
    assert (row.total, row.prorated) == (4, True)


def test_gad7_with_two_missing_items_is_incomplete(clinic):
    row = score(clinic, "gad7", [1, 1, 1, 0, 0, None, None])
    assert row.instrument == "GAD-7"
    assert (row.complete, row.prorated) == (False, False)
    assert clinic.query("SELECT * FROM scores").empty


def test_pcl5_prorates_two_of_twenty_missing(clinic):
    # 18 answered, each 2: sum 36; 36 / 18 x 20 = 40
    row = score(clinic, "PCL-5", [2] * 18 + [None, None])
    assert (row.total, row.prorated) == (40, True)


def test_pcl5_with_three_missing_items_is_incomplete(clinic):
    row = score(clinic, "pcl5", [2] * 17)
    assert (row.complete, row.n_missing) == (False, 3)


@pytest.mark.parametrize("items,total,expected", [([7], None, 7), ([], 7, 7), ([7], 7, 7), ([0], None, 0)])
def test_pain_nrs_score_may_come_as_item_total_or_both(clinic, items, total, expected):
    row = score(clinic, "pain nrs", items, total)
    assert (row.instrument, row.total) == ("PAIN-NRS", expected)


def test_total_only_record_is_accepted_with_unknown_item9(clinic):
    row = score(clinic, "PHQ-9", [], total=21)
    assert (row.total, row.total_only, row.complete) == (21, True, True)
    scored = clinic.one("SELECT * FROM scores")
    assert scored.item9_positive is None  # unknown, not negative
    assert scored.severity == "severe"


def test_total_equal_to_raw_sum_of_answered_items_is_not_a_conflict(clinic):
    # 8 answered summing to 8 -> prorated 9; an export that totals the answered items (8) agrees
    row = score(clinic, "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, None], total=8)
    assert (row.total, row.total_reported) == (9, 8)


@pytest.mark.parametrize("item9,expected", [(0, False), (1, True), (3, True), (None, None)])
def test_phq9_item9_flag_is_positive_above_zero_and_unknown_when_missing(clinic, item9, expected):
    score(clinic, "PHQ-9", [2, 2, 2, 2, 2, 2, 2, 2, item9])
    flag = clinic.one("SELECT item9_positive FROM scores").item9_positive
    assert flag is expected


@pytest.mark.parametrize(
    "instrument,total,band",
    [
        ("PHQ-9", 4, "minimal"), ("PHQ-9", 5, "mild"), ("PHQ-9", 9, "mild"), ("PHQ-9", 10, "moderate"),
        ("PHQ-9", 14, "moderate"), ("PHQ-9", 15, "moderately severe"), ("PHQ-9", 19, "moderately severe"),
        ("PHQ-9", 20, "severe"), ("PHQ-9", 27, "severe"),
        ("GAD-7", 4, "minimal"), ("GAD-7", 5, "mild"), ("GAD-7", 10, "moderate"), ("GAD-7", 14, "moderate"),
        ("GAD-7", 15, "severe"), ("GAD-7", 21, "severe"),
        ("PAIN-NRS", 0, "none"), ("PAIN-NRS", 1, "mild"), ("PAIN-NRS", 3, "mild"), ("PAIN-NRS", 4, "moderate"),
        ("PAIN-NRS", 6, "moderate"), ("PAIN-NRS", 7, "severe"), ("PAIN-NRS", 10, "severe"),
        ("PCL-5", 32, "below provisional PTSD"), ("PCL-5", 33, "provisional PTSD"),
    ],
)
def test_severity_bands_match_the_published_cut_points(clinic, instrument, total, band):
    score(clinic, instrument, [], total=total)
    assert clinic.one("SELECT severity FROM scores").severity == band


def test_registry_bands_cover_every_possible_total_exactly_once():
    for instrument in REGISTRY.values():
        covered = [t for band in instrument.bands for t in range(band.low, band.high + 1)]
        assert covered == list(range(0, instrument.total_max + 1)), instrument.code


def test_item9_is_flagged_even_when_the_phq9_is_too_incomplete_to_score(clinic):
    # 3 items missing: no total, but item 9 = 2 is still a safety signal (clinical reference)
    row = score(clinic, "PHQ-9", [2, 2, 2, None, None, None, 1, 1, 2])
    assert (row.total, row.item9_positive) == (None, True)
