"""Chart builders of the Patient page (dashboard/charts/patient.py, patient_items.py) on small
hand-made frames: what each panel of the Vega-Lite specification draws (the data of each named
layer, its encodings and colours), where the lines sit, what the tooltips say, and what the
date / infusion toggle changes.

The frames: PHQ-9 20 -> 14 -> 9 taken before infusions 1-3 (6, 8, 10 Apr 2026), the 2nd
infusion peaking at 185/100 (an excursion), the 3rd with an adverse event written as markup;
a pain scale 6 -> 4 with no remission; the clinic's expected course for k = 1..5.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dashboard import theme
from dashboard.charts.patient import EXCURSION_COLOUR, INFUSION_COLOUR, trajectory_figure
from dashboard.charts.patient_items import item_heatmap

INFUSION_DAYS = pd.to_datetime(["2026-04-06 09:00", "2026-04-08 09:00", "2026-04-10 09:00"])
SCORE_TIMES = pd.to_datetime(["2026-04-06 08:30", "2026-04-08 08:30", "2026-04-10 08:30"])


def scores_frame():
    return pd.DataFrame({
        "instrument": ["PHQ-9"] * 3 + ["PAIN-NRS"] * 2,
        "administered_at": [*SCORE_TIMES, SCORE_TIMES[0], SCORE_TIMES[2]],
        "total": [20, 14, 9, 6, 4],
        "severity": ["severe", "moderate", "mild", "moderate", "moderate"],
        "k": [1, 2, 3, 1, 3],
        "days_since_first_session": [0, 2, 4, 0, 4],
        "prorated": [False] * 5,
        "total_only": [False] * 3 + [True] * 2,
        "is_baseline": [True, False, False, True, False],
        "assessment_key": ["a1", "a2", "a3", "p1", "p2"],
    })


def sessions_frame():
    return pd.DataFrame({
        "session_id": ["S1", "S2", "S3"], "session_number": [1, 2, 3], "started_at": INFUSION_DAYS,
        "route": ["iv"] * 3, "dose_mg": [35.0, 35.0, 42.0], "weight_kg": [70.0] * 3, "dose_mg_per_kg": [0.5, 0.5, 0.6],
        "duration_min": [40.0] * 3, "bp_pre_sys": [120, 122, 118], "bp_pre_dia": [80, 81, 79],
        "bp_peak_sys": [140, 185, 150], "bp_peak_dia": [88, 100, 90], "bp_excursion": [False, True, False],
        "hr_pre": [72] * 3, "spo2_min": [97] * 3, "cadss_total": [12, 30, 8],
        "side_effects": ["dissociation, nausea", "dissociation", ""],
        "adverse_event": [None, None, "<b>vasovagal</b> & recovered"],
    })


def scales_frame(phq9_baseline=20):
    return pd.DataFrame({
        "instrument": ["PHQ-9", "PAIN-NRS"], "n_scores": [3, 2],
        "baseline_score": pd.array([phq9_baseline, 6], dtype="Int64"),
        "response_drop_pct": [50, 30], "remission_below": pd.array([5, None], dtype="Int64"),
        "remission_min_drop": pd.array([None, None], dtype="Int64"), "total_max": [27, 10],
    })


def bands_frame():
    return pd.DataFrame({
        "instrument": ["PHQ-9"] * 5 + ["PAIN-NRS"] * 4,
        "band_order": [1, 2, 3, 4, 5, 1, 2, 3, 4],
        "low": [0, 5, 10, 15, 20, 0, 1, 4, 7], "high": [4, 9, 14, 19, 27, 0, 3, 6, 10],
        "label": ["minimal", "mild", "moderate", "moderately severe", "severe", "none", "mild", "moderate", "severe"],
    })


def expected_frame():
    k = np.arange(1, 6)
    return pd.DataFrame({
        "instrument": "PHQ-9", "k": k,
        # percentiles of improvement: p25 (least improved) is the highest score
        "expected_score_p25": [20.0, 17.0, 15.0, 13.0, 12.0],
        "expected_score_p50": [20.0, 15.0, 12.0, 10.0, 9.0],
        "expected_score_p75": [20.0, 12.0, 9.0, 7.0, 6.0],
        "n_patients": pd.array([-1, 40, 38, 35, 30], dtype="Int64"),
    })


def figure(x_axis="infusion", **changes):
    frames = {"scores": scores_frame(), "sessions": sessions_frame(), "scales": scales_frame(),
              "bands": bands_frame(), "expected": expected_frame(), **changes}
    return trajectory_figure(frames["scores"], frames["sessions"], frames["scales"], frames["bands"],
                             frames["expected"], x_axis=x_axis)


def panel(spec, scale):
    (view,) = [view for view in spec["vconcat"] if view["name"] == scale]
    return view


def layer(spec, scale, what):
    """The layer named '<scale> <what>' of the scale's panel, or None when it is not drawn."""
    found = [layer for layer in panel(spec, scale)["layer"] if layer["name"] == f"{scale} {what}"]
    return found[0] if found else None


def values(spec, scale, what, field):
    return [row[field] for row in layer(spec, scale, what)["data"]["values"]]


def test_one_panel_per_scale_with_its_severity_bands_shaded():
    spec = figure()
    assert [view["name"] for view in spec["vconcat"]] == ["PHQ-9", "PAIN-NRS"]  # PHQ-9 on top, pain below
    assert [view["title"] for view in spec["vconcat"]] == ["PHQ-9 (depression)", "Pain (0-10)"]
    assert values(spec, "PHQ-9", "bands", "label") == ["minimal", "mild", "moderate", "moderately severe", "severe"]
    assert len(values(spec, "PAIN-NRS", "bands", "label")) == 4
    bands = layer(spec, "PHQ-9", "bands")["data"]["values"]
    moderate = next(band for band in bands if band["label"] == "moderate")
    assert (moderate["low"], moderate["high"]) == (9.5, 14.5)  # integer scores 10-14, no gaps between bands
    assert (bands[0]["low"], bands[-1]["high"]) == (0, 27)  # clipped to the scale's range
    assert bands[0]["fill"] == theme.BAND_FILLS[0] and bands[-1]["fill"] == theme.BAND_FILLS[4]
    # labelled at the right edge, at the top of each band
    labels = layer(spec, "PHQ-9", "band labels")
    assert labels["encoding"]["x"] == {"value": "width"} and labels["encoding"]["y"]["field"] == "high"
    # each panel's own y: 0 to the scale's maximum, the infusion strip below 0
    y = layer(spec, "PAIN-NRS", "scores")["encoding"]["y"]
    assert y["scale"]["domain"][1] == 10.5 and y["scale"]["domain"][0] < 0 and y["axis"]["values"][0] == 0
    assert spec["resolve"]["scale"] == {"x": "shared", "y": "independent", "color": "shared", "shape": "shared",
                                        "strokeDash": "shared"}


def test_response_line_is_half_the_baseline_and_pain_uses_30_percent():
    spec = figure()
    assert values(spec, "PHQ-9", "response", "y") == [10.0]
    assert "at or below 10 (50% below baseline 20)" in values(spec, "PHQ-9", "response", "hover")[0]["title"]
    assert values(spec, "PAIN-NRS", "response", "y") == pytest.approx([4.2])  # 6 x (1 - 0.30)
    assert layer(spec, "PHQ-9", "response")["mark"]["type"] == "rule"  # across the whole panel


def test_remission_line_only_where_the_scale_defines_remission():
    spec = figure()
    assert values(spec, "PHQ-9", "remission", "y") == [5]
    assert "below 5" in values(spec, "PHQ-9", "remission", "hover")[0]["title"]
    assert layer(spec, "PAIN-NRS", "remission") is None


def test_no_response_line_without_a_baseline():
    spec = figure(scales=scales_frame(phq9_baseline=None))
    assert layer(spec, "PHQ-9", "response") is None


def test_expected_band_is_grey_between_the_25th_and_75th_percentiles_with_a_dashed_median():
    spec = figure()
    band = layer(spec, "PHQ-9", "expected")
    assert band["mark"]["type"] == "area"
    assert values(spec, "PHQ-9", "expected", "low") == [20.0, 12.0, 9.0, 7.0, 6.0]
    assert values(spec, "PHQ-9", "expected", "high") == [20.0, 17.0, 15.0, 13.0, 12.0]
    assert band["encoding"]["y"]["field"] == "low" and band["encoding"]["y2"]["field"] == "high"
    colours = dict(zip(band["encoding"]["color"]["scale"]["domain"], band["encoding"]["color"]["scale"]["range"]))
    assert "120,120,120" in colours["Expected for similar patients (middle half)"]
    median = layer(spec, "PHQ-9", "expected median")
    assert values(spec, "PHQ-9", "expected median", "median") == [20.0, 15.0, 12.0, 10.0, 9.0]
    dashes = dict(zip(median["encoding"]["strokeDash"]["scale"]["domain"],
                      median["encoding"]["strokeDash"]["scale"]["range"]))
    assert dashes["Expected median of similar patients"] != [1, 0]  # dashed
    assert values(spec, "PHQ-9", "expected median", "hover")[1] == {
        "title": "Infusion 2: expected for similar patients", "Middle half": "12-17", "Median": "15", "Patients": "40"}
    assert median["mark"]["point"]["tooltip"] == {"expr": "datum.hover"}  # on each point, not the whole line
    assert layer(spec, "PAIN-NRS", "expected") is None  # no expected course given for pain


def test_every_infusion_is_marked_with_dose_bp_cadss_and_side_effects_in_its_tooltip():
    spec = figure()
    markers = layer(spec, "PHQ-9", "infusions")
    assert values(spec, "PHQ-9", "infusions", "x") == [1, 2, 3]
    assert set(values(spec, "PHQ-9", "infusions", "y")) == {-0.07 * 27}  # the strip below 0
    second = values(spec, "PHQ-9", "infusions", "hover")[1]
    assert second == {"title": "Infusion 2, 8 Apr 2026 09:00", "Route": "IV infusion", "Dose": "0.50 mg/kg (35.0 mg)",
                      "BP": "before 122/81, peak 185/100 mmHg - BP excursion", "CADSS (dissociation)": "30",
                      "Side effects": "dissociation"}  # no adverse event: no line for it
    # the excursion stands out: its own colour, straight from the data (no scale)
    assert values(spec, "PHQ-9", "infusions", "colour") == [INFUSION_COLOUR, EXCURSION_COLOUR, INFUSION_COLOUR]
    assert markers["encoding"]["fill"] == {"field": "colour", "type": "nominal", "scale": None}
    assert markers["mark"]["tooltip"] == {"expr": "datum.hover"}
    # free text as typed: the tooltip shows plain text (Streamlit's tooltip escapes it)
    third = values(spec, "PHQ-9", "infusions", "hover")[2]
    assert third["Adverse event"] == "<b>vasovagal</b> & recovered" and third["Dose"].startswith("0.60 mg/kg")
    assert third["Side effects"] == "none recorded"
    assert values(spec, "PAIN-NRS", "infusions", "x") == [1, 2, 3]  # on every panel


def test_date_toggle_moves_every_point_to_its_time():
    by_number, by_date = figure("infusion"), figure("date")
    assert values(by_number, "PHQ-9", "scores", "x") == [1, 2, 3]
    assert list(pd.to_datetime(values(by_date, "PHQ-9", "scores", "x"))) == list(SCORE_TIMES)
    assert list(pd.to_datetime(values(by_date, "PHQ-9", "infusions", "x"))) == list(INFUSION_DAYS)
    # the expected course sits on the patient's own infusion dates; k = 4, 5 are not reached yet
    assert list(pd.to_datetime(values(by_date, "PHQ-9", "expected", "x"))) == list(INFUSION_DAYS)
    number_x = layer(by_number, "PAIN-NRS", "scores")["encoding"]["x"]
    assert number_x["type"] == "quantitative" and number_x["axis"]["title"].startswith("Infusion number")
    assert number_x["axis"]["format"] == "d" and number_x["axis"]["tickMinStep"] == 1  # whole infusions
    assert number_x["scale"]["domain"] == [0.5, 5.5]  # scores, infusions and expected k = 1..5
    date_x = layer(by_date, "PAIN-NRS", "scores")["encoding"]["x"]
    assert date_x["type"] == "temporal" and date_x["axis"]["title"] == "Date" and date_x["scale"]["padding"] > 0
    assert date_x["axis"]["format"] == "%-d %b"  # "14 Oct", not Vega's weekday labels ("Thu 14")
    # one shared x: the top panel has no axis labels of its own
    assert layer(by_date, "PHQ-9", "scores")["encoding"]["x"]["axis"]["labels"] is False


def test_baseline_is_marked_and_scores_hover_in_clinical_words():
    spec = figure()
    baseline = layer(spec, "PHQ-9", "baseline")
    assert values(spec, "PHQ-9", "baseline", "y") == [20]
    assert baseline["encoding"]["shape"]["scale"]["range"][0] == "diamond"
    assert baseline["mark"]["size"] > layer(spec, "PHQ-9", "score points")["mark"]["size"]
    assert baseline["encoding"]["fill"] == {"value": theme.scale_colour("PHQ-9")}
    assert layer(spec, "PHQ-9", "scores")["mark"]["color"] == theme.scale_colour("PHQ-9")
    assert values(spec, "PHQ-9", "score points", "y") == [20, 14, 9]
    hover = values(spec, "PHQ-9", "score points", "hover")
    assert hover[1] == {"title": "PHQ-9 (depression) 14 (moderate)", "Taken": "8 Apr 2026 08:30, before infusion 2"}
    assert "tooltip" not in layer(spec, "PHQ-9", "scores")["mark"]  # the points carry it


def test_the_legend_has_one_entry_per_kind_shared_by_the_panels():
    spec = figure()
    scale = layer(spec, "PHQ-9", "response")["encoding"]["color"]["scale"]
    assert scale["domain"] == ["Baseline", "Response line (50% below baseline; pain 30%)", "Remission cut-off",
                               "Expected for similar patients (middle half)", "Expected median of similar patients",
                               "Infusion (hover for dose, BP, CADSS)"]
    assert scale == layer(spec, "PAIN-NRS", "response")["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"]))
    assert colours["Remission cut-off"] == theme.REMISSION_LINE and colours["Baseline"] == theme.scale_colour("PHQ-9")
    # one panel: a line's entry is its rule in words
    single = figure(scales=scales_frame().iloc[:1], scores=scores_frame().iloc[:3])
    domain = layer(single, "PHQ-9", "response")["encoding"]["color"]["scale"]["domain"]
    assert "Response: at or below 10 (50% below baseline 20)" in domain and "Remission: below 5" in domain


def test_the_specification_is_plain_json_with_data_inline():
    spec = figure("date")
    text = json.dumps(spec)  # no timestamps or numpy values left
    assert '"url"' not in text and spec["$schema"].endswith("v6.json")
    assert "PHQ-9 (depression), Pain (0-10)" in spec["description"]


def test_no_scores_gives_no_chart_the_page_says_so():
    assert figure(scores=scores_frame().iloc[0:0], scales=scales_frame().assign(n_scores=0)) is None


def test_unknown_x_axis_is_refused():
    with pytest.raises(ValueError):
        figure("week")


# --- PHQ-9 item heatmap --------------------------------------------------------------------

LABELS = ["Little interest or pleasure", "Feeling down or hopeless", "Sleep problems", "Tired, little energy",
          "Appetite", "Feeling bad about oneself", "Trouble concentrating", "Slowed down or restless",
          "Thoughts of death or self-harm"]


def items_frame():
    """Three PHQ-9s: 6 Apr (baseline), 8 Apr twice (the second leaves item 9 blank)."""
    rows = []
    administrations = [("a1", "2026-04-06 08:30", 1, 20, [3, 3, 3, 3, 3, 3, 1, 0, 1]),
                       ("a2", "2026-04-08 08:30", 2, 14, [2, 2, 2, 2, 2, 2, 1, 1, 0]),
                       ("a3", "2026-04-08 18:00", 3, 9, [1, 1, 1, 1, 1, 1, 1, 1, None])]
    for key, when, k, total, answers in administrations:
        for item, answer in enumerate(answers, start=1):
            rows.append({"administered_at": pd.Timestamp(when), "assessment_key": key, "k": k, "total": total,
                         "complete": answer is not None, "item": item, "item_label": LABELS[item - 1],
                         "answer": answer})
    frame = pd.DataFrame(rows)
    frame["answer"] = frame["answer"].astype("Int64")
    return frame


def heat_layer(spec, name):
    found = [layer for layer in spec["layer"] if layer["name"] == name]
    return found[0] if found else None


def cells(spec, name) -> dict:
    return {(cell["row"], cell["column"]): cell for cell in heat_layer(spec, name)["data"]["values"]}


def test_heatmap_has_nine_items_by_administration_in_clinical_words():
    spec = item_heatmap(items_frame())
    answers = heat_layer(spec, "answers")
    rows = answers["encoding"]["y"]["sort"]
    assert len(rows) == 9 and rows[0] == "1. Little interest or pleasure" and rows[8] == "9. Thoughts of death or self-harm"
    shown = cells(spec, "answers")
    assert [shown[(row, "6 Apr 2026")]["answer"] for row in rows] == [3, 3, 3, 3, 3, 3, 1, 0, 1]
    assert len(shown) == 26  # 27 cells, one unanswered
    assert answers["mark"]["type"] == "rect"
    colour = answers["encoding"]["color"]
    assert colour["scale"]["domain"] == [0, 1, 2, 3] and colour["scale"]["range"][0] == "#DCEAF6"  # 0 is not white
    assert "Nearly every day" in colour["legend"]["labelExpr"]


def test_heatmap_shows_an_unanswered_item_as_a_question_mark_not_zero():
    spec = item_heatmap(items_frame())
    blank = cells(spec, "unanswered")
    assert list(blank) == [("9. Thoughts of death or self-harm", "8 Apr 2026 (2)")]
    assert heat_layer(spec, "unanswered")["mark"]["text"] == "?"
    assert ("9. Thoughts of death or self-harm", "8 Apr 2026 (2)") not in cells(spec, "answers")
    assert next(iter(blank.values()))["hover"]["title"] == "Thoughts of death or self-harm: not answered"
    first = cells(spec, "answers")[("1. Little interest or pleasure", "6 Apr 2026")]["hover"]
    assert first == {"title": "Little interest or pleasure: Nearly every day (3)",
                     "Taken": "6 Apr 2026 08:30, before infusion 1", "PHQ-9 total": "20"}


def test_heatmap_columns_by_date_or_infusion_stay_distinct():
    by_date = heat_layer(item_heatmap(items_frame(), "date"), "answers")["encoding"]["x"]
    assert by_date["sort"] == ["6 Apr 2026", "8 Apr 2026", "8 Apr 2026 (2)"]
    by_infusion = heat_layer(item_heatmap(items_frame(), "infusion"), "answers")["encoding"]["x"]
    assert by_infusion["sort"] == ["before 1", "before 2", "before 3"]
    assert by_infusion["axis"]["title"] == "PHQ-9 taken before infusion"


def test_heatmap_without_answers_gives_no_chart():
    assert item_heatmap(items_frame().iloc[0:0]) is None
