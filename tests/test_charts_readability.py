"""Defects seen in the browser (issue 16), each checked on the figure a page draws from the
sample clinic's published answers (`pipelines.reports.clinic` on a snapshot of the real
ingest): the x axis of a grouped course in infusion order, rate axes from zero, suppressed
cells written as "<11" in hovers."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.charts import clinic as charts
from pipelines.analytics.cohorts import GROUPABLE
from pipelines.analytics.snapshot import open_snapshot
from pipelines.reports import clinic as published
from pipelines.settings import Settings

SETTINGS = Settings()


@pytest.fixture(scope="module")
def snapshot(sample_database):
    con = open_snapshot(sample_database)
    yield con
    con.close()


@pytest.mark.parametrize("by", GROUPABLE)
def test_course_by_infusion_keeps_infusion_order_for_every_comparison(snapshot, by):
    """Seen compared by indication: "... 4, 6, 7, 5, 8 ..." (a group with infusion 5 suppressed drew
    first). The axis lists infusions 1..n in order, then maintenance, whatever the grouping."""
    path = published.trajectory(snapshot, SETTINGS, "PHQ-9", group_by=(by,))
    figure = charts.trajectory_chart(path, "PHQ-9", by)
    numbers = sorted(int(label) for label in path["label"].unique() if label != "maintenance")
    expected = [f"before infusion {n}" for n in numbers] + (["maintenance"] if (path["label"] == "maintenance").any()
                                                          else [])
    assert figure.layout.xaxis.categoryorder == "array"
    assert list(figure.layout.xaxis.categoryarray) == expected
    for trace in figure.data:  # and each line runs left to right along it
        positions = [expected.index(x) for x in trace.x]
        assert positions == sorted(positions)


def test_course_order_when_the_first_group_misses_a_point():
    """Hand-made: North's infusion 2 is suppressed, so the first trace has 1, 3 and River's 2
    would be placed after 3 without a fixed order."""
    frame = pd.DataFrame({"site": ["North"] * 3 + ["River"] * 3, "infusion": [1, 2, 3] * 2,
                          "label": ["1", "2", "3"] * 2, "n": [20, None, 15, 30, 25, 20],
                          "suppressed": [False, True, False, False, False, False],
                          "mean": [18.0, None, 12.0, 17.0, 15.0, 13.0], "mean_low": [16.0, None, 10.0, 15, 13, 11],
                          "mean_high": [20.0, None, 14.0, 19, 17, 15]})
    figure = charts.trajectory_chart(frame, "PHQ-9", "site")
    assert list(figure.layout.xaxis.categoryarray) == ["before infusion 1", "before infusion 2", "before infusion 3"]
