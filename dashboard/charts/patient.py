"""Charts of one patient's course: the trajectory on every scale (the PHQ-9 item heatmap is in
`patient_items`).

Pure builders (DataFrames from `pipelines.analytics.patient` and `expected.patient_expected` in,
a Vega-Lite specification out, `charts/vega.py`); they never touch the database or Streamlit.
Vega-Lite rather than Plotly because this is the figure the Patient page opens on: a tab's first
Plotly figure loads Plotly's 4.7 MB script, which cost a new session of the page most of a
second (`charts/vega.py`, docs/scaling.md). The printable summary draws its own small SVG charts
(`dashboard/summary_chart.py`).

Why one panel per scale rather than a scale selector: a patient has at most four scales, and
the question a clinician asks is "is the depression moving while the anxiety and the pain
are?" - panels stacked (`vconcat`) on one shared x scale put the same infusion under the same
point on every scale, answerable at a glance; a selector would hide three of four answers
behind clicks and would not fit on a printed page. Each panel has its own y scale (0 to the
scale's maximum) with the scale's severity bands shaded behind the scores.

What each panel shows (clinical reference for every threshold):
- the scores (scale colour, line and points), the baseline as a larger diamond;
- severity bands from `instrument_bands`, labelled at the right;
- the response line: baseline x (1 - response %), 50% (pain 30%) below the baseline, where a
  score on or under the line is a response;
- the remission line where the scale defines remission (PHQ-9 / GAD-7 below 5; PCL-5 below 33
  with a 10-point drop; pain has none);
- the clinic's expected course for similar patients (same scale and baseline band,
  `patient_expected`): a grey band from the 25th to the 75th percentile of improvement and a
  dashed median;
- every infusion as a triangle in a strip below 0, dark orange-red when its peak BP was an
  excursion, with dose, BP, CADSS, side effects and adverse event in its tooltip.

The legend has one entry per kind of mark (baseline, the two lines, the expected band and
median, infusions), shared by the panels: one `kind` field drives its colour, symbol and dash.
Each mark's tooltip is its datum's `hover` object, a heading and a line per fact, which
Streamlit's tooltip shows as a small table, escaped: free text such as an adverse event is shown
as typed, never as markup.

The x axis is either the infusion number or the date. By infusion number a score sits at the
infusion it was taken before (1 = baseline), so the score before infusion k and infusion k share
an x; by date everything sits at its time, and the expected course is placed on the dates of
the patient's own infusions (a k the patient has not reached yet has no date and is not drawn).
"""

from __future__ import annotations

import json

import pandas as pd

from pipelines.instruments import REGISTRY

from .. import theme
from ..theme import when
from .vega import chart, records

X_AXES = ("infusion", "date")
X_TITLES = {"infusion": "Infusion number (scores are taken before it; 1 = baseline)", "date": "Date"}
# Order of the panels: the registry's page order (depression first, then the others as the
# clinic usually adds them).
SCALE_ORDER = tuple(sorted(REGISTRY, key=lambda code: REGISTRY[code].page_order))
ROUTE_WORDS = {"iv": "IV infusion", "im": "IM injection", "intranasal": "Intranasal (esketamine)"}
EXCURSION_COLOUR = theme.ALERT
INFUSION_COLOUR = "rgb(90,90,90)"
LABEL_COLOUR = "rgb(90,90,90)"
# A mark's tooltip is its datum's `hover` object: a heading ("title") and a line per fact,
# which Streamlit's tooltip shows as a small table, escaped.
TOOLTIP = {"expr": "datum.hover"}
# The legend's kinds, in legend order (their names when there are several panels), and the
# look of each entry: (colour, symbol, dash). The baseline's colour is the first panel's scale
# colour, as its diamond on that panel.
BASELINE, RESPONSE, REMISSION, EXPECTED, MEDIAN, INFUSIONS = (
    "Baseline", "Response line (50% below baseline; pain 30%)", "Remission cut-off",
    "Expected for similar patients (middle half)", "Expected median of similar patients",
    "Infusion (hover for dose, BP, CADSS)")
LOOK = {RESPONSE: (theme.RESPONSE_LINE, "stroke", [2, 2]), REMISSION: (theme.REMISSION_LINE, "stroke", [6, 4]),
        EXPECTED: (theme.EXPECTED_FILL, "square", [1, 0]), MEDIAN: (theme.EXPECTED_LINE, "stroke", [5, 3]),
        INFUSIONS: (INFUSION_COLOUR, "triangle-up", [1, 0])}


def _number(value, digits: int = 0) -> str:
    if value is None or pd.isna(value):
        return "not recorded"
    return f"{float(value):.{digits}f}"


def _bp(sys, dia) -> str:
    if (sys is None or pd.isna(sys)) and (dia is None or pd.isna(dia)):
        return "not recorded"
    return f"{_number(sys)}/{_number(dia)}".replace("not recorded", "?")


def _text(value) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def infusion_hover(sessions: pd.DataFrame) -> list[dict]:
    """One tooltip per infusion in clinical words: number and date (its heading), route, dose in
    mg/kg (and mg), BP before and at peak (flagged when an excursion), CADSS, side effects,
    adverse event (when there was one). Plain text: the tooltip escapes it."""
    tips = []
    for row in sessions.itertuples():
        dose = f"{_number(row.dose_mg_per_kg, 2)} mg/kg" if not pd.isna(row.dose_mg_per_kg) else "mg/kg not known"
        if not pd.isna(row.dose_mg):
            dose += f" ({_number(row.dose_mg, 1)} mg)"
        excursion = " - BP excursion" if bool(row.bp_excursion) else ""
        tip = {"title": f"Infusion {int(row.session_number)}, {when(row.started_at, with_time=True)}",
               "Route": ROUTE_WORDS.get(row.route, _text(row.route)), "Dose": dose,
               "BP": f"before {_bp(row.bp_pre_sys, row.bp_pre_dia)}, peak {_bp(row.bp_peak_sys, row.bp_peak_dia)} "
                     f"mmHg{excursion}",
               "CADSS (dissociation)": _number(row.cadss_total),
               "Side effects": _text(row.side_effects) or "none recorded"}
        if isinstance(row.adverse_event, str) and row.adverse_event:
            tip["Adverse event"] = row.adverse_event
        tips.append(tip)
    return tips


def _score_hover(scores: pd.DataFrame) -> list[dict]:
    tips = []
    for row in scores.itertuples():
        moment = "baseline" if bool(row.is_baseline) else f"before infusion {int(row.k)}"
        notes = " (prorated)" if bool(row.prorated) else ""
        tips.append({"title": f"{theme.scale_name(row.instrument)} {int(row.total)} ({_text(row.severity)}){notes}",
                     "Taken": f"{when(row.administered_at, with_time=True)}, {moment}"})
    return tips


def _scale_rows(scales: pd.DataFrame, scale_order: tuple[str, ...] = SCALE_ORDER) -> list:
    """The scales with at least one valid score, in panel order (`scale_order`: the patient's,
    `instruments.scale_order`, else the registry's page order)."""
    with_scores = scales[scales["n_scores"] > 0]
    order = {code: i for i, code in enumerate(scale_order)}
    return sorted(with_scores.itertuples(), key=lambda row: (order.get(row.instrument, len(order)), row.instrument))


def _kind(label: str) -> str:
    """The kind of a legend entry (with one panel, a line's entry is its rule in words)."""
    return RESPONSE if label.startswith("Response") else REMISSION if label.startswith("Remission") else label


def _expected_x(expected: pd.DataFrame, sessions: pd.DataFrame, x_axis: str) -> pd.Series:
    """x of each expected row: k, or the date of the patient's infusion k (NaT if not reached)."""
    if x_axis == "infusion":
        return expected["k"]
    dates = dict(zip(sessions["session_number"], sessions["started_at"]))
    return expected["k"].map(lambda k: dates.get(k, pd.NaT))


def _ticks(total_max: float) -> list[int]:
    """y ticks from 0 to the scale's maximum (none in the infusion strip below 0)."""
    step = 1 if total_max <= 5 else 2 if total_max <= 12 else 5 if total_max <= 40 else 10
    return list(range(0, int(total_max) + 1, step))


def trajectory_figure(scores: pd.DataFrame, sessions: pd.DataFrame, scales: pd.DataFrame, bands: pd.DataFrame,
                      expected: pd.DataFrame | None = None, x_axis: str = "infusion",
                      panel_height: int = 230, scale_order: tuple[str, ...] = SCALE_ORDER) -> dict | None:
    """One panel per scale with scores (module docstring), x by infusion number or date: a
    Vega-Lite specification, or None when no scale has a score (the page says so in words).

    Inputs: `scores` = patient_scores, `sessions` = patient_sessions, `scales` = scale_status
    (baseline and the scale's rules), `bands` = scale_bands, `expected` = patient_expected
    frames of the scales concatenated (may be empty or None). `panel_height` is each panel's
    plot height in pixels. Each panel (in `vconcat`) is named by its scale and each of its
    layers '<scale> <what>' ('bands', 'band labels', 'expected', 'expected median', 'response',
    'remission', 'scores', 'score points', 'baseline', 'infusions'), so a reader (and the tests)
    find every mark by name.
    """
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {X_AXES}, not {x_axis!r}")
    panels = _scale_rows(scales, scale_order)
    if not panels or scores.empty:
        return None
    if expected is None:
        expected = pd.DataFrame(columns=["instrument", "k", "expected_score_p25"])
    single = len(panels) == 1
    x = _x_encoding(scores, sessions, expected, x_axis)
    infusions = pd.DataFrame({"x": sessions["session_number"] if x_axis == "infusion" else sessions["started_at"],
                              "excursion": sessions["bp_excursion"].astype(bool),
                              "hover": infusion_hover(sessions)})
    infusions["colour"] = infusions["excursion"].map({True: EXCURSION_COLOUR, False: INFUSION_COLOUR})
    looks = {BASELINE: (theme.scale_colour(panels[0].instrument), "diamond", [1, 0]), **LOOK}
    views, tags, legend = [], [], {}
    for index, row in enumerate(panels):
        layers = _panel_layers(row, scores, sessions, bands, expected, infusions, x_axis, single)
        axis = ({"title": X_TITLES[x_axis]} if index == len(panels) - 1
                else {"title": None, "labels": False, "ticks": False})
        for layer, _ in layers:
            if "field" in layer["encoding"].get("x", {}):
                layer["encoding"]["x"] = {**layer["encoding"]["x"], **x, "axis": {**x.get("axis", {}), **axis}}
        for _, (label, kind) in layers:
            if label is not None:
                legend.setdefault(label, looks[kind])
        views.append({"name": row.instrument, "title": theme.scale_name(row.instrument), "height": panel_height,
                      "layer": [layer for layer, _ in layers]})
        tags.append([tag for _, tag in layers])
    order = [BASELINE, RESPONSE, REMISSION, EXPECTED, MEDIAN, INFUSIONS]
    legend = dict(sorted(legend.items(), key=lambda item: order.index(_kind(item[0]))))
    _legend_channels(views, tags, legend)
    scale_names = ", ".join(theme.scale_name(row.instrument) for row in panels)
    description = (f"Scores by {'infusion number' if x_axis == 'infusion' else 'date'}, one panel per scale "
                   f"({scale_names}), with severity bands, response and remission lines, the clinic's expected "
                   f"course for similar patients and every infusion.")
    # Streamlit sets each panel's width to the page's; "fit-x" keeps the axes and labels inside it
    return chart({"vconcat": views, "spacing": 28, "autosize": {"type": "fit-x", "contains": "padding"},
                  "resolve": {"scale": {"x": "shared", "y": "independent", "color": "shared", "shape": "shared",
                                        "strokeDash": "shared"}}}, description)


def _x_encoding(scores, sessions, expected, x_axis) -> dict:
    """The shared x: infusion numbers with whole-number ticks, half an infusion of room either
    side of every score, infusion and expected point; or time."""
    if x_axis == "date":
        # Room for the first and last markers; dates as a clinic writes them ("14 Oct"), where
        # Vega's default labels the weeks of a course by weekday ("Thu 14").
        return {"type": "temporal", "scale": {"padding": 14}, "axis": {"format": "%-d %b", "labelOverlap": True}}
    values = [*scores["k"].tolist(), *sessions["session_number"].tolist()]
    if len(expected):
        values += expected.loc[expected["expected_score_p25"].notna(), "k"].tolist()
    low, high = min(values), max(values)
    return {"type": "quantitative", "scale": {"domain": [low - 0.5, high + 0.5], "nice": False, "zero": False},
            "axis": {"tickMinStep": 1, "format": "d"}}


def _legend_channels(views: list, tags: list, legend: dict) -> None:
    """One legend entry per kind of mark, shared by the panels: every layer that has an entry
    gets the `kind` field's colour (and symbol for points, dash for lines) from one shared
    scale each, whose domain is the entries in order, so the panels' legends merge."""
    domain = list(legend)
    # each entry's symbol drawn as its marks are: filled (baseline, band, infusions) or a line
    fills = {label: look[0] for label, look in legend.items() if look[1] != "stroke"}
    fill = " : ".join([*(f"datum.value === {json.dumps(label)} ? {json.dumps(colour)}"
                         for label, colour in fills.items()), "'transparent'"])
    symbols = {"update": {"fill": {"signal": fill}, "fillOpacity": {"value": 1}}}

    def channel(position: int) -> dict:
        return {"field": "kind", "type": "nominal",
                "legend": {"title": None, "orient": "top", "columns": 2, "symbolStrokeWidth": 2, "symbolSize": 120,
                           "encode": {"symbols": symbols}},
                "scale": {"domain": domain, "range": [legend[label][position] for label in domain]}}

    for view, view_tags in zip(views, tags):
        for layer, tag in zip(view["layer"], view_tags):
            if tag[0] is None:
                continue
            layer["data"] = {"values": [{**value, "kind": tag[0]} for value in layer["data"]["values"]]}
            encoding = layer["encoding"]
            if "fill" not in encoding:  # the baseline and infusions: fill is the scale's, or BP's, colour
                encoding["color"] = channel(0)
            if layer["mark"]["type"] == "point":
                encoding["shape"] = channel(1)
            if layer["mark"]["type"] in ("rule", "line"):
                encoding["strokeDash"] = channel(2)


def _panel_layers(row, scores, sessions, bands, expected, infusions, x_axis, single) -> list[tuple[dict, tuple]]:
    """The layers of one scale's panel, back to front, each with its legend tag (the entry's
    label and its kind, or (None, None) for marks not in the legend)."""
    scale, total_max = row.instrument, float(row.total_max)
    strip = -0.07 * total_max  # infusion markers sit in a strip below 0
    y_scale = {"domain": [strip * 1.8, total_max + 0.5], "nice": False, "zero": False}
    y = {"type": "quantitative", "scale": y_scale, "axis": {"title": "score", "values": _ticks(total_max)}}
    none = (None, None)

    def layer(what: str, mark: dict, values: list, encoding: dict) -> dict:
        if values and "hover" in values[0]:  # the tooltip: each mark's own `hover` object
            # (a line's on its points: the line itself is one mark for all of them)
            mark = ({**mark, "point": {**mark["point"], "tooltip": TOOLTIP}} if "point" in mark
                    else {**mark, "tooltip": TOOLTIP})
        return {"name": f"{scale} {what}", "mark": mark, "data": {"values": values}, "encoding": encoding}

    shown = bands[bands["instrument"] == scale].sort_values("band_order").reset_index(drop=True)
    band_rows = pd.DataFrame({
        "label": shown["label"].astype(str), "low": (shown["low"] - 0.5).clip(lower=0),
        "high": (shown["high"] + 0.5).clip(upper=total_max),
        "fill": [theme.BAND_FILLS[min(i, len(theme.BAND_FILLS) - 1)] for i in range(len(shown))]})
    layers = [
        (layer("bands", {"type": "rect"}, records(band_rows), {
            "y": {"field": "low", **y}, "y2": {"field": "high"},
            "fill": {"field": "fill", "type": "nominal", "scale": None}}), none),
        (layer("band labels", {"type": "text", "align": "right", "baseline": "top", "dx": -4, "dy": 2,
                               "fontSize": 11, "color": LABEL_COLOUR},
               records(band_rows), {"x": {"value": "width"}, "y": {"field": "high", **y},
                                    "text": {"field": "label"}}), none),
    ]
    layers += _expected_layers(expected[expected["instrument"] == scale], sessions, x_axis, y, layer)

    baseline = row.baseline_score
    if baseline is not None and not pd.isna(baseline) and baseline > 0:
        level = float(baseline) * (1 - float(row.response_drop_pct) / 100)
        rule = f"Response: at or below {level:g} ({int(row.response_drop_pct)}% below baseline {int(baseline)})"
        layers.append((layer("response", {"type": "rule", "strokeWidth": 2},
                             [{"y": level, "hover": {"title": rule}}],
                             {"y": {"field": "y", **y}}),
                       (rule if single else RESPONSE, RESPONSE)))
    if row.remission_below is not None and not pd.isna(row.remission_below):
        rule = f"Remission: below {int(row.remission_below)}"
        if row.remission_min_drop is not None and not pd.isna(row.remission_min_drop):
            rule += f" with a drop of {int(row.remission_min_drop)} or more"
        layers.append((layer("remission", {"type": "rule", "strokeWidth": 2},
                             [{"y": float(row.remission_below), "hover": {"title": rule}}],
                             {"y": {"field": "y", **y}}),
                       (rule if single else REMISSION, REMISSION)))

    shown = scores[scores["instrument"] == scale]
    points = pd.DataFrame({"x": shown["k"] if x_axis == "infusion" else shown["administered_at"],
                           "y": shown["total"], "baseline": shown["is_baseline"].astype(bool),
                           "hover": _score_hover(shown)})
    colour = theme.scale_colour(scale)
    xy = {"x": {"field": "x"}, "y": {"field": "y", **y}}
    layers += [
        (layer("scores", {"type": "line", "color": colour, "strokeWidth": 3}, records(points, ["x", "y"]), xy),
         none),
        (layer("score points", {"type": "point", "filled": True, "size": 80, "color": colour, "opacity": 1},
               records(points, ["x", "y", "hover"]), xy), none),
    ]
    if points["baseline"].any():
        layers.append((layer("baseline", {"type": "point", "filled": True, "size": 220, "opacity": 1,
                                          "stroke": theme.BLACK, "strokeWidth": 1.5},
                             records(points[points["baseline"]], ["x", "y", "hover"]),
                             {**xy, "fill": {"value": colour}, "stroke": {"value": theme.BLACK},
                              }), (BASELINE, BASELINE)))
    if len(infusions):
        layers.append((layer("infusions", {"type": "point", "filled": True, "size": 130, "opacity": 1},
                             records(infusions.assign(y=strip), ["x", "y", "colour", "hover"]),
                             {**xy, "fill": {"field": "colour", "type": "nominal", "scale": None},
                              }), (INFUSIONS, INFUSIONS)))
    return layers


def _expected_layers(expected, sessions, x_axis, y, layer) -> list:
    """The grey band between the expected scores at the 25th and 75th percentiles of
    improvement, and the dashed median (patient_expected: baseline x (1 + percent / 100))."""
    if expected.empty or not expected["expected_score_p25"].notna().any():
        return []
    rows = expected.assign(x=_expected_x(expected, sessions, x_axis))
    rows = rows[rows["x"].notna() & rows["expected_score_p25"].notna()].sort_values("k")
    if rows.empty:
        return []
    band = pd.DataFrame({
        "x": rows["x"], "low": rows["expected_score_p75"], "high": rows["expected_score_p25"],
        "median": rows["expected_score_p50"],
        "hover": [{"title": f"Infusion {int(r.k)}: expected for similar patients",
                   "Middle half": f"{r.expected_score_p75:.0f}-{r.expected_score_p25:.0f}",
                   "Median": f"{r.expected_score_p50:.0f}", "Patients": _number(r.n_patients)}
                  for r in rows.itertuples()]})
    return [
        # from the more improved 75th percentile of improvement (the lower score) up to the 25th
        (layer("expected", {"type": "area", "line": False}, records(band, ["x", "low", "high"]),
               {"x": {"field": "x"}, "y": {"field": "low", **y}, "y2": {"field": "high"}}), (EXPECTED, EXPECTED)),
        # the median's points are invisible: they carry each infusion's tooltip
        (layer("expected median", {"type": "line", "strokeWidth": 1.5,
                                   "point": {"filled": True, "size": 90, "opacity": 0}},
               records(band, ["x", "median", "hover"]),
               {"x": {"field": "x"}, "y": {"field": "median", **y}}),
         (MEDIAN, MEDIAN)),
    ]
