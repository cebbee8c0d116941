"""Headline rates on three bases (pipelines/analytics/intention.py, pipelines/reports/headline.py)
against hand-worked values on a small clinic, and the completers' basis against the existing
headline on the sample.

The clinic (PHQ-9: caseness >= 10, response = drop of 50% or more, remission < 5; clinical
reference, "Outcome definitions"). Infusions Mon/Wed/Fri from Monday 2025-01-06 09:00: the 6th
starts 17 Jan 09:00 and the 9th 24 Jan 09:00, so "after induction" is the first score after
17 Jan 09:00 and not after 24 Jan 09:00. Baselines 6 Jan 08:30.

| patient | site      | infusions | PHQ-9                                   | after induction     | latest |
|---------|-----------|-----------|-----------------------------------------|---------------------|--------|
| A       | Northside | 9         | 20; 8 (17 Jan 10:00); 4 (27 Jan)         | 8: response         | 4: response, remission |
| B       | Northside | 9         | 16; 12 (20 Jan)                          | 12: none            | 12: none |
| C       | Northside | 4         | 18; 8 (10 Jan)                           | missing; LOCF 8: response | 8: response |
| D       | Riverside | 3         | 12                                       | missing; LOCF = baseline | missing |
| E       | Riverside | 9         | 14; 4 (10 Jan); 13 (27 Jan)              | missing (none in the window); LOCF 4 (last before 24 Jan 09:00): response, remission | 13: none |
| F       | Riverside | 9         | 8; 2 (17 Jan 10:00)                      | not in the clinical range: in no denominator | |
| G       | Riverside | 3         | only 10 Jan                              | no baseline | |
| H       | Riverside | 1 (3 Apr) | none                                     | no baseline | |

H's infusion sets the data's end at 3 Apr 2025, so C (last infusion 13 Jan, 80 days before) and
D (10 Jan, 83 days) are paused there, not still in induction: both are due after induction
(treatment status, docs/analytics.md; "not yet due" is tested on its own clinic below).

A also has pain 6 -> 3 (pain has no remission).
"""

from __future__ import annotations

import pytest

from conftest import Clinic, assessment, only_row, patient, session
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.intention import outcome_rates
from pipelines.analytics.outcomes import cohort_outcomes
from pipelines.reports.headline import headline_rates
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
    clinic = Clinic(tmp_path_factory.mktemp("intention"))
    clinic.patients = [patient(pid, site="Northside" if pid in "ABC" else "Riverside") for pid in "ABCDEFGH"]
    clinic.sessions = [*course("A", 9), *course("B", 9), *course("C", 4), *course("D", 3), *course("E", 9),
                       *course("F", 9), *course("G", 3), session("H-S1", "2025-04-03T09:00:00", pid="H")]
    clinic.assessments = [
        baseline("A", 20), score("A", "2025-01-17T10:00:00", 8), score("A", "2025-01-27T08:30:00", 4),
        baseline("A", 6, "PAIN-NRS"), score("A", "2025-01-27T08:30:00", 3, "PAIN-NRS"),
        baseline("B", 16), score("B", "2025-01-20T08:30:00", 12),
        baseline("C", 18), score("C", "2025-01-10T08:30:00", 8),
        baseline("D", 12),
        baseline("E", 14), score("E", "2025-01-10T08:30:00", 4), score("E", "2025-01-27T08:30:00", 13),
        baseline("F", 8), score("F", "2025-01-17T10:00:00", 2),
        score("G", "2025-01-10T08:30:00", 14),
    ]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


def counts(con, timepoint, basis, **kwargs):
    row = only_row(outcome_rates(con, SETTINGS, timepoint=timepoint, basis=basis, **kwargs))
    return int(row.n), int(row.responders), int(row.remitters)


# (timepoint, basis) -> (n, responders, remitters), from the table above:
# after induction, completers: A (8 of 20, -60%: response; 8 >= 5: no remission) and B (12 of
#   16, -25%) were scored in the window: n 2, 1 responder, 0 remitters.
# after induction, itt: A, B, C, D, E started in the clinical range: n 5; missing counts as no
#   response: still 1 responder (A), 0 remitters.
# after induction, locf: A 8 (response), B 12, C carries 8 of 18 (-56%: response), D carries
#   its baseline (no change), E carries 4 of 14 (-71%: response; 4 < 5: remission): n 5,
#   3 responders, 1 remitter.
# latest, completers: A 4 (response, remission), B 12, C 8 of 18 (response), E 13 of 14; D has
#   no later score: n 4, 2 responders, 1 remitter.
# latest, itt and locf: D counted as no response (LOCF carries its baseline): n 5, 2, 1.
EXPECTED = {
    ("after_induction", "completers"): (2, 1, 0),
    ("after_induction", "itt"): (5, 1, 0),
    ("after_induction", "locf"): (5, 3, 1),
    ("latest", "completers"): (4, 2, 1),
    ("latest", "itt"): (5, 2, 1),
    ("latest", "locf"): (5, 2, 1),
}


@pytest.mark.parametrize(("timepoint", "basis"), list(EXPECTED))
def test_counts_on_each_basis_match_the_hand_worked_clinic(con, timepoint, basis):
    assert counts(con, timepoint, basis) == EXPECTED[(timepoint, basis)]


def test_treated_patients_and_baselines_are_counted_on_every_basis(con):
    # A-H were infused (8); G and H have no baseline (6); nobody is still in induction.
    row = only_row(outcome_rates(con, SETTINGS, basis="itt"))
    assert (row.n_patients, row.n_baseline, row.not_yet_due) == (8, 6, 0)


def test_groups_split_the_denominators(con):
    # After induction, LOCF: Northside A, B, C (A and C respond); Riverside D, E (E responds).
    frame = outcome_rates(con, SETTINGS, basis="locf", group_by=("site",)).set_index("site")
    assert frame.loc["Northside", ["n", "responders"]].tolist() == [3, 2]
    assert frame.loc["Riverside", ["n", "responders"]].tolist() == [2, 1]


def test_a_cohort_filter_restricts_the_patients(con):
    # Riverside only, intention to treat after induction: D and E, neither responded.
    assert counts(con, "after_induction", "itt", cohort=CohortFilter(sites=("Riverside",))) == (2, 0, 0)


def test_pain_has_no_remitters(con):
    # A: pain 6 -> 3 is a 50% drop (pain's response is 30%); remission is not defined.
    row = only_row(outcome_rates(con, SETTINGS, scale="PAIN-NRS", timepoint="latest", basis="itt"))
    assert (row.n, row.responders) == (1, 1)
    assert row.remitters is None or str(row.remitters) == "<NA>"


def test_unknown_basis_or_timepoint_is_refused(con):
    with pytest.raises(ValueError, match="basis"):
        outcome_rates(con, SETTINGS, basis="per-protocol")
    with pytest.raises(ValueError, match="timepoint"):
        outcome_rates(con, SETTINGS, timepoint="week-4")


def test_headline_rates_add_wilson_intervals_and_labels(con):
    frame = headline_rates(con, SETTINGS, basis=("completers", "itt", "locf"), min_cell=1)
    assert list(zip(frame.timepoint, frame.basis)) == list(EXPECTED)
    locf = frame.set_index(["timepoint", "basis"]).loc[("after_induction", "locf")]
    # 3 of 5; Wilson 95%: centre (3 + 1.96^2/2) / (5 + 1.96^2) = 0.5565, half-width
    # 1.96 sqrt(0.6 x 0.4 / 5 + 1.96^2 / 100) / (1 + 1.96^2 / 5) = 0.3258 -> 0.2307 to 0.8824.
    assert locf.response_rate == pytest.approx(0.6)
    assert (locf.response_low, locf.response_high) == pytest.approx((0.2307, 0.8824), abs=1e-4)
    assert locf.remission_rate == pytest.approx(0.2)
    assert locf.basis_label == "Last observation carried forward"
    itt = frame.set_index(["timepoint", "basis"]).loc[("after_induction", "itt")]
    assert itt.denominator_label == "who started with PHQ-9 ≥ 10"
    completers = frame.set_index(["timepoint", "basis"]).loc[("after_induction", "completers")]
    assert completers.denominator_label == "who started with PHQ-9 ≥ 10 and had a score after induction"


def test_headline_rates_blank_small_cells(con):
    # With the default cell size (11) every denominator here (2 to 5) is too small.
    frame = headline_rates(con, SETTINGS, timepoint="latest", basis="itt")
    row = only_row(frame)
    assert bool(row.suppressed) and row.n_shown == "suppressed"
    assert str(row.responders) == "<NA>" and str(row.n) == "<NA>"


@pytest.mark.parametrize("timepoint", ["after_induction", "latest"])
def test_completers_equal_the_existing_headline_on_the_sample(sample, timepoint):
    existing = only_row(cohort_outcomes(sample, SETTINGS, timepoint=timepoint))
    row = only_row(headline_rates(sample, SETTINGS, timepoint=timepoint, basis="completers"))
    assert (row.n, row.responders, row.remitters) == (existing.n_evaluable, existing.response_n,
                                                      existing.remission_n)
    assert row.response_rate == pytest.approx(existing.response_rate)
    assert (row.remission_low, row.remission_high) == pytest.approx((existing.remission_low,
                                                                     existing.remission_high))


def test_intention_to_treat_counts_everyone_in_the_clinical_range_on_the_sample(sample):
    # ITT's n is the headline's n_caseness (276 on the sample) less those not yet due (20 still
    # in induction at the data's end without a score after induction): 256; its responders are
    # the completers'.
    existing = only_row(cohort_outcomes(sample, SETTINGS, timepoint="after_induction"))
    row = only_row(headline_rates(sample, SETTINGS, timepoint="after_induction", basis="itt"))
    assert (row.n + row.not_yet_due, row.responders) == (existing.n_caseness, existing.response_n)
    assert row.not_yet_due == 20


# --- Like with like: unipolar depression apart from the other indications ----------------------

def test_depression_and_other_indications_partition_the_headline(sample):
    from pipelines.reports.headline import headline_by_indication
    both = headline_by_indication(sample, SETTINGS, timepoint="after_induction", basis="itt", min_cell=1)
    whole = only_row(headline_rates(sample, SETTINGS, timepoint="after_induction", basis="itt", min_cell=1))
    assert both["indication_group"].tolist() == ["Unipolar depression", "Other indications"]
    assert both["n"].sum() == whole.n and both["responders"].sum() == whole.responders
    # the depression group is the cohort filtered to primary_indication = "depression"
    depression = only_row(outcome_rates(sample, SETTINGS, cohort=CohortFilter(indications=("depression",)),
                                        basis="itt"))
    assert (both.n.iloc[0], both.responders.iloc[0]) == (depression.n, depression.responders)


def test_indication_groups_on_the_hand_worked_clinic(con):
    # Everyone in the small clinic is "depression" (conftest.patient's default): the other group
    # is empty (n 0), and the depression group is the whole headline: ITT after induction 5, 1.
    from pipelines.reports.headline import headline_by_indication
    frame = headline_by_indication(con, SETTINGS, timepoint="after_induction", basis="itt", min_cell=1)
    assert frame["n"].tolist() == [5, 0] and frame["responders"].tolist() == [1, 0]


def test_itt_is_hidden_when_few_patients_lack_a_score(con):
    # With min_cell = 4: after induction ITT counts 5 and completers 2, so 3 patients (C, D, E)
    # have no score; 3 is a small cell that the two n's would give away, so the ITT and LOCF
    # rows are blanked with a note (the completers' row, n = 2, is blanked by the ordinary rule).
    # At the latest score only D lacks one (5 - 4 = 1): ITT and LOCF are blanked there too.
    frame = headline_rates(con, SETTINGS, basis=("completers", "itt", "locf"), min_cell=4)
    rows = frame.set_index(["timepoint", "basis"])
    for point in ("after_induction", "latest"):
        for basis in ("itt", "locf"):
            row = rows.loc[(point, basis)]
            assert bool(row.suppressed) and str(row.n) == "<NA>" and row.response_rate != row.response_rate
            assert "have no score" in row.note
    assert rows.loc[("latest", "completers"), "n"] == 4 and rows.loc[("latest", "completers"), "note"] == ""
    # with min_cell = 2, 3 missing after induction is not small: ITT shown; 1 missing at latest is
    assert int(headline_rates(con, SETTINGS, "PHQ-9", timepoint="after_induction", basis="itt",
                              min_cell=2).iloc[0].n) == 5
    assert bool(headline_rates(con, SETTINGS, "PHQ-9", timepoint="latest", basis="itt", min_cell=2).iloc[0].suppressed)


# --- Not yet due: patients still in induction at the data's end --------------------------------
# A second clinic (PHQ-9 baseline 20 for everyone, 08:30 on the first infusion's day). The data's
# end is U's last infusion, Mon 3 Mar 2025. Still in induction there = fewer than 8 infusions
# (`after_induction_before_session` 9, minus 1) and neither paused (63 days) nor ended (90 days,
# or discharged); such a patient without a score after induction cannot have reached the time
# point, so ITT and LOCF leave them out and count them as not yet due.
#   U: 9 infusions 6-24 Jan and one 3 Mar, 8 on 17 Jan 10:00: completer, responder;
#   P: 3 infusions 24-28 Feb, no later score: 3 days since the last -> not yet due;
#   Q: 3 infusions 16-20 Dec 2024: 73 days since -> paused, due: ITT counts a non-responder;
#   R: 7 infusions 17 Feb - 3 Mar, no later score: fewer than 8 -> not yet due;
#   S: 8 infusions 14 Feb - 3 Mar, no later score: not fewer than 8 -> due, ITT non-responder;
#   T: 3 infusions 24-28 Feb, discharged 1 Mar -> ended, due, ITT non-responder.
# After induction: completers n 1 (U); ITT and LOCF n 4 (U, Q, S, T), 1 responder; not yet due 2
# (P, R). At the latest score nobody is "not yet due": ITT n 6.
NOT_YET_DUE_COURSES = {
    "U": [*(f"2025-01-{d}" for d in INFUSION_DAYS), "2025-03-03"],
    "P": ["2025-02-24", "2025-02-26", "2025-02-28"],
    "Q": ["2024-12-16", "2024-12-18", "2024-12-20"],
    "R": ["2025-02-17", "2025-02-19", "2025-02-21", "2025-02-24", "2025-02-26", "2025-02-28", "2025-03-03"],
    "S": ["2025-02-14", "2025-02-17", "2025-02-19", "2025-02-21", "2025-02-24", "2025-02-26", "2025-02-28",
          "2025-03-03"],
    "T": ["2025-02-24", "2025-02-26", "2025-02-28"],
}


@pytest.fixture(scope="module")
def due_con(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("not_yet_due"))
    clinic.patients = [{**patient(pid, intake="2024-12-01"), "discharge_date": "2025-03-01" if pid == "T" else ""}
                       for pid in NOT_YET_DUE_COURSES]
    clinic.sessions = [session(f"{pid}-S{k}", f"{day}T09:00:00", pid=pid)
                       for pid, days in NOT_YET_DUE_COURSES.items() for k, day in enumerate(days, start=1)]
    clinic.assessments = [score(pid, f"{days[0]}T08:30:00", 20) for pid, days in NOT_YET_DUE_COURSES.items()]
    clinic.assessments.append(score("U", "2025-01-17T10:00:00", 8))
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


@pytest.mark.parametrize(("timepoint", "basis", "expected"), [
    ("after_induction", "completers", (1, 1, 2)),
    ("after_induction", "itt", (4, 1, 2)),
    ("after_induction", "locf", (4, 1, 2)),
    ("latest", "itt", (6, 1, 0)),
])
def test_patients_still_in_induction_without_a_score_are_not_yet_due(due_con, timepoint, basis, expected):
    row = only_row(outcome_rates(due_con, SETTINGS, timepoint=timepoint, basis=basis))
    assert (int(row.n), int(row.responders), int(row.not_yet_due)) == expected
