"""The Data quality page's ingest charts (dashboard/charts/ingest.py) as Vega-Lite specifications,
on small hand-made frames: which bars, stacked in which order, in which colours, with which
words in the legend and tooltips, and what an empty input gives."""

from __future__ import annotations

import json

import pandas as pd

from dashboard import theme
from dashboard.charts import ingest as charts
from dashboard.charts.vega import SCHEMA


def test_ingest_runs_chart_stacks_what_happened_to_the_rows_of_each_run():
    # Run 1 read 38 rows: 32 new, 1 repeated, 5 quarantined; run 2 read the same export again
    # with one value changed: 1 updated, 32 unchanged, the same 5 quarantined.
    runs = pd.DataFrame({"run_id": [2, 1], "inserted": [0, 32], "updated": [1, 0], "unchanged": [32, 1],
                         "quarantined": [5, 5]})
    spec = charts.ingest_runs_chart(runs)
    assert spec["$schema"] == SCHEMA and spec["mark"]["type"] == "bar"
    values = spec["data"]["values"]
    # one record per run and outcome, oldest run first, inserted at the bottom of each stack
    assert [(v["run"], v["outcome"].split(" (")[0], v["rows"]) for v in values] == [
        ("Run 1", "Inserted", 32), ("Run 1", "Updated", 0), ("Run 1", "Unchanged", 1), ("Run 1", "Quarantined", 5),
        ("Run 2", "Inserted", 0), ("Run 2", "Updated", 1), ("Run 2", "Unchanged", 32), ("Run 2", "Quarantined", 5)]
    # each run's stack adds up to the rows it read (38)
    for run in ("Run 1", "Run 2"):
        assert sum(v["rows"] for v in values if v["run"] == run) == 38
    encoding = spec["encoding"]
    assert encoding["x"]["sort"] == ["Run 1", "Run 2"] and encoding["y"]["title"] == "Rows read"
    assert encoding["y"]["stack"] == "zero" and encoding["order"]["field"] == "stack"
    assert [v["stack"] for v in values[:4]] == [0, 1, 2, 3]
    colours = encoding["color"]["scale"]
    assert colours["domain"] == list(charts.RUN_OUTCOMES.values())
    assert colours["range"] == [theme.BLUE, theme.ORANGE, theme.SKY_BLUE, theme.ALERT]
    assert values[6]["hover"] == "Run 2: 32 rows unchanged"
    assert "2 ingest runs" in spec["description"]
    assert charts.ingest_runs_chart(runs.iloc[0:0]) is None


def test_ingest_runs_chart_writes_thousands_with_separators_in_the_tooltip():
    runs = pd.DataFrame({"run_id": [7], "inserted": [1234567], "updated": [0], "unchanged": [0], "quarantined": [0]})
    assert charts.ingest_runs_chart(runs)["data"]["values"][0]["hover"] == "Run 7: 1,234,567 rows inserted"


def test_quarantine_rules_chart_shows_rules_in_words_with_their_meaning():
    by_rule = pd.DataFrame({"rule": ["conflicting_duplicate", "future_date"], "description": ["same id", "later"],
                            "n_rows": [4, 1]})
    spec = charts.quarantine_rules_chart(by_rule)
    values = spec["data"]["values"]
    assert [(v["rule"], v["rows"]) for v in values] == [("conflicting duplicate", 4), ("future date", 1)]
    assert values[0]["hover"] == "conflicting duplicate (same id): 4 rows"
    # most frequent at the top: the y axis keeps the frame's order
    assert spec["encoding"]["y"]["sort"] == ["conflicting duplicate", "future date"]
    bars, counts = spec["layer"]
    assert bars["mark"]["type"] == "bar" and bars["mark"]["color"] == theme.ALERT
    assert counts["mark"]["type"] == "text" and counts["encoding"]["text"]["field"] == "rows"
    assert spec["height"] == 2 * charts.RULE_ROW
    assert spec["encoding"]["x"]["scale"]["domainMax"] > 4  # room for the longest bar's count
    assert charts.quarantine_rules_chart(by_rule.iloc[0:0]) is None


def test_hover_texts_stay_plain_text():
    """Streamlit's tooltip handler escapes text: a value is not HTML-escaped here (it would show
    as &lt;...)."""
    by_rule = pd.DataFrame({"rule": ["future_date"], "description": ["date <later> & odd"], "n_rows": [1]})
    spec = charts.quarantine_rules_chart(by_rule)
    assert spec["data"]["values"][0]["hover"] == "future date (date <later> & odd): 1 row"
    assert "&lt;" not in json.dumps(spec)
