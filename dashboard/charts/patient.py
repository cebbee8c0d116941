"""Charts of one patient's course: the trajectory on every scale and the PHQ-9 item heatmap.

Pure builders (DataFrames from `pipelines.analytics.patient` and `expected.patient_expected` in,
a Plotly figure out); they never touch the database or Streamlit, so the page and the printable
summary draw the same picture.

Why one panel per scale rather than a scale selector: a patient has at most four scales, and
the question a clinician asks is "is the depression moving while the anxiety and the pain
are?" - panels stacked on one shared x axis put the same infusion under the same point on every
scale, answerable at a glance; a selector would hide three of four answers behind clicks and
would not fit on a printed page. Each panel has its own y axis (0 to the scale's maximum) with
the scale's severity bands shaded behind the scores.

What each panel shows (clinical reference for every threshold):
- the scores (scale colour), the baseline as a larger diamond;
- severity bands from `instrument_bands`, labelled at the right;
- the response line: baseline x (1 - response %), 50% (pain 30%) below the baseline, where a
  score on or under the line is a response;
- the remission line where the scale defines remission (PHQ-9 / GAD-7 below 5; PCL-5 below 33
  with a 10-point drop; pain has none);
- the clinic's expected course for similar patients (same scale and baseline band,
  `patient_expected`): a grey band from the 25th to the 75th percentile of improvement and a
  dashed median;
- every infusion as a triangle along the bottom of the panel, dark orange when its peak BP was
  an excursion, with dose, BP, CADSS, side effects and adverse event on hover.

The x axis is either the infusion number or the date. By infusion number a score sits at the
infusion it was taken before (1 = baseline), so the score before infusion k and infusion k share
an x; by date everything sits at its time, and the expected course is placed on the dates of
the patient's own infusions (a k the patient has not reached yet has no date and is not drawn).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pipelines.analytics.patient import PHQ9_ANSWERS
from pipelines.instruments import REGISTRY

from .. import theme
from ..theme import esc, when
from .base import layout, message_figure

X_AXES = ("infusion", "date")
X_TITLES = {"infusion": "Infusion number (scores are taken before it; 1 = baseline)", "date": "Date"}
# Order of the panels: the registry's page order (depression first, then the others as the
# clinic usually adds them).
SCALE_ORDER = tuple(sorted(REGISTRY, key=lambda code: REGISTRY[code].page_order))
ROUTE_WORDS = {"iv": "IV infusion", "im": "IM injection", "intranasal": "Intranasal (esketamine)"}
ANSWER_WORDS = PHQ9_ANSWERS
EXCURSION_COLOUR = theme.ALERT
INFUSION_COLOUR = "rgb(90,90,90)"
# 0 is a pale blue, not white, so it never looks like a blank (unanswered) cell, which is
# marked "?" on white.
HEATMAP_SCALE = [[0.0, "#DCEAF6"], [1 / 3, "#9ECAE1"], [2 / 3, "#3F8FC4"], [1.0, "#08457E"]]


def _number(value, digits: int = 0) -> str:
    if value is None or pd.isna(value):
        return "not recorded"
    return f"{float(value):.{digits}f}"


def _bp(sys, dia) -> str:
    if (sys is None or pd.isna(sys)) and (dia is None or pd.isna(dia)):
        return "not recorded"
    return f"{_number(sys)}/{_number(dia)}".replace("not recorded", "?")


def infusion_hover(sessions: pd.DataFrame) -> list[str]:
    """One hover text per infusion in clinical words: number, date, route, dose in mg/kg (and
    mg), BP before and at peak (flagged when an excursion), CADSS, side effects, adverse event."""
    texts = []
    for row in sessions.itertuples():
        dose = f"{_number(row.dose_mg_per_kg, 2)} mg/kg" if not pd.isna(row.dose_mg_per_kg) else "mg/kg not known"
        if not pd.isna(row.dose_mg):
            dose += f" ({_number(row.dose_mg, 1)} mg)"
        excursion = " - BP excursion" if bool(row.bp_excursion) else ""
        lines = [
            f"<b>Infusion {int(row.session_number)}</b>, {when(row.started_at, with_time=True)}",
            f"{esc(ROUTE_WORDS.get(row.route, row.route))}, dose {dose}",
            f"BP before {_bp(row.bp_pre_sys, row.bp_pre_dia)}, peak {_bp(row.bp_peak_sys, row.bp_peak_dia)} mmHg{excursion}",
            f"CADSS (dissociation) {_number(row.cadss_total)}",
            f"Side effects: {esc(row.side_effects) or 'none recorded'}",
        ]
        if isinstance(row.adverse_event, str) and row.adverse_event:
            lines.append(f"Adverse event: {esc(row.adverse_event)}")
        texts.append("<br>".join(lines))
    return texts


def _scale_rows(scales: pd.DataFrame, scale_order: tuple[str, ...] = SCALE_ORDER) -> list:
    """The scales with at least one valid score, in panel order (`scale_order`: the patient's,
    `instruments.scale_order`, else the registry's page order)."""
    with_scores = scales[scales["n_scores"] > 0]
    order = {code: i for i, code in enumerate(scale_order)}
    return sorted(with_scores.itertuples(), key=lambda row: (order.get(row.instrument, len(order)), row.instrument))


def _expected_x(expected: pd.DataFrame, sessions: pd.DataFrame, x_axis: str) -> pd.Series:
    """x of each expected row: k, or the date of the patient's infusion k (NaT if not reached)."""
    if x_axis == "infusion":
        return expected["k"]
    dates = dict(zip(sessions["session_number"], sessions["started_at"]))
    return expected["k"].map(lambda k: dates.get(k, pd.NaT))


def trajectory_figure(scores: pd.DataFrame, sessions: pd.DataFrame, scales: pd.DataFrame, bands: pd.DataFrame,
                      expected: pd.DataFrame | None = None, x_axis: str = "infusion",
                      panel_height: int = 300, scale_order: tuple[str, ...] = SCALE_ORDER) -> go.Figure:
    """One panel per scale with scores (module docstring), x by infusion number or date.

    Inputs: `scores` = patient_scores, `sessions` = patient_sessions, `scales` = scale_status
    (baseline and the scale's rules), `bands` = scale_bands, `expected` = patient_expected
    frames of the scales concatenated (may be empty or None). Traces carry a `legendgroup`
    naming what they are ('scores', 'baseline', 'expected', 'expected median', 'response',
    'remission', 'infusions') and `meta` = the scale; severity bands are layout shapes named
    '<scale> band: <label>'.

    The figure is assembled from plain dicts in one constructor call: adding shapes and traces
    one by one to a subplot figure costs Plotly ~0.5 s for four scales, too slow for a page.
    """
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {X_AXES}, not {x_axis!r}")
    panels = _scale_rows(scales, scale_order)
    if not panels or scores.empty:
        return message_figure("No scores recorded yet.")
    if expected is None:
        expected = pd.DataFrame(columns=["instrument", "k", "expected_score_p25"])
    x_low, x_high = _x_extent(scores, sessions, expected, x_axis)
    infusion_hovers = infusion_hover(sessions)
    single = len(panels) == 1
    legend = _Legend()
    gap = 0.07 if not single else 0.0
    height = (1 - gap * (len(panels) - 1)) / len(panels)
    traces, shapes, annotations, axes = [], [], [], {}

    for index, row in enumerate(panels, start=1):
        suffix = "" if index == 1 else str(index)
        xref, yref = f"x{suffix}", f"y{suffix}"
        top = 1 - (index - 1) * (height + gap)
        total_max = float(row.total_max)
        strip = -0.07 * total_max  # infusion markers sit in a strip below 0
        scale_scores = scores[scores["instrument"] == row.instrument]
        on_panel = {"xaxis": xref, "yaxis": yref, "meta": row.instrument}

        axes[f"xaxis{suffix}"] = {"anchor": yref, "matches": None if index == 1 else "x",
                                  "showticklabels": index == len(panels), "domain": [0, 1]}
        axes[f"yaxis{suffix}"] = {"anchor": xref, "domain": [max(top - height, 0), top], "title": {"text": "score"},
                                  "range": [strip * 1.8, total_max + 0.5], "zeroline": False}
        annotations.append({"text": f"<b>{esc(theme.scale_name(row.instrument))}</b>", "xref": "paper",
                            "yref": "paper", "x": 0, "y": top, "xanchor": "left", "yanchor": "bottom",
                            "showarrow": False, "font": {"size": theme.FONT_SIZE}})

        scale_bands_ = bands[bands["instrument"] == row.instrument].sort_values("band_order")
        for order, band in enumerate(scale_bands_.itertuples()):
            shapes.append({
                "type": "rect", "xref": f"{xref} domain", "yref": yref, "x0": 0, "x1": 1,
                "y0": max(band.low - 0.5, 0), "y1": min(band.high + 0.5, total_max), "layer": "below",
                "fillcolor": theme.BAND_FILLS[min(order, len(theme.BAND_FILLS) - 1)], "line": {"width": 0},
                "name": f"{row.instrument} band: {band.label}",
                "label": {"text": esc(band.label), "textposition": "top right",
                          "font": {"size": 11, "color": "rgb(90,90,90)"}},
            })

        scale_expected = expected[expected["instrument"] == row.instrument]
        if len(scale_expected) and scale_expected["expected_score_p25"].notna().any():
            traces += _expected_traces(scale_expected, sessions, x_axis, on_panel, legend)

        baseline = row.baseline_score
        if baseline is not None and not pd.isna(baseline) and baseline > 0:
            level = float(baseline) * (1 - float(row.response_drop_pct) / 100)
            rule = (f"Response: at or below {level:g} ({int(row.response_drop_pct)}% below baseline "
                    f"{int(baseline)})")
            traces.append(go.Scatter(
                x=[x_low, x_high], y=[level, level], mode="lines", legendgroup="response",
                name=rule if single else "Response line (50% below baseline; pain 30%)",
                showlegend=legend.once("response"), line={"color": theme.RESPONSE_LINE, "dash": "dot", "width": 2},
                hovertemplate=f"{rule}<extra></extra>", **on_panel))
        if row.remission_below is not None and not pd.isna(row.remission_below):
            rule = f"Remission: below {int(row.remission_below)}"
            if row.remission_min_drop is not None and not pd.isna(row.remission_min_drop):
                rule += f" with a drop of {int(row.remission_min_drop)} or more"
            traces.append(go.Scatter(
                x=[x_low, x_high], y=[row.remission_below] * 2, mode="lines", legendgroup="remission",
                name=rule if single else "Remission cut-off", showlegend=legend.once("remission"),
                line={"color": theme.REMISSION_LINE, "dash": "dash", "width": 2},
                hovertemplate=f"{rule}<extra></extra>", **on_panel))

        x = scale_scores["k"] if x_axis == "infusion" else scale_scores["administered_at"]
        traces.append(go.Scatter(
            x=x.tolist(), y=scale_scores["total"].tolist(), mode="lines+markers", name=theme.scale_name(row.instrument),
            legendgroup="scores", showlegend=False, line={"color": theme.scale_colour(row.instrument), "width": 3},
            marker={"size": 9}, hovertext=_score_hover(scale_scores), hoverinfo="text", **on_panel))
        baseline_rows = scale_scores[scale_scores["is_baseline"].astype(bool)]
        if len(baseline_rows):
            bx = baseline_rows["k"] if x_axis == "infusion" else baseline_rows["administered_at"]
            traces.append(go.Scatter(
                x=bx.tolist(), y=baseline_rows["total"].tolist(), mode="markers", name="Baseline", legendgroup="baseline",
                showlegend=legend.once("baseline"),
                marker={"symbol": "diamond", "size": 14, "color": theme.scale_colour(row.instrument),
                        "line": {"color": theme.BLACK, "width": 1.5}},
                hovertext=_score_hover(baseline_rows), hoverinfo="text", **on_panel))

        if len(sessions):
            sx = sessions["session_number"] if x_axis == "infusion" else sessions["started_at"]
            colours = [EXCURSION_COLOUR if bool(e) else INFUSION_COLOUR for e in sessions["bp_excursion"]]
            traces.append(go.Scatter(
                x=sx.tolist(), y=[strip] * len(sessions), mode="markers", name="Infusion (hover for dose, BP, CADSS)",
                legendgroup="infusions", showlegend=legend.once("infusions"),
                marker={"symbol": "triangle-up", "size": 11, "color": colours},
                hovertext=infusion_hovers, hoverinfo="text", **on_panel))

    bottom = "" if len(panels) == 1 else str(len(panels))
    axes[f"xaxis{bottom}"]["title"] = {"text": X_TITLES[x_axis]}
    if x_axis == "infusion":
        for name, axis in axes.items():
            if name.startswith("xaxis"):
                axis.update(dtick=1, range=[x_low - 0.5, x_high + 0.5])
    total_height = max(panel_height * len(panels) + 120, 320)
    figure = go.Figure(data=traces, layout={"shapes": shapes, "annotations": annotations, **axes})
    layout(figure, height=total_height)
    figure.update_layout(hovermode="closest", margin={"t": 90},
                         legend={"y": 1 + 40 / total_height, "yanchor": "bottom"})
    return figure


def _x_extent(scores, sessions, expected, x_axis):
    """The x range every horizontal line spans: all scores, infusions and expected points."""
    if x_axis == "infusion":
        values = [*scores["k"].tolist(), *sessions["session_number"].tolist()]
        if len(expected):
            values += expected.loc[expected["expected_score_p25"].notna(), "k"].tolist()
        return min(values), max(values)
    values = [*scores["administered_at"].tolist(), *sessions["started_at"].tolist()]
    values = [pd.Timestamp(v) for v in values if not pd.isna(v)]
    return min(values), max(values)


def _expected_traces(expected, sessions, x_axis, on_panel, legend) -> list:
    """The grey band between the expected scores at the 25th and 75th percentiles of
    improvement, and the dashed median (patient_expected: baseline x (1 + percent / 100))."""
    rows = expected.assign(x=_expected_x(expected, sessions, x_axis))
    rows = rows[rows["x"].notna() & rows["expected_score_p25"].notna()].sort_values("k")
    if rows.empty:
        return []
    x = rows["x"].tolist()  # plain lists: Plotly validates them several times faster than Series
    hover = [f"Infusion {int(r.k)}: similar patients scored {r.expected_score_p75:.0f}-{r.expected_score_p25:.0f} "
             f"(median {r.expected_score_p50:.0f}; middle half, n = {_number(r.n_patients)})"
             for r in rows.itertuples()]
    name = "Expected for similar patients (middle half)"
    return [
        # lower edge (the more improved 75th percentile of improvement), then the upper edge filled to it
        go.Scatter(x=x, y=rows["expected_score_p75"].tolist(), mode="lines", name=name, legendgroup="expected",
                   line={"width": 0, "color": theme.EXPECTED_LINE}, showlegend=False, hoverinfo="skip", **on_panel),
        go.Scatter(x=x, y=rows["expected_score_p25"].tolist(), mode="lines", name=name, legendgroup="expected",
                   line={"width": 0, "color": theme.EXPECTED_LINE}, fill="tonexty", fillcolor=theme.EXPECTED_FILL,
                   showlegend=legend.once("expected"), hovertext=hover, hoverinfo="text", **on_panel),
        go.Scatter(x=x, y=rows["expected_score_p50"].tolist(), mode="lines", name="Expected median of similar patients",
                   legendgroup="expected median", showlegend=legend.once("expected median"),
                   line={"color": theme.EXPECTED_LINE, "dash": "dash", "width": 1.5}, hoverinfo="skip", **on_panel),
    ]


def _score_hover(scores: pd.DataFrame) -> list[str]:
    texts = []
    for row in scores.itertuples():
        moment = "baseline" if bool(row.is_baseline) else f"before infusion {int(row.k)}"
        notes = " (prorated)" if bool(row.prorated) else ""
        texts.append(f"<b>{esc(theme.scale_name(row.instrument))} {int(row.total)}</b> ({esc(row.severity)}){notes}"
                     f"<br>{when(row.administered_at, with_time=True)}, {moment}")
    return texts


class _Legend:
    """Each shared entry (baseline, infusions, lines, expected band) once in the legend, on the
    first panel that has it."""

    def __init__(self):
        self.shown: set[str] = set()

    def once(self, group: str) -> bool:
        if group in self.shown:
            return False
        self.shown.add(group)
        return True


def item_heatmap(items: pd.DataFrame, x_axis: str = "date") -> go.Figure:
    """PHQ-9 items 1-9 (rows, item 1 at the top, short clinical names) by administration
    (columns, in time order): which symptoms move. Colour is the answer 0-3 on one blue scale
    (colour-blind safe, darker = more often); a blank cell is an item left unanswered, never 0.

    `items` = phq9_item_history (long). Columns are labelled by date or by the infusion the
    PHQ-9 was taken before (`x_axis`), made unique when two fall on the same label.
    """
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {X_AXES}, not {x_axis!r}")
    if items.empty:
        return message_figure("No PHQ-9 answers recorded yet.")
    administrations = (items.drop_duplicates("assessment_key")
                       .sort_values(["administered_at", "assessment_key"])[["assessment_key", "administered_at", "k", "total"]])
    labels, used = [], {}
    for row in administrations.itertuples():
        label = when(row.administered_at, with_time=False) if x_axis == "date" else f"before {int(row.k)}"
        used[label] = used.get(label, 0) + 1
        labels.append(label if used[label] == 1 else f"{label} ({used[label]})")
    keys = administrations["assessment_key"].tolist()
    wide = items.pivot_table(index="item", columns="assessment_key", values="answer", aggfunc="first", dropna=False)
    wide = wide.reindex(index=range(1, 10), columns=keys)
    z = wide.to_numpy(dtype=float, na_value=np.nan)
    names = items.drop_duplicates("item").set_index("item")["item_label"].reindex(range(1, 10))
    y = [f"{item}. {label}" for item, label in names.items()]
    hover = []
    for i, (item, label) in enumerate(names.items()):
        line = []
        for j, row in enumerate(administrations.itertuples()):
            answer = z[i, j]
            said = "not answered" if np.isnan(answer) else f"{ANSWER_WORDS[int(answer)]} ({int(answer)})"
            total = "incomplete, no total" if pd.isna(row.total) else f"PHQ-9 total {int(row.total)}"
            line.append(f"<b>{esc(label)}</b>: {said}<br>{when(row.administered_at, with_time=True)}, before infusion {int(row.k)}"
                        f"<br>{total}")
        hover.append(line)
    figure = go.Figure(go.Heatmap(
        z=z, x=labels, y=y, zmin=0, zmax=3, colorscale=HEATMAP_SCALE, xgap=2, ygap=2, hoverongaps=True,
        hovertext=hover, hoverinfo="text", name="PHQ-9 items",
        text=np.where(np.isnan(z), "?", ""), texttemplate="%{text}", textfont={"size": 14, "color": "rgb(90,90,90)"},
        colorbar={"title": {"text": "Answer"}, "tickvals": [0, 1, 2, 3], "ticktext": list(ANSWER_WORDS)},
    ))
    layout(figure, height=380, x="PHQ-9 taken on" if x_axis == "date" else "PHQ-9 taken before infusion")
    figure.update_yaxes(autorange="reversed", type="category")
    figure.update_xaxes(type="category")
    figure.update_layout(margin={"l": 230})
    return figure
