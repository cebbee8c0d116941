"""The time-to-response chart with stopping treatment as a competing event: the cumulative
incidence of response (Aalen-Johansen, `pipelines.reports.response_course`) drawn beside the
Kaplan-Meier estimate (`pipelines.reports.course.time_to_response`), and the share who stopped
without a response. A pure function from published frames to a Vega-Lite specification, like
the other chart modules: no database, no Streamlit, no statistics.

Vega-Lite, not Plotly: it is drawn in the Time to response tab under the Kaplan-Meier chart
(`clinic_course`), and a Plotly figure there made the tab load Plotly's 4.7 MB script
(`vega` says why that matters).
"""

from __future__ import annotations

import pandas as pd

from pipelines.palette import transparent

from .. import theme
from . import vega
from .clinic_course import BAND_OPACITY, DAYS_X, HEIGHT, STEP, nearest_day_hover, percent_y
from .published import pct as _pct

CIF_LINE = "Responded (stopping counted)"
STOPPED_LINE = "Stopped treatment without a response"
KM_LINE = "Responded (Kaplan-Meier, dashed: stopping ignored)"


def cumulative_incidence_chart(km_curve: pd.DataFrame, cif_curve: pd.DataFrame, scale: str) -> dict:
    """Three step curves over days since the first infusion: responded by Kaplan-Meier (dashed,
    black; stops censored), responded by cumulative incidence (solid, the scale's colour, with its
    95% band; stops competing) and stopped treatment without a response (cumulative incidence,
    vermillion). Percentages of patients, 0 to 100."""
    colour = theme.scale_colour(scale)
    names = [CIF_LINE, STOPPED_LINE, KM_LINE]
    # One legend, of the colours (a legend's symbols cannot each have their own dash, so the
    # Kaplan-Meier entry says it is dashed); below the plot, where the long names fit.
    series = {"color": {"scale": {"domain": names, "range": [colour, theme.VERMILLION, theme.BLACK]},
                        "legend": {"title": None, "orient": "bottom", "direction": "vertical", "symbolType": "stroke",
                                   "symbolStrokeWidth": 3}},
              "strokeDash": {"scale": {"domain": names, "range": [[1, 0], [1, 0], [6, 4]]}, "legend": None}}

    def line(name: str) -> dict:
        return {"color": {"datum": name, **series["color"]}, "strokeDash": {"datum": name, **series["strokeDash"]}}

    x, y, step = DAYS_X, percent_y("Patients"), STEP
    layers = []
    if len(cif_curve):
        cif = pd.DataFrame({
            "time": cif_curve["time"],
            "responded": [round(_pct(v), 2) for v in cif_curve["responded"]],
            "low": [round(_pct(v), 2) for v in cif_curve["responded_low"]],
            "high": [round(_pct(v), 2) for v in cif_curve["responded_high"]],
            "stopped": [round(_pct(v), 2) for v in cif_curve["stopped_share"]],
            "at_risk": cif_curve["at_risk"],
        })
        cif["text"] = [f"{_pct(r):.0f}% responded (95% CI {_pct(lo):.0f}% to {_pct(hi):.0f}%), "
                       f"{_pct(s):.0f}% stopped without a response"
                       for r, lo, hi, s in zip(cif_curve["responded"], cif_curve["responded_low"],
                                               cif_curve["responded_high"], cif_curve["stopped_share"])]
        data = {"values": vega.records(cif)}
        layers += [
            {"data": data, "mark": {"type": "area", "color": transparent(colour, BAND_OPACITY), **step},
             "encoding": {"x": x, "y": {**y, "field": "low"}, "y2": {"field": "high"}}},
            {"data": data, "mark": {"type": "line", "strokeWidth": 3, **step},
             "encoding": {"x": x, "y": {**y, "field": "responded"}, **line(CIF_LINE)}},
            {"data": data, "mark": {"type": "line", "strokeWidth": 2, **step},
             "encoding": {"x": x, "y": {**y, "field": "stopped"}, **line(STOPPED_LINE)}},
            {"data": data, **nearest_day_hover("cif_day", {**y, "field": "responded"},
                                               [{"field": "text", "title": "Cumulative incidence"},
                                                {"field": "at_risk", "type": "quantitative",
                                                 "title": "Patients still followed"}])},
        ]
    if len(km_curve):
        km = pd.DataFrame({"time": km_curve["time"], "responded": [round(_pct(v), 2) for v in km_curve["responded"]]})
        km["text"] = [f"{_pct(r):.0f}% responded" for r in km_curve["responded"]]
        layers.append({"data": {"values": vega.records(km)}, "mark": {"type": "line", "strokeWidth": 2, **step},
                       "encoding": {"x": x, "y": {**y, "field": "responded"}, **line(KM_LINE),
                                    "tooltip": [{"field": "time", "type": "quantitative", "title": "Day"},
                                                {"field": "text", "title": "Kaplan-Meier"}]}})
    body = {"title": f"Time to response with stopping treatment, {theme.scale_name(scale)}",
            "height": HEIGHT, "layer": layers}
    if len(cif_curve):
        last = cif_curve.iloc[-1]
        summary = (f"by day {last['time']:.0f}, {_pct(last['responded']):.0f}% responded and "
                   f"{_pct(last['stopped_share']):.0f}% stopped treatment without a response")
    else:
        summary = "no cumulative incidence to show"
    description = (f"Share of patients who have responded on {theme.scale_name(scale)} by each day since the first "
                   f"infusion, counting stopping treatment as an outcome of its own (cumulative incidence, with "
                   f"its 95% interval), beside the Kaplan-Meier estimate that ignores stopping: {summary}.")
    return vega.chart(body, description)
