"""Charts of the director's Clinic outcomes page: pure functions from the published frames
(`pipelines.reports.clinic`, built on `pipelines.analytics`: `activity`, `change`, `outcomes`,
`trajectories`, `survival`) to Plotly figures: how patients' scores change (waterfall, severity
transitions) and how groups compare (funnel plot, start months). The figures the page and its
Time to response tab open on (the course by infusion, time to response) are Vega-Lite
specifications in `clinic_course`; the treatment's own charts (retention, infusions per
patient, safety, CADSS) are in `treatment`.
No database, no Streamlit, no statistics: every number arrives computed, the builders only
draw it in clinical words and the shared colours.

Rates arrive as proportions and are drawn as percentages. Every estimate is drawn with its 95%
interval (a shaded band or error bars), thresholds as lines.

Small cells arrive already suppressed (`pipelines.reports.suppression`): a blanked count is
<NA> and its rate NaN, and rows may carry `suppressed`. The builders leave such points out (or
say "suppressed" in the hover, `published`) and never compute a number the frame does not hold.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .. import theme

from .base import interval_band, layout
from ..suppressed import hover_text
from .published import count as _count
from .published import interval_text as _interval_text
from .published import pct as _pct
from .published import readable as _readable

OUTCOME_COLOURS = {"no response": theme.EXPECTED_LINE, "response": theme.RESPONSE_LINE,
                   "remission": theme.REMISSION_LINE}
OUTCOME_LABELS = {"no response": "No response", "response": "Response (not remission)",
                  "remission": "Remission"}
GROUP_LABELS = {"site": "site", "clinician": "clinician", "primary_indication": "primary indication",
                "route": "route", "sex": "sex", "age_band": "age band", "dose_band": "dose band",
                "start_month": "start month"}


# --- Waterfall ----------------------------------------------------------------------------------

def waterfall_chart(frame: pd.DataFrame, scale: str, min_cell: int | None = None) -> go.Figure:
    """Percent change from baseline per patient (`clinic.waterfall`), bars sorted from the largest
    rise to the largest fall and coloured by outcome; the response threshold as a horizontal line
    and the remission threshold as a line over the bars (remission is a score cut-off, so its
    percent depends on each bar's baseline). Aggregated bars (more patients than bars) say in the
    hover which ranks and how many patients they stand for."""
    figure = go.Figure()
    aggregated = bool((frame["n_patients"] > 1).any())
    for outcome in ("no response", "response", "remission"):
        part = frame[frame["outcome"] == outcome]
        if part.empty:
            continue
        if aggregated:
            hover = [f"Patients ranked {a} to {b} ({n}): median {p:+.1f}% (from {lo:+.1f}% to {hi:+.1f}%)<br>"
                     f"responded: {_count(r, min_cell)}, remitted: {_count(m, min_cell)}"
                     for a, b, n, p, lo, hi, r, m in zip(part["first_rank"], part["last_rank"], part["n_patients"],
                                                          part["pct_change"], part["lowest_pct_change"],
                                                          part["highest_pct_change"], part["n_response"],
                                                          part["n_remission"])]
        else:
            hover = [f"Patient ranked {a}: {p:+.1f}% from a baseline of {b:.0f}<br>{OUTCOME_LABELS[outcome]}"
                     for a, p, b in zip(part["first_rank"], part["pct_change"], part["baseline_score"])]
        figure.add_trace(go.Bar(x=list(part["bar"]), y=list(part["pct_change"]), name=OUTCOME_LABELS[outcome],
                                marker={"color": OUTCOME_COLOURS[outcome], "line": {"width": 0}},
                                hovertext=hover, hoverinfo="text"))
    remission = frame["remission_pct_change"]
    if remission.notna().any():
        figure.add_trace(go.Scatter(x=list(frame["bar"]), y=list(remission), mode="lines",
                                    line={"color": theme.REMISSION_LINE, "dash": "dot", "width": 2, "shape": "hvh"},
                                    name="Remission threshold (at the bar's baseline)",
                                    hovertemplate="Remission below %{y:.0f}%<extra></extra>"))
    response = frame.attrs.get("response_pct")
    if response is not None:
        figure.add_hline(y=response, line={"color": theme.RESPONSE_LINE, "dash": "dash", "width": 2},
                         annotation_text=f"response ({response:.0f}%)", annotation_position="bottom left")
    figure.add_hline(y=0, line={"color": theme.BLACK, "width": 1})
    n = frame.attrs.get("n", int(frame["n_patients"].sum()))
    x_title = f"Patients, worst to best ({n}" + (f", {len(frame)} bars of about {n // max(len(frame), 1)})"
                                               if aggregated else ")")
    layout(figure, f"Change from baseline per patient, {theme.scale_name(scale)}", x_title,
           "Change from baseline")
    figure.update_layout(bargap=0)
    figure.update_xaxes(showticklabels=False)
    figure.update_yaxes(ticksuffix="%")
    return figure


# --- Severity transitions -----------------------------------------------------------------------

def transitions_chart(frame: pd.DataFrame, scale: str, min_cell: int | None = None) -> go.Figure:
    """Heatmap of patients by severity band at baseline (rows) and after induction (columns)
    from `clinic.severity_transitions`, each cell labelled with its count ("suppressed" where
    blanked); the hover adds the share of the baseline band where that band's total is shown."""
    rows = frame.drop_duplicates("baseline_order").sort_values("baseline_order")["baseline_band"].tolist()
    columns = frame.drop_duplicates("after_order").sort_values("after_order")["after_band"].tolist()
    if "suppressed" not in frame.columns:  # an unsuppressed frame: every count and total is known
        frame = frame.assign(n_shown=frame["n_patients"].astype(str),
                             baseline_total=frame.groupby("baseline_order")["n_patients"].transform("sum"))
    frame = frame.assign(n_patients=frame["n_patients"].astype(float),
                         baseline_total=frame["baseline_total"].astype(float))

    def cross_tab(values: str) -> pd.DataFrame:
        return frame.pivot(index="baseline_band", columns="after_band", values=values).reindex(index=rows,
                                                                                               columns=columns)

    grid, text = cross_tab("n_patients"), cross_tab("n_shown")
    totals = frame.drop_duplicates("baseline_band").set_index("baseline_band")["baseline_total"]

    def describe(r, c) -> str:
        count = grid.loc[r, c]
        if pd.isna(count):
            return f"Baseline {r}, after induction {c}: patients {hover_text(min_cell)}"
        share = (f" ({100 * count / totals[r]:.0f}% of baseline {r})"
                 if pd.notna(totals[r]) and totals[r] else "")
        return f"Baseline {r}, after induction {c}: {int(count)} patients{share}"

    hover = [[describe(r, c) for c in columns] for r in rows]
    labels = [[str(t) for t in row] for row in text.to_numpy().tolist()]
    figure = go.Figure(go.Heatmap(z=grid.to_numpy(), x=columns, y=rows, text=labels, texttemplate="%{text}",
                                  hovertext=hover, hoverinfo="text", colorscale="Blues", showscale=False,
                                  xgap=2, ygap=2))
    layout(figure, f"Severity at baseline and after induction, {theme.scale_name(scale)}",
           "Severity after induction", "Severity at baseline", height=380 + 20 * len(rows))
    figure.update_xaxes(type="category", side="bottom")
    figure.update_yaxes(type="category", autorange="reversed")
    return figure


# --- Funnel plot ---------------------------------------------------------------------------------

def funnel_chart(groups: pd.DataFrame, limits: pd.DataFrame, overall: pd.DataFrame, by: str,
                 outcome: str = "response") -> go.Figure:
    """Funnel plot (Spiegelhalter 2005): each group's rate against its number of evaluable
    patients, the clinic-wide rate as a line and the 95% and 99.8% binomial control limits
    around it. Suppressed groups (fewer than 11 patients) are not drawn at all."""
    figure = go.Figure()
    word = outcome.replace("_", " ")
    if len(limits):
        n = list(limits["n"])
        for level, dash, label in (("998", "dot", "99.8% limits"), ("95", "dash", "95% limits")):
            for side in ("low", "high"):
                figure.add_trace(go.Scatter(x=n, y=[_pct(v) for v in limits[f"{side}_{level}"]], mode="lines",
                                            line={"color": theme.EXPECTED_LINE, "dash": dash, "width": 1.5},
                                            name=label, legendgroup=label, showlegend=side == "low",
                                            hoverinfo="skip"))
        rate = _pct(overall[f"{outcome}_rate"].iloc[0])
        figure.add_trace(go.Scatter(x=[n[0], n[-1]], y=[rate, rate], mode="lines",
                                    line={"color": theme.BLACK, "width": 2},
                                    name=f"Clinic-wide {word} rate ({rate:.0f}%)", hoverinfo="skip"))
    shown = groups[~groups["suppressed"].astype(bool)]
    shown = shown[shown[f"{outcome}_rate"].notna()]  # a blanked responder count has no rate to draw
    shown = shown.sort_values("n_evaluable")
    hover = [f"{_readable(g)}: {_pct(r):.0f}% {word} ({_interval_text(_pct(lo), _pct(hi))} %)<br>{n} patients evaluated"
             for g, r, lo, hi, n in zip(shown["group"], shown[f"{outcome}_rate"], shown[f"{outcome}_low"],
                                        shown[f"{outcome}_high"], shown["n_evaluable"])]
    figure.add_trace(go.Scatter(x=[int(v) for v in shown["n_evaluable"]], y=[_pct(v) for v in shown[f"{outcome}_rate"]],
                                mode="markers", cliponaxis=False, name=GROUP_LABELS.get(by, by).capitalize(),
                                marker={"color": theme.BLUE, "size": 11, "line": {"color": "white", "width": 1}},
                                hovertext=hover, hoverinfo="text"))
    layout(figure, f"{word.capitalize()} rate by {GROUP_LABELS.get(by, by)}", "Patients evaluated",
           f"{word.capitalize()} rate")
    figure.update_yaxes(range=[0, 100], ticksuffix="%")
    for name, size, rate, offset in zip(shown["group"], shown["n_evaluable"], shown[f"{outcome}_rate"],
                                        label_offsets(shown["n_evaluable"])):
        figure.add_annotation(x=int(size), y=_pct(rate), text=_readable(name), ax=0, ay=offset, showarrow=True,
                              arrowhead=0, arrowwidth=1, arrowcolor=theme.EXPECTED_LINE, standoff=4,
                              font={"size": theme.FONT_SIZE - 2}, bgcolor="rgba(255,255,255,0.8)")
    if len(shown):  # room right of the largest group for its name
        largest = max(float(shown["n_evaluable"].max()), float(limits["n"].max()) if len(limits) else 0.0)
        figure.update_xaxes(range=[0, largest * 1.15])
    return figure


# Vertical offsets (px) of the names of a run of groups of similar size: alternately above and
# below, further out each time, so no two names of the run sit at the same height.
LABEL_OFFSETS = (-28, 28, -52, 52, -76, 76, -100, 100)


def label_offsets(sizes: pd.Series) -> list[int]:
    """The vertical offset of each funnel point's name (points sorted by size). Names are about
    a quarter of the plot wide, so points within 25% of the largest size of the previous one form a
    run whose names take `LABEL_OFFSETS` in turn; a point far from the previous starts a new
    run, its name above (seen: five clinicians of 42-59 patients had their names on top of
    each other)."""
    offsets: list[int] = []
    width = max(float(sizes.max()), 1.0) if len(sizes) else 1.0
    previous, run = None, 0
    for size in sizes:
        run = run + 1 if previous is not None and float(size) - previous < 0.25 * width else 0
        offsets.append(LABEL_OFFSETS[run % len(LABEL_OFFSETS)])
        previous = float(size)
    return offsets


# --- Monthly trend -------------------------------------------------------------------------------

def monthly_trend_chart(frame: pd.DataFrame, scale: str, min_cell: int | None = None) -> go.Figure:
    """Response and remission rates by start month or start quarter (`clinic.outcomes_by_start`,
    whose `attrs["period"]` says which; a frame without it is by month), each with its 95%
    Wilson band; suppressed periods (fewer than 11 patients) are left out, and a period whose
    responder (remitter) count is blanked is a gap in that line."""
    period = frame.attrs.get("period", "month")
    column = frame.attrs.get("period_column", "start_month")
    shown = frame[~frame["suppressed"].astype(bool)].sort_values(column)
    figure = go.Figure()
    periods = [_period_label(start, period) for start in shown[column]]
    for outcome, colour in (("response", theme.RESPONSE_LINE), ("remission", theme.REMISSION_LINE)):
        if shown[f"{outcome}_rate"].isna().all():
            continue
        name = outcome.capitalize()
        # a period whose responder count is blanked is a gap in the line (None), not a point
        interval_band(figure, periods, [_pct(v) for v in shown[f"{outcome}_low"]],
                      [_pct(v) for v in shown[f"{outcome}_high"]], colour, name)
        hover = [f"Started {m}: {outcome} {hover_text(min_cell)}, {n} patients evaluated"
                 if pd.isna(r) else
                 f"Started {m}: {_pct(r):.0f}% {outcome} ({_interval_text(_pct(lo), _pct(hi))} %), "
                 f"{n} patients evaluated"
                 for m, r, lo, hi, n in zip(periods, shown[f"{outcome}_rate"], shown[f"{outcome}_low"],
                                            shown[f"{outcome}_high"], shown["n_evaluable"])]
        figure.add_trace(go.Scatter(x=periods, y=[None if pd.isna(v) else _pct(v) for v in shown[f"{outcome}_rate"]],
                                    mode="lines+markers", name=name, line={"color": colour, "width": 3},
                                    legendgroup=name, hovertext=hover, hoverinfo="text"))
    layout(figure, f"Outcomes by start {period}, {theme.scale_name(scale)}", f"{period.capitalize()} of the first "
           "infusion", "Rate")
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=periods)
    figure.update_yaxes(range=[0, 100], ticksuffix="%")
    return figure


def _period_label(start, period: str) -> str:
    """A start period in words: "Mar 2025" for a month, "2025 Q1" for a quarter."""
    start = pd.Timestamp(start)
    return f"{start.year} Q{start.quarter}" if period == "quarter" else start.strftime("%b %Y")
