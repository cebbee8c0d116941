"""Charts of the Worklist and Data quality pages: pure functions DataFrame -> Plotly figure.

Inputs are the frames of `pipelines.analytics.worklist`, `pipelines.analytics.ingest_log` and
`pipelines.analytics.coverage`. The worklist reasons' labels (REASON_LABELS, most urgent first)
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

# ingest_runs counts, in the order rows in splits into them.
RUN_OUTCOMES = {"inserted": "Inserted (new)", "updated": "Updated (new values)",
                "unchanged": "Unchanged (identical or repeated)", "quarantined": "Quarantined"}


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


def ingest_runs_chart(runs: pd.DataFrame, height: int = 320) -> go.Figure:
    """Stacked bars per ingest run: what happened to the rows read.

    Parameters
    ----------
    runs : pandas.DataFrame
        `ingest_log.ingest_runs`' answer.
    height : int
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Inserted, updated, unchanged and quarantined rows per run, oldest run first; a message
        before the first run.
    """
    if runs.empty:
        return message_figure("No ingest run yet.")
    ordered = runs.sort_values("run_id")
    runs_axis = [f"Run {run}" for run in ordered["run_id"]]
    figure = go.Figure()
    for (column, label), colour in zip(RUN_OUTCOMES.items(), (theme.BLUE, theme.ORANGE, theme.SKY_BLUE, theme.ALERT)):
        figure.add_trace(go.Bar(
            x=runs_axis, y=ordered[column], name=label, marker_color=colour,
            hovertemplate=f"%{{x}}: %{{y:,}} rows {label.split(' (')[0].lower()}<extra></extra>",
        ))
    figure.update_layout(barmode="stack")
    return layout(figure, y="Rows read", height=height)


def quarantine_rules_chart(by_rule: pd.DataFrame, height: int | None = None) -> go.Figure:
    """Horizontal bars: quarantined rows per rule, the rule's meaning in the hover.

    Parameters
    ----------
    by_rule : pandas.DataFrame
        `ingest_log.quarantine_by_rule`' answer.
    height : int, optional
        Figure height in pixels (by default, enough for every rule).

    Returns
    -------
    plotly.graph_objects.Figure
        Most frequent rule at the top; a message when no row was quarantined.
    """
    if by_rule.empty:
        return message_figure("No row has been quarantined.")
    figure = go.Figure(go.Bar(
        x=by_rule["n_rows"], y=by_rule["rule"].str.replace("_", " "), orientation="h",
        marker_color=theme.ALERT, text=by_rule["n_rows"], textposition="auto",
        customdata=by_rule[["description"]], hovertemplate="%{y} (%{customdata[0]}): %{x} rows<extra></extra>",
    ))
    figure.update_yaxes(autorange="reversed")
    return layout(figure, x="Quarantined rows", height=height or max(240, 40 + 28 * len(by_rule)))


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
