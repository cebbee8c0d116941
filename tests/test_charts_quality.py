"""Chart builders of the Worklist and Data quality pages (dashboard/charts/quality.py; the ingest
runs and quarantine charts are tested in test_charts_ingest.py) on small
hand-made frames: what is drawn, in which order and colour, with which words, and what an
empty input says."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import theme
from dashboard.charts import quality as charts
from pipelines.analytics.coverage import BASELINE_GAP_REASONS
from pipelines.analytics.worklist import REASON_COLUMNS


def worklist_frame(rows: list[set[str]]) -> pd.DataFrame:
    """A worklist with one patient per set of reasons."""
    return pd.DataFrame({column: [column in reasons for reasons in rows] for column in REASON_COLUMNS})


def message(figure) -> str:
    return figure.layout.annotations[0].text


def test_every_worklist_reason_has_a_label_in_the_worklists_order():
    assert list(charts.REASON_LABELS) == list(REASON_COLUMNS)
    assert set(charts.GAP_LABELS) == set(BASELINE_GAP_REASONS)


def test_reason_counts_count_a_patient_under_each_of_their_reasons():
    frame = worklist_frame([{"item9_positive", "no_baseline"}, {"no_baseline"}, {"phq9_overdue"}])
    counts = charts.reason_counts(frame).set_index("reason")["patients"]
    assert counts["item9_positive"] == 1 and counts["no_baseline"] == 2 and counts["phq9_overdue"] == 1
    assert counts.sum() == 4 and list(counts.index) == list(REASON_COLUMNS)


def test_worklist_reasons_chart_draws_safety_reasons_in_the_alert_colour():
    counts = charts.reason_counts(worklist_frame([{"item9_positive"}, {"item9_positive", "no_baseline"}]))
    figure = charts.worklist_reasons_chart(counts)
    bar = figure.data[0]
    assert list(bar.y) == list(charts.REASON_LABELS.values())
    assert list(bar.x) == [2, 0, 0, 0, 0, 1, 0, 0]
    colours = dict(zip(counts["reason"], bar.marker.color))
    assert colours["item9_positive"] == theme.ALERT and colours["no_baseline"] == theme.BLUE
    assert figure.layout.yaxis.autorange == "reversed"  # most urgent at the top


def test_worklist_reasons_chart_says_when_nobody_is_on_the_list():
    figure = charts.worklist_reasons_chart(charts.reason_counts(worklist_frame([])))
    assert not figure.data and "Nobody" in message(figure)


def test_completion_chart_shows_percentages_of_infusions_given_only():
    completion = pd.DataFrame({"infusion": [1, 2, 3], "n_infusions": [4, 2, 0], "n_with_score": [3, 2, 0],
                               "share": [0.75, 1.0, float("nan")]})
    figure = charts.completion_chart(completion, "GAD-7")
    bar = figure.data[0]
    assert list(bar.x) == [1, 2] and list(bar.y) == pytest.approx([75.0, 100.0])
    assert list(bar.text) == ["75%", "100%"]
    assert bar.marker.color == theme.scale_colour("GAD-7")
    assert [list(row) for row in bar.customdata] == [[3, 4], [2, 2]]
    assert "GAD-7 (anxiety)" in bar.hovertemplate
    assert "No infusions" in message(charts.completion_chart(completion.assign(n_infusions=0)))


def test_baseline_gaps_chart_stacks_reasons_per_scale_with_the_share_of_the_scale():
    coverage = pd.DataFrame({"instrument": ["PHQ-9", "GAD-7"], "n_with_baseline": [6, 3],
                             "n_without_baseline": [4, 1], "only_incomplete": [1, 0], "only_too_early": [1, 0],
                             "none_before_start": [1, 1], "never_recorded": [1, 0]})
    figure = charts.baseline_gaps_chart(coverage)
    assert [trace.name for trace in figure.data] == list(charts.GAP_LABELS.values())
    assert list(figure.data[0].y) == ["PHQ-9 (depression)", "GAD-7 (anxiety)"]
    before_start = figure.data[2]
    assert list(before_start.x) == [1, 1] and list(before_start.customdata) == [10.0, 25.0]  # 1/10, 1/4
    everyone = coverage.assign(n_without_baseline=0)
    assert "Every patient has a baseline" in message(charts.baseline_gaps_chart(everyone))
