"""Chart builders of the Clinic outcomes page (dashboard/charts/clinic.py, clinic_course.py and
treatment.py) on small hand-made frames shaped like the analytics results: the traces (or
Vega-Lite layers and their inline data) drawn, the interval bands, the threshold lines, and
suppressed groups left out."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from dashboard import theme
from dashboard.charts import clinic as charts
from dashboard.charts import clinic_course as course
from dashboard.charts import competing
from dashboard.charts import treatment

NAN = math.nan


def bands(figure):
    """Traces filled down to the previous one: the upper edges of interval bands."""
    return [t for t in figure.data if t.fill == "tonexty"]


def lines_at(figure, axis: str):
    """Positions of the layout's horizontal (axis "y") or vertical ("x") lines."""
    return [s[f"{axis}0"] for s in figure.layout.shapes if s[f"{axis}0"] == s[f"{axis}1"]]


def layers(spec: dict) -> dict[str, dict]:
    """A Vega-Lite specification's layers by mark type (area: the interval band, line, point)."""
    return {layer["mark"]["type"]: layer for layer in spec["layer"]}


def series(spec: dict) -> dict[str, list[dict]]:
    """The inline data rows of each line (its `series` value), in the order drawn along the axis."""
    order = spec["encoding"]["x"]["sort"]
    rows: dict[str, list[dict]] = {}
    for row in spec["data"]["values"]:
        rows.setdefault(row["series"], []).append(row)
    return {name: sorted(part, key=lambda row: order.index(row["point"])) for name, part in rows.items()}


def test_trajectory_draws_a_band_and_a_line_per_group():
    """Hand-made means and t intervals: each line runs through its rows' means, its band from
    mean_low to mean_high, in the scale's colour alone or one palette colour per site."""
    frame = pd.DataFrame({"site": ["North", "North", "River", "River"], "infusion": [1, 2, 1, 2],
                          "label": ["1", "2", "1", "2"], "n": [20, 18, 15, 12], "mean": [18.0, 14.0, 17.0, 15.0],
                          "mean_low": [16.0, 12.0, 15.0, 12.5], "mean_high": [20.0, 16.0, 19.0, 17.5]})
    single = course.trajectory_chart(frame[frame.site == "North"], "PHQ-9")
    band, line, point = (layers(single)[mark] for mark in ("area", "line", "point"))
    assert band["encoding"]["y"]["field"] == "mean_low" and band["encoding"]["y2"]["field"] == "mean_high"
    assert line["encoding"]["y"]["field"] == point["encoding"]["y"]["field"] == "mean"
    [(name, rows)] = series(single).items()
    assert name == "PHQ-9 (depression)"
    assert [r["mean"] for r in rows] == [18.0, 14.0]
    assert [r["mean_low"] for r in rows] == [16.0, 12.0] and [r["mean_high"] for r in rows] == [20.0, 16.0]
    assert single["encoding"]["color"]["scale"] == {"domain": [name], "range": [theme.scale_colour("PHQ-9")]}
    assert single["encoding"]["color"]["legend"]["title"] is None  # the legend names the line, as the Plotly chart
    assert [r["n"] for r in rows] == [20, 18] and rows[0]["mean_text"] == "18.0 (95% CI 16.0 to 20.0)"
    assert {t["field"] for t in point["encoding"]["tooltip"]} == {"point", "mean_text", "n"}
    grouped = course.trajectory_chart(frame, "PHQ-9", "site")
    lines = series(grouped)
    assert list(lines) == ["North", "River"]
    assert [r["mean"] for r in lines["River"]] == [17.0, 15.0] and [r["mean_high"] for r in lines["River"]] == [19.0, 17.5]
    assert grouped["encoding"]["color"]["scale"] == {"domain": ["North", "River"], "range": list(theme.SERIES[:2])}
    assert grouped["encoding"]["color"]["legend"]["title"] is None


def test_trajectory_leaves_suppressed_points_out():
    """A suppressed row (fewer than 11 patients, `reports.suppression`) is not drawn: its mean is
    not in the chart's data, yet its infusion keeps its place on the axis."""
    frame = pd.DataFrame({"infusion": [1, 2, 3], "label": ["1", "2", "maintenance"], "n": [30, None, 12],
                          "suppressed": [False, True, False], "mean": [18.0, None, 11.0],
                          "mean_low": [16.0, None, 9.0], "mean_high": [20.0, None, 13.0]})
    spec = course.trajectory_chart(frame, "PHQ-9")
    assert [r["point"] for r in spec["data"]["values"]] == ["before infusion 1", "maintenance"]
    assert spec["encoding"]["x"]["scale"]["domain"] == ["before infusion 1", "before infusion 2", "maintenance"]
    y = layers(spec)["line"]["encoding"]["y"]
    assert y["scale"]["zero"] is True and y["title"] == "Mean score (95% interval)"
    assert spec["encoding"]["x"]["title"] == "Score taken before infusion"
    assert spec["title"] == "PHQ-9 (depression) by infusion"
    # strict JSON (no NaN), data inline only: nothing fetched from outside the server
    assert '"url"' not in json.dumps(spec, allow_nan=False)


def test_time_to_response_curve_band_and_median():
    """Hand-made Kaplan-Meier curve: the step curve and its band as percentages, 50% as a line,
    the median (14 days, interval 7 to not reached) as a vertical line and in words."""
    curve = pd.DataFrame({"time": [0, 7, 14, 21], "at_risk": [10, 10, 6, 3], "events": [0, 4, 3, 0],
                          "censored": [0, 0, 0, 3], "responded": [0.0, 0.4, 0.7, 0.7],
                          "responded_low": [0.0, 0.2, 0.45, 0.45], "responded_high": [0.0, 0.65, 0.88, 0.88]})
    summary = pd.DataFrame({"n": [10], "events": [7], "median_days": [14.0], "median_low": [7.0],
                            "median_high": [NAN]})
    spec = course.time_to_response_chart(curve, summary, "PHQ-9")
    rows = spec["data"]["values"]
    assert [r["time"] for r in rows] == [0, 7, 14, 21]
    assert [r["responded"] for r in rows] == [0.0, 40.0, 70.0, 70.0]
    assert [r["high"] for r in rows] == [0.0, 65.0, 88.0, 88.0] and [r["low"] for r in rows] == [0.0, 20.0, 45.0, 45.0]
    assert rows[1]["responded_text"] == "40% (95% CI 20% to 65%)" and rows[1]["at_risk"] == 10
    band, line = (layer for layer in spec["layer"] if layer["mark"]["type"] in ("area", "line"))
    assert line["mark"]["interpolate"] == band["mark"]["interpolate"] == "step-after"
    assert line["encoding"]["y"]["field"] == "responded"
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == ("low", "high")
    assert line["encoding"]["color"]["scale"]["range"][0] == theme.scale_colour("PHQ-9")
    assert rules_at(spec, "x") == [14.0] and rules_at(spec, "y") == [50]
    assert label(spec) == "median 14 days (95% CI 7 to not reached)"
    summary.loc[0, "median_days"] = NAN
    unreached = course.time_to_response_chart(curve, summary, "PHQ-9")
    assert rules_at(unreached, "x") == [] and label(unreached) == "median not reached (7 of 10 responded)"


def test_cumulative_incidence_beside_kaplan_meier_as_step_lines():
    """Hand-made curves: cumulative incidence of response with its band and the share stopped
    (solid), Kaplan-Meier (dashed), all as percentages over days; one legend naming the three."""
    cif = pd.DataFrame({"time": [0, 7, 14], "at_risk": [10, 8, 4], "responded": [0.0, 0.2, 0.5],
                        "responded_low": [0.0, 0.05, 0.25], "responded_high": [0.0, 0.45, 0.75],
                        "stopped_share": [0.0, 0.1, 0.2]})
    km = pd.DataFrame({"time": [0, 7, 14], "responded": [0.0, 0.22, 0.6]})
    spec = competing.cumulative_incidence_chart(km, cif, "PHQ-9")
    band, *lines = [layer for layer in spec["layer"] if layer["mark"]["type"] in ("area", "line")]
    assert [r["high"] for r in band["data"]["values"]] == [0.0, 45.0, 75.0]
    assert [r["low"] for r in band["data"]["values"]] == [0.0, 5.0, 25.0]
    drawn = {line["encoding"]["color"]["datum"]: [row[line["encoding"]["y"]["field"]] for row in line["data"]["values"]]
             for line in lines}
    assert drawn == {competing.CIF_LINE: [0.0, 20.0, 50.0], competing.STOPPED_LINE: [0.0, 10.0, 20.0],
                     competing.KM_LINE: [0.0, 22.0, 60.0]}
    assert all(layer["mark"]["interpolate"] == "step-after" for layer in [band, *lines])
    dashes = dict(zip(lines[0]["encoding"]["strokeDash"]["scale"]["domain"],
                      lines[0]["encoding"]["strokeDash"]["scale"]["range"]))
    assert dashes[competing.KM_LINE] != [1, 0] and dashes[competing.CIF_LINE] == [1, 0]
    colours = dict(zip(lines[0]["encoding"]["color"]["scale"]["domain"], lines[0]["encoding"]["color"]["scale"]["range"]))
    assert colours[competing.CIF_LINE] == theme.scale_colour("PHQ-9") and colours[competing.KM_LINE] == theme.BLACK
    [hover] = [layer for layer in spec["layer"] if layer["mark"]["type"] == "point"]
    assert hover["data"]["values"][1]["text"] == "20% responded (95% CI 5% to 45%), 10% stopped without a response"
    assert "by day 14, 50% responded and 20% stopped treatment without a response" in spec["description"]
    assert "url" not in json.dumps(spec)  # inline data only
    # No Kaplan-Meier curve (all suppressed): the cumulative incidence alone.
    alone = competing.cumulative_incidence_chart(km.iloc[0:0], cif, "PHQ-9")
    assert [layer["encoding"]["color"]["datum"] for layer in alone["layer"] if "color" in layer["encoding"]] == [
        competing.CIF_LINE, competing.STOPPED_LINE]


def rules_at(spec: dict, axis: str) -> list:
    """Where a Vega-Lite chart's rules cross the `axis` ("x": vertical lines, "y": horizontal)."""
    return [row[layer["encoding"][axis]["field"]] for layer in spec["layer"]
            if layer["mark"]["type"] == "rule" and axis in layer["encoding"] for row in layer["data"]["values"]]


def label(spec: dict) -> str:
    [text] = [row["text"] for layer in spec["layer"] if layer["mark"]["type"] == "text"
              for row in layer["data"]["values"]]
    return text


def waterfall_frame(remission=(-60.0, -80.0, -75.0), n=(1, 1, 1)):
    frame = pd.DataFrame({"bar": [1, 2, 3], "first_rank": [1, 2, 3], "last_rank": [1, 2, 3], "n_patients": list(n),
                          "pct_change": [40.0, -60.0, -87.5], "lowest_pct_change": [40.0, -60.0, -87.5],
                          "highest_pct_change": [40.0, -60.0, -87.5], "baseline_score": [10, 20, 16],
                          "n_response": [0, 1, 1], "n_remission": [0, 0, 1],
                          "outcome": ["no response", "response", "remission"], "remission_pct_change": list(remission)})
    frame.attrs.update(response_pct=-50.0, n=3)
    return frame


def test_waterfall_bars_by_outcome_with_threshold_lines():
    figure = charts.waterfall_chart(waterfall_frame(), "PHQ-9")
    bars = [t for t in figure.data if t.type == "bar"]
    assert [t.name for t in bars] == ["No response", "Response (not remission)", "Remission"]
    assert [list(t.y) for t in bars] == [[40.0], [-60.0], [-87.5]]
    assert -50.0 in lines_at(figure, "y")  # response threshold
    remission = [t for t in figure.data if t.type == "scatter"]
    assert len(remission) == 1 and list(remission[0].y) == [-60.0, -80.0, -75.0]
    assert "Patient ranked 1" in bars[0].hovertext[0]


def test_waterfall_without_remission_and_aggregated():
    pain = charts.waterfall_chart(waterfall_frame(remission=(NAN, NAN, NAN)), "PAIN-NRS")
    assert [t for t in pain.data if t.type == "scatter"] == []
    aggregated = charts.waterfall_chart(waterfall_frame(n=(400, 400, 399)), "PHQ-9")
    assert "Patients ranked 1 to 1 (400)" in aggregated.data[0].hovertext[0]
    assert "3 bars" in aggregated.layout.xaxis.title.text


def test_transitions_heatmap_grid():
    labels = ["minimal", "mild", "severe"]
    frame = pd.DataFrame([(b, i, a, j, 3 * i + j) for i, b in enumerate(labels, 1) for j, a in enumerate(labels, 1)],
                         columns=["baseline_band", "baseline_order", "after_band", "after_order", "n_patients"])
    heatmap = charts.transitions_chart(frame, "PHQ-9").data[0]
    assert list(heatmap.y) == labels and list(heatmap.x) == labels
    assert heatmap.z[2][0] == 10  # severe -> minimal: 3 * 3 + 1
    # severe row: 10 + 11 + 12 = 33 patients, 10 of them to minimal
    assert "10 patients (30% of baseline severe)" in heatmap.hovertext[2][0]


def test_funnel_leaves_out_suppressed_groups():
    groups = pd.DataFrame({"group": ["Dr. A", "Dr. B", "Dr. C"], "suppressed": [False, False, True],
                           "n_evaluable": pd.array([40, 120, pd.NA], dtype="Int64"),
                           "response_rate": [0.5, 0.3, NAN], "response_low": [0.35, 0.22, NAN],
                           "response_high": [0.65, 0.39, NAN]})
    limits = pd.DataFrame({"n": [11, 60, 126], "rate": [0.4] * 3, "low_95": [0.1, 0.28, 0.31],
                           "high_95": [0.7, 0.52, 0.49], "low_998": [0.02, 0.2, 0.27], "high_998": [0.8, 0.6, 0.54]})
    overall = pd.DataFrame({"n_evaluable": [170], "response_n": [68], "response_rate": [0.4]})
    figure = charts.funnel_chart(groups, limits, overall, "clinician")
    points = figure.data[-1]
    assert list(points.x) == [40, 120] and list(points.y) == [50.0, 30.0]
    assert [a.text for a in figure.layout.annotations] == ["Dr. A", "Dr. B"]  # names as annotations
    limit_lines = [t for t in figure.data if t.legendgroup in ("95% limits", "99.8% limits")]
    assert len(limit_lines) == 4 and list(limit_lines[-1].y) == [70.0, 52.0, 49.0]
    centre = [t for t in figure.data if (t.name or "").startswith("Clinic-wide")]
    assert list(centre[0].y) == [40.0, 40.0]
    assert not any("Dr. C" in str(t.hovertext) for t in figure.data)


def test_monthly_trend_leaves_out_suppressed_months():
    frame = pd.DataFrame({"start_month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
                          "suppressed": [False, True, False], "n_evaluable": pd.array([20, pd.NA, 15], dtype="Int64"),
                          "response_rate": [0.5, NAN, 0.4], "response_low": [0.3, NAN, 0.2],
                          "response_high": [0.7, NAN, 0.6], "remission_rate": [0.2, NAN, NAN],
                          "remission_low": [0.1, NAN, NAN], "remission_high": [0.4, NAN, NAN]})
    figure = charts.monthly_trend_chart(frame, "PHQ-9")
    assert len(bands(figure)) == 2
    response = [t for t in figure.data if t.name == "Response"][0]
    assert list(response.x) == ["Jan 2025", "Mar 2025"] and list(response.y) == [50.0, 40.0]
    pain = frame.assign(remission_rate=NAN)
    drawn = charts.monthly_trend_chart(pain, "PAIN-NRS").data
    assert [t.name for t in drawn if t.mode == "lines+markers"] == ["Response"]  # pain has no remission


def test_safety_bars_with_error_bars_and_bp_row():
    effects = pd.DataFrame({"kind": ["side effect", "adverse event"], "effect": ["nausea", "adverse event (any)"],
                            "n_infusions": [200, 200], "n_affected_infusions": [20, 2], "per_100": [10.0, 1.0],
                            "per_100_low": [6.6, 0.3], "per_100_high": [14.9, 3.6]})
    bp = pd.DataFrame({"n_infusions": [200], "n_infusions_with_bp": [190], "n_excursions": [5], "per_100": [2.6],
                       "per_100_low": [1.1], "per_100_high": [6.0]})
    bar = treatment.safety_chart(effects, bp, 180, 110).data[0]
    # lowest rate first: a horizontal bar chart draws the first category at the bottom
    assert list(bar.y) == ["Adverse event (any)", "BP excursion (peak ≥ 180/110 mmHg)", "Nausea"]
    assert list(bar.x) == [1.0, 2.6, 10.0]
    assert list(bar.error_x.array) == pytest.approx([2.6, 3.4, 4.9])
    assert list(bar.error_x.arrayminus) == pytest.approx([0.7, 1.5, 3.4])
    assert "5 of 190 infusions" in bar.hovertext[1]


def test_retention_and_infusions():
    row = pd.Series({"n_started": 100, "completed_induction_n": 80, "completed_induction_rate": 0.8,
                     "completed_induction_low": 0.71, "completed_induction_high": 0.87, "any_maintenance_n": 40,
                     "any_maintenance_rate": 0.4, "any_maintenance_low": 0.31, "any_maintenance_high": 0.5})
    funnel = treatment.retention_chart(row).data[0]
    assert list(funnel.x) == [100, 80, 40] and "80%" in funnel.text[1] and "71 to 87" in funnel.text[1]
    counts = pd.DataFrame({"n_infusions": [1, 2, 6], "n_patients": [5, 0, 10], "share": [1 / 3, 0, 2 / 3]})
    figure = treatment.infusions_chart(counts, 6)
    assert list(figure.data[0].y) == [5, 0, 10] and lines_at(figure, "x") == [6.5]


def test_cadss_band_by_infusion():
    frame = pd.DataFrame({"infusion": ["1", "2", "maintenance"], "n": [30, 28, 40], "mean": [20.0, 18.0, 12.0],
                          "mean_low": [17.0, 15.0, 10.0], "mean_high": [23.0, 21.0, 14.0]})
    figure = treatment.cadss_chart(frame)
    assert len(bands(figure)) == 1 and list(figure.data[-1].x) == ["infusion 1", "infusion 2", "maintenance"]
