"""What every Vega-Lite chart shares: the look, and data as inline JSON records.

Why Vega-Lite for the charts a page opens on: Streamlit loads a chart library's script the first
time a tab draws a chart of that kind, and its Plotly script is 4.7 MB against Vega-Lite's
0.8 MB. In headless Chromium a new session of a page whose first view holds one Plotly figure
took 0.9 s longer than the same page with no chart; with a Vega-Lite chart of the same panels
0.2 s longer (7 runs each, 7 December 2026). A new session is how a clinician opens the Patient
page from a link, so the figures a page opens on are Vega-Lite specifications.

The builders stay pure (frames in, a specification dict out) and the page hands the dict to
`st.vega_lite_chart`. Data is always inline (`{"values": [...]}`), never a `url`: the dashboard
makes no request outside its own server.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from .. import theme

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier only: never fetched

# The common look (the Plotly charts' `base.layout`): readable type, legend above the plot.
CONFIG = {
    "font": "Source Sans Pro, sans-serif",
    "axis": {"labelFontSize": theme.FONT_SIZE - 1, "titleFontSize": theme.FONT_SIZE, "titleFontWeight": "normal",
             "gridColor": "#EEEEEE"},
    "legend": {"orient": "top", "labelFontSize": theme.FONT_SIZE - 1, "titleFontSize": theme.FONT_SIZE,
               "labelLimit": 400},
    "header": {"labelFontSize": theme.FONT_SIZE, "titleFontSize": theme.FONT_SIZE},
    "title": {"fontSize": theme.FONT_SIZE + 1, "anchor": "start", "fontWeight": "bold"},
    "view": {"stroke": None},
}


def chart(body: dict, description: str) -> dict:
    """A complete specification: `body` (layers, panels, encodings) with the common config.
    `description` says in words what the chart shows (Vega-Lite puts it on the chart as its
    accessible description)."""
    return {"$schema": SCHEMA, "description": description, "config": CONFIG, **body}


def json_value(value):
    """One value as JSON: timestamps as ISO 8601 text (Vega-Lite parses them as dates), missing
    (None, NaN, NaT, <NA>) as null, numpy scalars as Python numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, np.datetime64)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    """`frame` (its `columns`, default all) as inline Vega-Lite data: a list of JSON records."""
    frame = frame if columns is None else frame[columns]
    names = list(frame.columns)
    return [{name: json_value(value) for name, value in zip(names, row)}
            for row in frame.itertuples(index=False, name=None)]
