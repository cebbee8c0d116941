"""Durability of response (pipelines/analytics/durability.py, pipelines/reports/response_course.py)
against a hand-worked clinic, measured as McInnes et al. (2022) did: responders after induction,
from that score.

PHQ-9, baselines 20 on 6 Jan 2025 08:30 (response: 10 or less, a drop of 50% or more). Six
infusions Mon/Wed/Fri 6-17 Jan 09:00 (the 6th on 17 Jan, day 11), so the after-induction score
is the first after 17 Jan 09:00; days count from 6 Jan, scores at 08:30. Time zero is a
responding after-induction score; loss is the first later score no longer responding; follow-up
ends at the last score, or at the first maintenance infusion (the 7th) after time zero, a score
at or before its start still counting (McInnes's patients had no maintenance).

| patient | follow-ups (day: score)     | after induction     | loss / censoring                   |
|---------|-----------------------------|---------------------|------------------------------------|
| D1      | 12: 8, 26: 9, 40: 14        | day 12, responding  | lost at day 40: 28 days            |
| D2      | 12: 10, 40: 8, 68: 7        | day 12 (50%)        | censored at day 68: 56 days        |
| D3      | 12: 6, 19: 12               | day 12              | lost at day 19: 7 days             |
| D4      | 12: 5                       | day 12              | censored at once: 0 days           |
| D5      | 12: 15, 19: 9               | day 12, not responding | not counted (responds later)    |
| D6      | 4: 8, 12: 9, 33: 16         | day 12 (day 4 is before the window) | lost at day 33: 21 days |
| D7      | baseline 8; 12: 2           | -                   | not in the clinical range          |
| D8      | 12: 8, 28: 9, 42: 15; 7th infusion day 28 09:00 | day 12 | censored at day 28 (the score before the maintenance infusion): 16 days; day 42 not followed |

Kaplan-Meier of "still responding" over the six responders: t=0 D4 censored; t=7 5 at risk,
1 loss: S = 4/5 = 0.8; t=16 D8 censored; t=21 3 at risk (D6, D1, D2), 1 loss: S = 0.8 x 2/3 =
0.5333; t=28 2 at risk (D1, D2), D1 lost: S = 0.5333 x 1/2 = 0.2667; t=56 D2 censored. At 4
weeks (day 28): 0.2667, 3 losses, 2 followed that long; at 8 weeks (day 56): 0.2667, 3 losses,
1 followed.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import Clinic, assessment, patient, session
from pipelines.analytics.durability import durability, loss_times
from pipelines.reports import response_course
from pipelines.settings import Settings

SETTINGS = Settings()
START = dt.date(2025, 1, 6)
INDUCTION = ("06", "08", "10", "13", "15", "17")
SCORES = {"D1": [(12, 8), (26, 9), (40, 14)], "D2": [(12, 10), (40, 8), (68, 7)], "D3": [(12, 6), (19, 12)],
          "D4": [(12, 5)], "D5": [(12, 15), (19, 9)], "D6": [(4, 8), (12, 9), (33, 16)], "D7": [(12, 2)],
          "D8": [(12, 8), (28, 9), (42, 15)]}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("durability"))
    clinic.patients = [patient(pid) for pid in SCORES]
    clinic.sessions = [session(f"{pid}-S{k}", f"2025-01-{day}T09:00:00", pid=pid)
                       for pid in SCORES for k, day in enumerate(INDUCTION, start=1)]
    clinic.sessions.append(session("D8-S7", f"{START + dt.timedelta(days=28)}T09:00:00", pid="D8"))
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
    # D4 (0, censored), D3 (7, lost), D8 (16, censored at its maintenance infusion), D6 (21, lost
    # from its after-induction score, not its day-4 response), D1 (28, lost), D2 (56, censored)
    assert got == [(0, False, 1), (7, True, 1), (16, False, 1), (21, True, 1), (28, True, 1), (56, False, 1)]


def test_share_still_responding_at_4_and_8_weeks(con):
    summary = durability(con, SETTINGS)["summary"].set_index("weeks")
    assert summary.loc[4, ["day", "responders", "losses", "at_risk"]].tolist() == [28, 6, 3, 2]
    assert summary.loc[4, "still_responding"] == pytest.approx(0.8 * 2 / 3 * 1 / 2)
    assert summary.loc[8, ["day", "responders", "losses", "at_risk"]].tolist() == [56, 6, 3, 1]
    assert summary.loc[8, "still_responding"] == pytest.approx(0.8 * 2 / 3 * 1 / 2)
    assert summary.loc[8, "low"] < 0.2667 < summary.loc[8, "high"]


def test_nobody_followed_that_long_gives_no_estimate(con):
    summary = durability(con, SETTINGS, weeks=(9,))["summary"]
    # day 63: the longest time is 56 days
    assert summary["at_risk"].tolist() == [0] and summary["still_responding"].isna().all()


def test_published_durability_blanks_small_cells(con):
    shown = response_course.durability(con, SETTINGS)
    assert shown["suppressed"].all()  # 6 responders
    assert shown["still_responding"].isna().all()
    unblanked = response_course.durability(con, SETTINGS, min_cell=1)
    assert unblanked["still_responding"].tolist() == pytest.approx([0.8 * 2 / 3 * 1 / 2] * 2)


def test_published_durability_on_the_sample_keeps_the_4_week_estimate(sample):
    # Follow-up ends at the first maintenance infusion, so on the sample few responders are
    # followed to 4 weeks: the published row is blanked at the default cell size when its
    # losses or those followed are small, and equals the raw estimate when nothing is blanked.
    shown = response_course.durability(sample, SETTINGS, min_cell=1).set_index("weeks")
    raw = durability(sample, SETTINGS)["summary"].set_index("weeks")
    assert shown.loc[4, "still_responding"] == pytest.approx(raw.loc[4, "still_responding"])
    assert int(shown.loc[4, "responders"]) == int(raw.loc[4, "responders"]) >= 11
    default = response_course.durability(sample, SETTINGS).set_index("weeks")
    small = any(0 < int(raw.loc[4, c]) < 11 for c in ("losses", "at_risk"))
    assert pd.isna(default.loc[4, "still_responding"]) == small