"""Durability of response (pipelines/analytics/durability.py, pipelines/reports/response_course.py)
against a hand-worked clinic.

PHQ-9, baselines 20 on 6 Jan 2025 08:30 (response: 10 or less, a drop of 50% or more), first
infusion 6 Jan 09:00; days count from 6 Jan.

| patient | follow-ups (day: score)               | first response | loss / censoring            |
|---------|---------------------------------------|----------------|-----------------------------|
| D1      | 4: 8, 14: 9, 28: 14                   | day 4          | lost at day 28: 24 days     |
| D2      | 4: 10, 32: 8, 60: 7                   | day 4 (50%)    | censored at day 60: 56 days |
| D3      | 7: 6, 14: 12                          | day 7          | lost at day 14: 7 days      |
| D4      | 4: 5                                  | day 4          | censored at once: 0 days    |
| D5      | 4: 15, 11: 9, 67: 16                  | day 11         | lost at day 67: 56 days     |
| D6      | 4: 15                                 | never          | not a responder             |
| D7      | baseline 8; 4: 2                      | -              | not in the clinical range   |

Kaplan-Meier of "still responding" over the five responders: t=0 D4 censored; t=7 4 at risk,
1 loss: S = 3/4 = 0.75; t=24 3 at risk (D1, D2, D5), 1 loss: S = 0.75 x 2/3 = 0.5; t=56 2 at
risk (D2, D5), D5 lost, D2 censored: S = 0.5 x 1/2 = 0.25. At 4 weeks (day 28): 0.5, 2 losses,
2 still followed; at 8 weeks (day 56): 0.25, 3 losses, 2 followed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import Clinic, assessment, patient, session
from pipelines.analytics.durability import durability, loss_times
from pipelines.reports import response_course
from pipelines.settings import Settings

SETTINGS = Settings()
START = dt.date(2025, 1, 6)
SCORES = {"D1": [(4, 8), (14, 9), (28, 14)], "D2": [(4, 10), (32, 8), (60, 7)], "D3": [(7, 6), (14, 12)],
          "D4": [(4, 5)], "D5": [(4, 15), (11, 9), (67, 16)], "D6": [(4, 15)], "D7": [(4, 2)]}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("durability"))
    clinic.patients = [patient(pid) for pid in SCORES]
    clinic.sessions = [session(f"{pid}-S{k}", f"2025-01-{day}T09:00:00", pid=pid)
                       for pid in SCORES for k, day in enumerate(("06", "08", "10"), start=1)]
    clinic.assessments = [assessment(f"{pid}-0", "2025-01-06T08:30:00", "PHQ-9", [], 8 if pid == "D7" else 20,
                                     pid=pid) for pid in SCORES]
    clinic.assessments += [assessment(f"{pid}-{day}", f"{START + dt.timedelta(days=day)}T08:30:00", "PHQ-9", [],
                                      total, pid=pid) for pid, scores in SCORES.items() for day, total in scores]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


def test_loss_times_follow_the_definition(con):
    times = loss_times(con)
    got = sorted(zip(times["days"], times["lost"], times["patients"]))
    # D4 (0, censored), D3 (7, lost), D1 (24, lost), D2 (56, censored), D5 (56, lost)
    assert got == [(0, False, 1), (7, True, 1), (24, True, 1), (56, False, 1), (56, True, 1)]


def test_share_still_responding_at_4_and_8_weeks(con):
    summary = durability(con, SETTINGS)["summary"].set_index("weeks")
    assert summary.loc[4, ["day", "responders", "losses", "at_risk"]].tolist() == [28, 5, 2, 2]
    assert summary.loc[4, "still_responding"] == pytest.approx(0.5)
    assert summary.loc[8, ["day", "responders", "losses", "at_risk"]].tolist() == [56, 5, 3, 2]
    assert summary.loc[8, "still_responding"] == pytest.approx(0.25)
    assert summary.loc[8, "low"] < 0.25 < summary.loc[8, "high"]


def test_nobody_followed_that_long_gives_no_estimate(con):
    summary = durability(con, SETTINGS, weeks=(9,))["summary"]
    # day 63: the longest time is 56 days
    assert summary["at_risk"].tolist() == [0] and summary["still_responding"].isna().all()


def test_published_durability_blanks_small_cells(con):
    shown = response_course.durability(con, SETTINGS)
    assert shown["suppressed"].all()  # 5 responders
    assert shown["still_responding"].isna().all()
    unblanked = response_course.durability(con, SETTINGS, min_cell=1)
    assert unblanked["still_responding"].tolist() == pytest.approx([0.5, 0.25])


def test_published_durability_on_the_sample_keeps_the_4_week_estimate(sample):
    shown = response_course.durability(sample, SETTINGS).set_index("weeks")
    raw = durability(sample, SETTINGS)["summary"].set_index("weeks")
    assert shown.loc[4, "still_responding"] == pytest.approx(raw.loc[4, "still_responding"])
    assert int(shown.loc[4, "responders"]) == int(raw.loc[4, "responders"]) >= 11
