"""The Clinic outcomes page's course figures as Vega-Lite specifications: the course by infusion
(the figure the page opens on: the cohort's mean score with its 95% interval, one line per group
when compared) and the time to response (Kaplan-Meier, the Time to response tab's first figure).

Why Vega-Lite and not Plotly like the page's other figures (`clinic`, `treatment`): the first
Plotly figure a browser tab draws makes Streamlit load its 4.7 MB Plotly script, which cost a new
session of this page about half a second at 20,000 patients, and moving to it within a session
half its time (docs/scaling.md, "Vega-Lite for Clinic outcomes' first figure"); Streamlit's
Vega-Lite code is about 0.8 MB. `vega` holds the look and the inline data the Vega-Lite charts
share.

Like every chart builder: frames in (the published answers of `pipelines.reports.clinic`, small
cells already suppressed), a specification dict out; no database, no Streamlit, no statistics.
A suppressed row is left out, so no number is drawn that the published frame blanked. Hover
texts are plain text (Streamlit's tooltip handler escapes them), so values are not HTML-escaped.
"""

from __future__ import annotations

import pandas as pd

from pipelines.palette import transparent

from .. import theme
from . import vega
from .published import interval_text as _interval_text
from .published import pct as _pct
from .published import readable as _readable
from .published import shown as _shown

# the chart's height in pixels, title, legend and axes included (Streamlit fits the chart into it):
# the Plotly figures' height (`base.layout`)
HEIGHT = 420
BAND_OPACITY = 0.18  # the Plotly charts' interval bands (`base.interval_band`)


def trajectory_chart(frame: pd.DataFrame, scale: str, group_by: str | None = None,
                     group_label: str | None = None) -> dict:
    """Mean score at each infusion (`reports.clinic.trajectory`, from `trajectories.by_infusion`)
    with its 95% t interval as a shaded band, one line per group of `group_by` (named in the
    tooltip as `group_label`, default the column's name), or one line in the scale's colour
    without grouping. The x axis is the infusion the score was taken before (1 = baseline),
    then maintenance.

    Groups take `theme.SERIES` colours in the order of their sorted values, as the Plotly chart
    did, and the legend names them in words (the scale's name for a single line, as before)."""
    # The axis is categorical (infusions 1..n, then maintenance): its order comes from every row,
    # suppressed ones too, so a group whose 5th-infusion point is blanked cannot put 6 and 7
    # before 5 (seen in the Plotly version, issue 16).
    order = [_point_label(label) for label in frame.sort_values("infusion")["label"].drop_duplicates()]
    shown = _shown(frame)
    if group_by:
        # the groups in the Plotly chart's order (pandas' sorted groups, a missing value last)
        keys = [key for key, _ in shown.groupby(group_by, sort=True, dropna=False)]
        names = [_readable(key) for key in keys]
        colours = [theme.SERIES[index % len(theme.SERIES)] for index in range(len(keys))]
        series = pd.Series([_readable(key) for key in shown[group_by]], index=shown.index, dtype=object)
    else:
        names, colours = [theme.scale_name(scale)], [theme.scale_colour(scale)]
        series = pd.Series(names[0], index=shown.index, dtype=object)
    data = pd.DataFrame({
        "series": series,
        "infusion": shown["infusion"],
        "point": [_point_label(label) for label in shown["label"]],
        "mean": shown["mean"].astype(float).round(2),
        "mean_low": shown["mean_low"].astype(float).round(2),
        "mean_high": shown["mean_high"].astype(float).round(2),
        "n": shown["n"],
    }).sort_values(["series", "infusion"])
    data["mean_text"] = [f"{mean:.1f} ({_interval_text(low, high, 1)})"
                         for mean, low, high in zip(data["mean"], data["mean_low"], data["mean_high"])]
    data = data.drop(columns="infusion")

    x = {"field": "point", "type": "ordinal", "sort": order, "scale": {"domain": order},
         "title": "Score taken before infusion",
         # the axis title says "before infusion", so each label is the infusion's number (every
         # one fits upright; the tooltip says "before infusion 3")
         "axis": {"labelAngle": 0, "labelExpr": "replace(datum.label, 'before infusion ', '')"}}
    colour = {"field": "series", "type": "nominal", "scale": {"domain": names, "range": colours},
              # the legend's symbols at full colour (not the band's pale fill)
              "legend": {"title": None, "symbolOpacity": 1, "symbolType": "circle"}}
    tooltip = [*([{"field": "series", "title": theme.sentence(group_label or group_by)}] if group_by else []),
               {"field": "point", "title": "Score taken"},
               {"field": "mean_text", "title": "Mean score (95% CI)"},
               {"field": "n", "type": "quantitative", "title": "Patients"}]
    # a score's axis from 0 (no symptoms), so change is not magnified
    y = {"field": "mean", "type": "quantitative", "title": "Mean score (95% interval)", "scale": {"zero": True}}
    # A missing value breaks a line or band (as Plotly did) rather than joining its neighbours.
    path = {"invalid": "break-paths-filter-domains"}
    body = {
        "title": f"{theme.scale_name(scale)} by infusion",
        "height": HEIGHT,
        "data": {"values": vega.records(data)},
        "encoding": {"x": x, "color": colour},
        "layer": [
            {"mark": {"type": "area", "opacity": BAND_OPACITY, **path},
             "encoding": {"y": {**y, "field": "mean_low"}, "y2": {"field": "mean_high"}}},
            {"mark": {"type": "line", "strokeWidth": 3, **path}, "encoding": {"y": y}},
            {"mark": {"type": "point", "filled": True, "opacity": 1, "size": 80},
             "encoding": {"y": y, "tooltip": tooltip}},
        ],
    }
    compared = f", one line per {group_label or group_by} ({', '.join(names)})" if group_by else ""
    description = (f"Mean {theme.scale_name(scale)} score before each infusion with its 95% interval{compared}, "
                   f"from {order[0] if order else 'no infusion'} to {order[-1] if order else 'none'}.")
    return vega.chart(body, description)


def _point_label(label: str) -> str:
    """A trajectory point in words: "before infusion 3", or "maintenance"."""
    return "maintenance" if label == "maintenance" else f"before infusion {label}"


# --- Time to response --------------------------------------------------------------------------

KM_LINE = "Responded (Kaplan-Meier)"
KM_BAND = "95% interval"
# What the time-to-response charts share (this one and `competing`'s): days on x, percentages of
# patients on y, step curves (each estimate holds until the next event: Plotly's "hv").
DAYS_X = {"field": "time", "type": "quantitative", "title": "Days since the first infusion"}
STEP = {"interpolate": "step-after"}


def percent_y(title: str) -> dict:
    """A y axis of patients' percentages, 0 to 100."""
    return {"type": "quantitative", "title": title, "scale": {"domain": [0, 100]},
            "axis": {"labelExpr": "datum.value + '%'"}}


def nearest_day_hover(name: str, y: dict, tooltip: list[dict]) -> dict:
    """An invisible layer whose tooltip (the day, then `tooltip`) shows the nearest day's
    estimates from anywhere over the plot: a step line has no points of its own to point at.
    `name` must be unique within the chart."""
    return {"mark": {"type": "point", "opacity": 0},
            "params": [{"name": name, "select": {"type": "point", "nearest": True, "on": "pointerover",
                                                 "clear": "pointerout"}}],
            "encoding": {"x": DAYS_X, "y": y,
                         "tooltip": [{"field": "time", "type": "quantitative", "title": "Day"}, *tooltip]}}


def time_to_response_chart(curve: pd.DataFrame, summary: pd.DataFrame, scale: str) -> dict:
    """Kaplan-Meier share of patients who have responded by each day (1 - S(t) from
    `survival.time_to_response`, as published: `reports.course.time_to_response` thins the curve
    where fewer than 11 are followed), a step curve with its 95% pointwise band, 50% as a dotted
    line, and the median time to response as a dashed vertical line, with its interval in words
    at the bottom right (or "not reached")."""
    colour = theme.scale_colour(scale)
    data = pd.DataFrame({
        "time": curve["time"],
        "responded": [round(_pct(v), 2) for v in curve["responded"]],
        "low": [round(_pct(v), 2) for v in curve["responded_low"]],
        "high": [round(_pct(v), 2) for v in curve["responded_high"]],
        "at_risk": curve["at_risk"],
    })
    data["responded_text"] = [f"{_pct(r):.0f}% (95% CI {_pct(lo):.0f}% to {_pct(hi):.0f}%)"
                              for r, lo, hi in zip(curve["responded"], curve["responded_low"],
                                                   curve["responded_high"])]
    x, y = DAYS_X, percent_y("Patients responded")
    # The two legend entries share one colour scale: the curve in the scale's colour, the band pale.
    legend = {"scale": {"domain": [KM_LINE, KM_BAND], "range": [colour, transparent(colour, 0.18)]},
              "legend": {"title": None, "symbolType": "square"}}
    layers = [
        {"mark": {"type": "area", **STEP},
         "encoding": {"x": x, "y": {**y, "field": "low"}, "y2": {"field": "high"},
                      "color": {"datum": KM_BAND, **legend}}},
        {"mark": {"type": "line", "strokeWidth": 3, **STEP},
         "encoding": {"x": x, "y": {**y, "field": "responded"}, "color": {"datum": KM_LINE, **legend}}},
        nearest_day_hover("day", {**y, "field": "responded"},
                          [{"field": "responded_text", "title": "Responded"},
                           {"field": "at_risk", "type": "quantitative", "title": "Patients still followed"}]),
    ]
    if len(summary):
        text, median = _median_text(summary.iloc[0])
        layers.append({"mark": {"type": "rule", "color": theme.EXPECTED_LINE, "strokeDash": [2, 3], "strokeWidth": 1},
                       "data": {"values": [{"y": 50}]},
                       "encoding": {"y": {"field": "y", "type": "quantitative"}}})
        if median is not None:
            layers.append({"mark": {"type": "rule", "color": theme.BLACK, "strokeDash": [6, 4], "strokeWidth": 1},
                           "data": {"values": [{"median_days": median}]},
                           "encoding": {"x": {"field": "median_days", "type": "quantitative"}}})
        layers.append({"mark": {"type": "text", "align": "right", "baseline": "bottom", "dx": -4, "dy": -4,
                                "fontSize": theme.FONT_SIZE, "color": theme.BLACK},
                       "data": {"values": [{"text": text}]},
                       "encoding": {"text": {"field": "text"}, "x": {"value": "width"}, "y": {"value": "height"}}})
    else:
        text = "no patient to follow"
    body = {"title": f"Time to response, {theme.scale_name(scale)}", "height": HEIGHT,
            "data": {"values": vega.records(data)}, "layer": layers}
    description = (f"Share of patients who have responded on {theme.scale_name(scale)} by each day since the first "
                   f"infusion (Kaplan-Meier, with its 95% interval): {text}.")
    return vega.chart(body, description)


def _median_text(row: pd.Series) -> tuple[str, float | None]:
    """The median time to response in words, and the day to draw it at (None when not reached)."""
    if pd.isna(row["median_days"]) and (pd.isna(row["events"]) or pd.isna(row["n"])):
        return "median not reached", None
    if pd.isna(row["median_days"]):
        return f"median not reached ({int(row['events'])} of {int(row['n'])} responded)", None
    high = "not reached" if pd.isna(row["median_high"]) else f"{row['median_high']:.0f}"
    low = "?" if pd.isna(row["median_low"]) else f"{row['median_low']:.0f}"
    return f"median {row['median_days']:.0f} days (95% CI {low} to {high})", float(row["median_days"])
