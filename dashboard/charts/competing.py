"""The time-to-response chart with stopping treatment as a competing event: the cumulative
incidence of response (Aalen-Johansen, `pipelines.reports.response_course`) drawn beside the
Kaplan-Meier estimate (`pipelines.reports.course.time_to_response`), and the share who stopped
without a response. A pure function from published frames to a Plotly figure, like the other
chart modules: no database, no Streamlit, no statistics.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import theme
from .base import interval_band, layout
from .published import pct as _pct


def cumulative_incidence_chart(km_curve: pd.DataFrame, cif_curve: pd.DataFrame, scale: str) -> go.Figure:
    """Three step curves over days since the first infusion: responded by Kaplan-Meier (dashed,
    stops censored), responded by cumulative incidence (solid, with its 95% band; stops
    competing) and stopped treatment without a response (cumulative incidence)."""
    colour = theme.scale_colour(scale)
    figure = go.Figure()
    if len(cif_curve):
        days = list(cif_curve["time"])
        interval_band(figure, days, [_pct(v) for v in cif_curve["responded_low"]],
                      [_pct(v) for v in cif_curve["responded_high"]], colour, "Responded (cumulative incidence)")
        for trace in figure.data[-2:]:
            trace.line.shape = "hv"
        hover = [f"Day {t}: {_pct(r):.0f}% responded (95% CI {_pct(lo):.0f}% to {_pct(hi):.0f}%), "
                 f"{_pct(s):.0f}% stopped without a response<br>{n} patients still followed"
                 for t, r, lo, hi, s, n in zip(days, cif_curve["responded"], cif_curve["responded_low"],
                                               cif_curve["responded_high"], cif_curve["stopped_share"],
                                               cif_curve["at_risk"])]
        figure.add_trace(go.Scatter(x=days, y=[_pct(v) for v in cif_curve["responded"]], mode="lines",
                                    line={"color": colour, "width": 3, "shape": "hv"},
                                    name="Responded (stopping counted)", hovertext=hover, hoverinfo="text"))
        figure.add_trace(go.Scatter(x=days, y=[_pct(v) for v in cif_curve["stopped_share"]], mode="lines",
                                    line={"color": theme.VERMILLION, "width": 2, "shape": "hv"},
                                    name="Stopped treatment without a response", hoverinfo="skip"))
    if len(km_curve):
        km_hover = [f"Day {t}: {_pct(r):.0f}% responded (Kaplan-Meier)" for t, r in
                    zip(km_curve["time"], km_curve["responded"])]
        figure.add_trace(go.Scatter(x=list(km_curve["time"]), y=[_pct(v) for v in km_curve["responded"]],
                                    mode="lines", line={"color": theme.BLACK, "width": 2, "dash": "dash",
                                                        "shape": "hv"},
                                    name="Responded (Kaplan-Meier: stopping ignored)", hovertext=km_hover,
                                    hoverinfo="text"))
    layout(figure, f"Time to response with stopping treatment, {theme.scale_name(scale)}",
           "Days since the first infusion", "Patients")
    # three long legend entries: below the plot, where they do not run into the title
    figure.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
                         margin={"b": 120}, height=480)
    figure.update_yaxes(range=[0, 100], ticksuffix="%")
    return figure
