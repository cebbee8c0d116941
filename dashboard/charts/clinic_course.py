"""The Clinic outcomes page's course figure (the figure the page opens on) as a Vega-Lite
specification: the cohort's mean score by infusion, with its 95% interval, one line per group
when compared.

Why Vega-Lite and not Plotly like the page's other figures (`clinic`, `treatment`): the first
Plotly figure a browser tab draws makes Streamlit load its 4.7 MB Plotly script, which cost a new
session of this page most of a second (docs/scaling.md, "Vega-Lite for Clinic outcomes' first
figure"); Vega-Lite's script is a fifth of that. `vega` holds the look and the inline data the
Vega-Lite charts share.

Like every chart builder: frames in (the published answers of `pipelines.reports.clinic`, small
cells already suppressed), a specification dict out; no database, no Streamlit, no statistics.
A suppressed row is left out, so no number is drawn that the published frame blanked. Hover
texts are plain text (Streamlit's tooltip handler escapes them), so values are not HTML-escaped.
"""

from __future__ import annotations

import pandas as pd

from .. import theme
from . import vega
from .published import interval_text as _interval_text
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
