"""Charts of the treatment itself on the director's Clinic outcomes page: who stays
(retention, infusions per patient) and how safely (side effects, blood-pressure excursions,
dissociation by infusion). Pure functions from the published frames (`pipelines.reports.clinic`,
built on `pipelines.analytics`: `retention`, `safety`) to Plotly figures; no database, no
Streamlit, no statistics. The outcome charts are in `clinic`.

Small cells arrive already suppressed (`pipelines.reports.suppression`): the builders leave
such points out (or say "suppressed" in the hover, `published`) and never compute a number the
frame does not hold.
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
from .published import shown as _shown


# --- Retention ------------------------------------------------------------------------------------

def retention_chart(row: pd.Series, min_cell: int | None = None) -> go.Figure:
    """Started -> completed induction -> any maintenance (`retention.retention`, one row), with
    each stage's share of the started patients and its 95% Wilson interval; a blanked stage
    reads "suppressed" (`dashboard.suppressed`)."""
    stages = ["Started", "Completed induction", "Any maintenance"]
    raw = [row["n_started"], row["completed_induction_n"], row["any_maintenance_n"]]
    counts = [None if pd.isna(c) else int(c) for c in raw]
    text = [f"{_count(counts[0], min_cell)} patients"]
    for name in ("completed_induction", "any_maintenance"):
        if pd.isna(row[f"{name}_n"]):
            text.append(hover_text(min_cell))
            continue
        text.append(f"{int(row[f'{name}_n'])} ({_pct(row[f'{name}_rate']):.0f}%, "
                    f"{_interval_text(_pct(row[f'{name}_low']), _pct(row[f'{name}_high']))}%)")
    figure = go.Figure(go.Funnel(y=stages, x=counts, text=text, textinfo="text",
                                 marker={"color": [theme.BLUE, theme.SKY_BLUE, theme.GREEN]},
                                 hovertext=[f"{s}: {t}" for s, t in zip(stages, text)], hoverinfo="text"))
    layout(figure, "Retention", height=320)
    return figure


def infusions_chart(frame: pd.DataFrame, induction_sessions: int | None = None,
                    min_cell: int | None = None) -> go.Figure:
    """Patients by number of infusions so far (`retention.infusions_per_patient`), with the end
    of induction marked; a blanked count reads "suppressed" in the hover, with its legend."""
    hover = [f"{n} infusions: patients {hover_text(min_cell)}" if pd.isna(p) else
             f"{n} infusions: {p} patients ({100 * s:.0f}%)"
             for n, p, s in zip(frame["n_infusions"], frame["n_patients"], frame["share"])]
    figure = go.Figure(go.Bar(x=list(frame["n_infusions"]), y=[None if pd.isna(p) else p for p in frame["n_patients"]],
                              marker={"color": theme.BLUE}, hovertext=hover, hoverinfo="text", name="Patients"))
    if induction_sessions:
        figure.add_vline(x=induction_sessions + 0.5, line={"color": theme.BLACK, "dash": "dash", "width": 1},
                         annotation_text="induction complete", annotation_position="top right")
    layout(figure, "Infusions per patient", "Infusions so far", "Patients", height=320)
    return figure


# --- Safety --------------------------------------------------------------------------------------

def safety_chart(side_effects: pd.DataFrame, bp: pd.DataFrame, systolic: int, diastolic: int,
                 min_cell: int | None = None) -> go.Figure:
    """Side effects, adverse events (`safety.side_effect_rates`) and blood-pressure excursions
    (`safety.bp_excursions`) per 100 infusions, as horizontal bars with 95% Wilson error bars,
    from 0; a blanked row has no bar but its count, "infusions suppressed", written at 0."""
    rows = [(theme.sentence(e), r.per_100, r.per_100_low, r.per_100_high, r.n_affected_infusions, r.n_infusions)
            for e, r in zip(side_effects["effect"], side_effects.itertuples(index=False))]
    if len(bp):
        b = bp.iloc[0]
        rows.append((f"BP excursion (peak ≥ {systolic}/{diastolic} mmHg)", b.per_100, b.per_100_low,
                     b.per_100_high, b.n_excursions, b.n_infusions_with_bp))
    rows.sort(key=lambda r: (-1 if pd.isna(r[1]) else r[1]))
    labels = [r[0] for r in rows]
    values = [None if pd.isna(r[1]) else r[1] for r in rows]
    hover = [f"{label}: infusions {hover_text(min_cell)}"
             if pd.isna(k) else
             f"{label}: {v:.1f} per 100 infusions ({_interval_text(lo, hi, 1)})<br>{int(k)} of {int(n)} infusions"
             for label, v, lo, hi, k, n in rows]
    figure = go.Figure(go.Bar(
        y=labels, x=[0 if v is None else v for v in values], orientation="h", marker={"color": theme.ORANGE},
        text=[f"infusions {_count(None, min_cell)}" if v is None else "" for v in values],
        textposition="outside", cliponaxis=False,
        error_x={"type": "data", "symmetric": False, "array": [hi - v for _, v, _, hi, _, _ in rows],
                 "arrayminus": [v - lo for _, v, lo, _, _, _ in rows], "color": theme.BLACK},  # NaN: no bar
        hovertext=hover, hoverinfo="text", name="per 100 infusions"))
    layout(figure, "Side effects and excursions per 100 infusions", "Per 100 infusions (95% interval)",
           height=160 + 32 * len(rows))
    figure.update_xaxes(rangemode="tozero")
    figure.update_yaxes(automargin=True)
    return figure


def cadss_chart(frame: pd.DataFrame) -> go.Figure:
    """Mean CADSS dissociation total by infusion (`safety.cadss_by_infusion`) with its 95% band."""
    figure = go.Figure()
    frame = _shown(frame)
    x = [f"infusion {label}" if label != "maintenance" else "maintenance" for label in frame["infusion"]]
    colour = theme.PURPLE
    interval_band(figure, x, frame["mean_low"], frame["mean_high"], colour, "CADSS")
    hover = [f"{point}: mean {m:.1f} ({_interval_text(lo, hi, 1)})<br>{n} infusions"
             for point, m, lo, hi, n in zip(x, frame["mean"], frame["mean_low"], frame["mean_high"], frame["n"])]
    figure.add_trace(go.Scatter(x=x, y=list(frame["mean"]), mode="lines+markers", name="Mean CADSS",
                                line={"color": colour, "width": 3}, hovertext=hover, hoverinfo="text"))
    layout(figure, "Dissociation (CADSS) by infusion", "Infusion", "Mean CADSS total (0-92)", height=340)
    figure.update_xaxes(type="category")
    figure.update_yaxes(rangemode="tozero")
    return figure
