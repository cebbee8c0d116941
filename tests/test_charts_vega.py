"""The shared Vega-Lite pieces (dashboard/charts/vega.py): inline data that JSON and Vega-Lite
read as the frame meant, and a specification that asks for nothing outside the server."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from dashboard.charts.vega import CONFIG, chart, records


def test_records_turn_every_kind_of_missing_into_null_and_times_into_iso_text():
    frame = pd.DataFrame({
        "score": [12.0, np.nan, 7.0],
        "taken": [pd.Timestamp("2026-03-02 09:30"), pd.NaT, pd.Timestamp("2026-03-16")],
        "note": ["nausea", None, "<b>x</b> & y"],
        "count": pd.array([3, None, 1], dtype="Int64"),
        "flag": [True, False, np.bool_(True)],
    })
    rows = records(frame)
    assert rows[0] == {"score": 12.0, "taken": "2026-03-02T09:30:00", "note": "nausea", "count": 3, "flag": True}
    assert rows[1] == {"score": None, "taken": None, "note": None, "count": None, "flag": False}
    assert rows[2]["note"] == "<b>x</b> & y"  # text as typed: the tooltip shows it as text
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows  # strict JSON: no NaN, no numpy types


def test_records_keep_only_the_columns_asked_for_in_their_order():
    frame = pd.DataFrame({"a": [1], "b": [2], "c": [3]})
    assert records(frame, ["c", "a"]) == [{"c": 3, "a": 1}]


def test_a_chart_carries_the_common_look_and_no_address_to_fetch():
    spec = chart({"mark": "point", "data": {"values": [{"x": 1}]}}, "One point")
    assert spec["config"] == CONFIG and spec["description"] == "One point" and spec["mark"] == "point"
    text = json.dumps(spec)
    assert '"url"' not in text  # data inline only; $schema is an identifier Vega-Lite never fetches
