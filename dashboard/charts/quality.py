"""Charts of the Worklist and Data quality pages: pure functions DataFrame -> Plotly figure.

Inputs are the frames of `pipelines.analytics.worklist` and `pipelines.analytics.coverage` (the
ingest runs and quarantine charts, which the Data quality page opens on, are Vega-Lite
specifications in `charts/ingest.py`). The worklist reasons' labels (REASON_LABELS, most urgent first)
and which of them are safety signals (SAFETY_REASONS, drawn in the alert colour, the measurement
gaps in a calm one) are the worklist's own (`pipelines.analytics.worklist.REASONS`), so the page,
its filters, its charts and the patient summary read the same; the baseline-gap labels live here.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from pipelines.analytics.worklist import REASON_LABELS, SAFETY_REASONS

from .. import theme
from .base import layout, message_figure

# Why a patient has no baseline (pipelines.analytics.coverage.BASELINE_GAP_REASONS), short.
GAP_LABELS = {
    "only_incomplete": "Only incomplete scores in the window",
    "only_too_early": "Only scores too long before",
    "none_before_start": "No score before the first infusion",
    "never_recorded": "Never recorded",
}

def reason_counts(worklist: pd.DataFrame) -> pd.DataFrame:
    """Patients per worklist reason, in the worklist's order.

    Parameters
    ----------
    worklist : pandas.DataFrame
        The answer of `pipelines.analytics.worklist.worklist` (its boolean reason columns).

    Returns
    -------
    pandas.DataFrame
        One row per reason (REASON_LABELS' order): `reason`, `label`, `patients`. A patient
        counts under each of their reasons.
    """
    return pd.DataFrame({
        "reason": list(REASON_LABELS),
        "label": list(REASON_LABELS.values()),
        "patients": [int(worklist[column].sum()) if column in worklist else 0 for column in REASON_LABELS],
    })


def worklist_reasons_chart(counts: pd.DataFrame, height: int = 320) -> go.Figure:
    """Horizontal bars: patients per reason, most urgent at the top.

    Parameters
    ----------
    counts : pandas.DataFrame
        `reason_counts`' answer.
    height : int
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Safety reasons (SAFETY_REASONS) in the alert colour; a message when nobody has a reason.
    """
    if counts.empty or counts["patients"].sum() == 0:
        return message_figure("Nobody needs attention for any reason.")
    colours = [theme.ALERT if reason in SAFETY_REASONS else theme.BLUE for reason in counts["reason"]]
    figure = go.Figure(go.Bar(
        x=counts["patients"], y=counts["label"], orientation="h", marker_color=colours,
        text=counts["patients"], textposition="auto",
        hovertemplate="%{y}: %{x} patients<extra></extra>",
    ))
    figure.update_yaxes(autorange="reversed")
    return layout(figure, x="Patients", height=height)


def completion_chart(completion: pd.DataFrame, scale: str = "PHQ-9", height: int = 360) -> go.Figure:
    """Bars per infusion number: the share of infusions with a valid score before it.

    Parameters
    ----------
    completion : pandas.DataFrame
        `coverage.completion_by_infusion`' answer (or an analyst's view of it).
    scale : str
        The scale the shares are of.
    height : int
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar per infusion number given, the counts in the hover; a message without infusions.
    """
    shown = completion[completion["n_infusions"] > 0]
    if shown.empty:
        return message_figure("No infusions to measure completion on.")
    name = theme.scale_name(scale)
    figure = go.Figure(go.Bar(
        x=shown["infusion"], y=100 * shown["share"].astype(float), marker_color=theme.scale_colour(scale),
        text=[f"{100 * share:.0f}%" for share in shown["share"]], textposition="auto",
        customdata=shown[["n_with_score", "n_infusions"]],
        hovertemplate=(f"Infusion %{{x}}: %{{customdata[0]:,}} of %{{customdata[1]:,}} infusions "
                       f"({'%{y:.1f}'}%) had a {name} before it<extra></extra>"),
    ))
    figure.update_xaxes(tickmode="linear", dtick=1)
    figure.update_yaxes(range=[0, 105], ticksuffix="%")
    return layout(figure, x="Infusion number", y=f"Infusions with a {scale} before", height=height)


def baseline_gaps_chart(coverage: pd.DataFrame, height: int = 300) -> go.Figure:
    """Stacked horizontal bars per scale: patients without a baseline, by reason.

    Parameters
    ----------
    coverage : pandas.DataFrame
        `coverage.baseline_coverage`' answer (or an analyst's view of it, counts as floats).
    height : int
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar per scale split by GAP_LABELS, the hover giving the share of the scale's
        patients; a message when everybody has a baseline.
    """
    without = coverage["n_without_baseline"] if not coverage.empty else pd.Series(dtype=float)
    if without.isna().any() and without.fillna(0).sum() == 0:  # blanked counts are not zeros
        return message_figure("On each scale, no patient or too few to show lack a baseline (small-cell "
                              "suppression): see the table.")
    if coverage.empty or coverage["n_without_baseline"].sum() == 0:
        return message_figure("Every patient has a baseline on every scale they were given.")
    scales = [theme.scale_name(code) for code in coverage["instrument"]]
    expected = coverage["n_with_baseline"] + coverage["n_without_baseline"]
    figure = go.Figure()
    for (reason, label), colour in zip(GAP_LABELS.items(), theme.SERIES):
        share = (100 * coverage[reason] / expected).round(1)
        figure.add_trace(go.Bar(
            x=coverage[reason], y=scales, orientation="h", name=label, marker_color=colour,
            customdata=share, hovertemplate=f"%{{y}}: %{{x}} patients ({'%{customdata}'}% of the scale's) - "
                                            f"{label.lower()}<extra></extra>",
        ))
    figure.update_layout(barmode="stack")
    figure.update_yaxes(autorange="reversed")
    return layout(figure, x="Patients without a baseline", height=height)
