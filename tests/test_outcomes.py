"""Outcome definitions (clinical reference, "Outcome definitions"), each against hand-worked
values on a tiny clinic loaded through the real ingest into a real DuckDB file.

The course used throughout: nine IV infusions, Mon/Wed/Fri from Monday 2025-01-06 09:00
(clinic local time, America/New_York): 6 Jan, 8, 10, 13, 15, 17 (6th), 20, 22, 24 (9th).
"""

from __future__ import annotations

import pytest

from conftest import assessment, session

INFUSION_DAYS = ["06", "08", "10", "13", "15", "17", "20", "22", "24"]


def course(n=9):
    return [session(f"S{k}", f"2025-01-{day}T09:00:00") for k, day in enumerate(INFUSION_DAYS[:n], start=1)]


def total_only(aid, when, total, instrument="PHQ-9"):
    return assessment(aid, when, instrument, [], total)


def outcomes(clinic):
    return clinic.rows("SELECT * FROM patient_outcomes ORDER BY instrument")


# --- Baseline ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "when,has_baseline",
    [
        ("2024-12-07T10:00:00", True),   # 6 Jan - 30 days = 7 Dec: inside the window
        ("2024-12-06T23:59:00", False),  # 31 days before: outside
        ("2025-01-06T09:00:00", True),   # at the first infusion's start: not after it
        ("2025-01-06T09:01:00", False),  # after the first infusion started
        # Offsets are converted to clinic time before taking the date:
        ("2024-12-07T03:00:00Z", False),  # = 6 Dec 22:00 in New York: 31 days before
        ("2024-12-07T06:00:00+00:00", True),  # = 7 Dec 01:00 in New York
        ("2024-12-07T03:00:00 UTC", False),   # a zone name is converted too
        ("2024-12-07T03:00:00z", False),      # lower-case Z
    ],
)
def test_baseline_window_is_30_days_to_first_infusion_start(clinic, when, has_baseline):
    clinic.sessions = course(2)
    clinic.assessments = [total_only("A1", when, 18)]
    clinic.load()
    assert len(outcomes(clinic)) == (1 if has_baseline else 0)


def test_baseline_is_the_latest_score_in_the_window(clinic):
    clinic.sessions = course(2)
    clinic.assessments = [
        total_only("A1", "2024-12-20T10:00:00", 20),
        total_only("A2", "2025-01-06T08:30:00", 18),
        total_only("A3", "2025-01-08T08:30:00", 15),
    ]
    clinic.load()
    row = outcomes(clinic)[0]
    assert (row.baseline_score, str(row.baseline_at)) == (18, "2025-01-06 08:30:00")
    # The December score lies before the baseline, so it is not a follow-up.
    assert (row.n_followups, row.latest_score) == (1, 15)


def test_patient_without_infusions_has_no_baseline(clinic):
    clinic.assessments = [total_only("A1", "2025-01-06T08:30:00", 18)]
    clinic.load()
    assert outcomes(clinic) == []


def test_incomplete_assessment_cannot_be_the_baseline(clinic):
    clinic.sessions = course(2)
    clinic.assessments = [
        total_only("A1", "2025-01-02T10:00:00", 20),
        assessment("A2", "2025-01-06T08:30:00", "PHQ-9", [3, 3, 3, 3, 3, 3]),  # 3 missing: no total
    ]
    clinic.load()
    assert outcomes(clinic)[0].baseline_score == 20


# --- Change, response, remission, reliable change, recovery ----------------------------

OUTCOME_FIELDS = ("change", "pct_change", "baseline_caseness", "response", "remission",
                  "reliable_improvement", "reliable_deterioration", "recovery", "reliable_recovery")


@pytest.mark.parametrize(
    "instrument,baseline,latest,expected",
    [
        # PHQ-9: response >= 50% drop, remission < 5, reliable change 6, caseness >= 10.
        ("PHQ-9", 18, 9, (-9, -50.0, True, True, False, True, False, True, True)),
        ("PHQ-9", 18, 10, (-8, -44.4, True, False, False, True, False, False, False)),
        ("PHQ-9", 18, 4, (-14, -77.8, True, True, True, True, False, True, True)),
        ("PHQ-9", 12, 7, (-5, -41.7, True, False, False, False, False, True, False)),
        ("PHQ-9", 10, 16, (6, 60.0, True, False, False, False, True, False, False)),
        ("PHQ-9", 8, 2, (-6, -75.0, False, True, True, True, False, None, None)),
        ("PHQ-9", 0, 0, (0, None, False, False, True, False, False, None, None)),  # baseline 0
        # GAD-7: caseness >= 8, reliable change 4, remission < 5.
        ("GAD-7", 12, 8, (-4, -33.3, True, False, False, True, False, False, False)),
        ("GAD-7", 8, 7, (-1, -12.5, True, False, False, False, False, True, False)),
        ("GAD-7", 10, 4, (-6, -60.0, True, True, True, True, False, True, True)),
        # Pain NRS: response >= 30% drop, reliable change 2, caseness >= 4, no remission.
        ("PAIN-NRS", 10, 7, (-3, -30.0, True, True, None, True, False, False, False)),
        ("PAIN-NRS", 8, 6, (-2, -25.0, True, False, None, True, False, False, False)),
        ("PAIN-NRS", 6, 3, (-3, -50.0, True, True, None, True, False, True, True)),
        # PCL-5: remission < 33 with a drop of >= 10; reliable change 10; caseness >= 33.
        ("PCL-5", 40, 32, (-8, -20.0, True, False, False, False, False, True, False)),
        ("PCL-5", 42, 32, (-10, -23.8, True, False, True, True, False, True, True)),
        ("PCL-5", 50, 25, (-25, -50.0, True, True, True, True, False, True, True)),
    ],
)
def test_outcomes_on_the_latest_follow_up(clinic, instrument, baseline, latest, expected):
    clinic.sessions = course(3)
    clinic.assessments = [
        total_only("A1", "2025-01-06T08:30:00", baseline, instrument),
        total_only("A2", "2025-01-08T08:30:00", baseline, instrument),
        total_only("A3", "2025-01-10T08:30:00", latest, instrument),
    ]
    clinic.load()
    row = outcomes(clinic)[0]
    assert (row.baseline_score, row.latest_score, row.n_followups) == (baseline, latest, 2)
    assert tuple(row[f] for f in OUTCOME_FIELDS) == expected


def test_without_a_follow_up_the_row_exists_with_outcomes_unknown(clinic):
    clinic.sessions = course(1)
    clinic.assessments = [total_only("A1", "2025-01-06T08:30:00", 18)]
    clinic.load()
    row = outcomes(clinic)[0]
    assert (row.baseline_score, row.n_followups, row.baseline_caseness) == (18, 0, True)
    assert all(row[f] is None for f in OUTCOME_FIELDS if f != "baseline_caseness")


# --- After induction ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "followups,expected",
    [
        # before the 6th infusion's start (17 Jan 09:00) does not count; after it does
        ([("2025-01-17T08:30:00", 12), ("2025-01-17T10:00:00", 10), ("2025-01-27T08:00:00", 6)], 10),
        # first score between the 6th and the 9th infusion (24 Jan 09:00)
        ([("2025-01-15T08:30:00", 14), ("2025-01-22T08:30:00", 9)], 9),
        # a pre-infusion score on the 9th day is still before the 9th infusion
        ([("2025-01-24T08:30:00", 8)], 8),
        # only after the 9th infusion started: no after-induction score
        ([("2025-01-24T09:30:00", 8), ("2025-01-27T08:00:00", 6)], None),
        # edges, consistent with sessions_before: stamped at the 6th start = before it (5
        # infusions); stamped at the 9th start = before the 9th (8 infusions), still inside
        ([("2025-01-17T09:00:00", 12), ("2025-01-20T08:30:00", 10)], 10),
        ([("2025-01-24T09:00:00", 8)], 8),
    ],
)
def test_after_induction_is_first_score_after_6th_up_to_9th_infusion_start(clinic, followups, expected):
    clinic.sessions = course(9)
    clinic.assessments = [total_only("A0", "2025-01-06T08:30:00", 18)] + [
        total_only(f"A{n}", when, total) for n, (when, total) in enumerate(followups, start=1)
    ]
    clinic.load()
    assert outcomes(clinic)[0].after_induction_score == expected


def test_after_induction_has_no_upper_bound_without_a_9th_infusion(clinic):
    clinic.sessions = course(6)
    clinic.assessments = [total_only("A0", "2025-01-06T08:30:00", 18),
                          total_only("A1", "2025-02-20T08:30:00", 7)]
    clinic.load()
    assert outcomes(clinic)[0].after_induction_score == 7


# --- scores view ---------------------------------------------------------------------------

def test_scores_count_infusions_before_and_days_since_first(clinic):
    clinic.sessions = course(9)
    clinic.assessments = [
        total_only("A0", "2024-12-20T10:00:00", 20),   # before treatment: 0 infusions, day -17
        total_only("A1", "2025-01-06T08:30:00", 18),   # pre-infusion 1: 0 before, day 0
        total_only("A2", "2025-01-17T08:30:00", 12),   # pre-infusion 6: 5 before, day 11
        total_only("A3", "2025-01-17T10:00:00", 10),   # after infusion 6 started: 6 before
        total_only("A4", "2025-02-01T10:00:00", 6),    # after all 9: day 26
    ]
    clinic.load()
    rows = clinic.rows("SELECT assessment_key, sessions_before, days_since_first_session FROM scores ORDER BY 1")
    assert [(r.sessions_before, r.days_since_first_session) for r in rows] == [
        (0, -17), (0, 0), (5, 11), (6, 11), (9, 26)
    ]
