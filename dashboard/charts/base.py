"""Layout and pieces shared by every chart builder."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from pipelines.palette import transparent

from .. import theme

# Set once: naming the template on every figure costs tens of milliseconds per chart.
pio.templates.default = "plotly_white"


def layout(figure: go.Figure, title: str | None = None, x: str | None = None, y: str | None = None,
           height: int = 420) -> go.Figure:
    """The common look: readable type, white background, legend above the plot, hover by x."""
    figure.update_layout(
        title=title, height=height, font={"size": theme.FONT_SIZE},
        margin={"l": 60, "r": 20, "t": 70 if title else 30, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"font_size": theme.FONT_SIZE},
    )
    if x:
        figure.update_xaxes(title_text=x)
    if y:
        figure.update_yaxes(title_text=y)
    return figure


def interval_band(figure: go.Figure, x, low, high, colour: str, name: str, legendgroup: str | None = None) -> None:
    """A shaded 95% interval between `low` and `high` (two traces: the lower edge, then the upper
    edge filled down to it)."""
    figure.add_trace(go.Scatter(x=list(x), y=list(low), mode="lines", line={"width": 0}, showlegend=False,
                                hoverinfo="skip", legendgroup=legendgroup or name))
    figure.add_trace(go.Scatter(x=list(x), y=list(high), mode="lines", line={"width": 0}, fill="tonexty",
                                fillcolor=transparent(colour, 0.18), name=f"{name} 95% interval",
                                showlegend=False, hoverinfo="skip", legendgroup=legendgroup or name))


def message_figure(message: str, height: int = 240) -> go.Figure:
    """An empty chart that says why it is empty (pages usually show st.info instead)."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, font={"size": theme.FONT_SIZE + 2})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return layout(figure, height=height)
