"""The printable summary's course charts: one small inline SVG per scale, drawn here from the
patient's scores.

Why SVG written by hand and not the page's Plotly figure: a Plotly figure in a file carries
plotly.js (4.5 MB inline, or a request to a CDN, which a clinic network may block and which a
file opened years later cannot count on), and its hover, which paper has not. An SVG of a few
kilobytes prints sharp, opens offline in any browser or EHR viewer, and needs no script. Every
text in it passes through `theme.esc`.

Each chart: the scale's severity bands as shaded rows (the registry's bands), the score at each
infusion (x: the infusion the score was taken before, 1 = baseline; a later score after the
last infusion sits one step right of it), the baseline as a diamond, the response line
(baseline less the scale's response drop) dashed in green and the remission cut-off (PHQ-9 and
GAD-7 below 5, PCL-5 below 33) dashed in blue, as on the Patient page.
"""

from __future__ import annotations

import pandas as pd

from . import theme
from .theme import esc

WIDTH, HEIGHT = 340, 150
LEFT, RIGHT, TOP, BOTTOM = 30, 8, 18, 22  # margins around the plot area (px)


def scale_charts_svg(scores: pd.DataFrame, scales: pd.DataFrame, bands: pd.DataFrame,
                     order: tuple[str, ...]) -> list[str]:
    """One `<svg>` per scale with a valid score, in `order` (the patient's scale order).

    `scores` = patient_scores (instrument, k, total, is_baseline), `scales` = scale_status
    (baseline_score, response_drop_pct, remission_below, total_max), `bands` = scale_bands."""
    charts = []
    rank = {code: i for i, code in enumerate(order)}
    for scale in sorted(scores["instrument"].unique(), key=lambda code: (rank.get(code, len(rank)), code)):
        rules = scales[scales["instrument"] == scale]
        if rules.empty:
            continue
        charts.append(_one_scale(scale, scores[scores["instrument"] == scale].sort_values(["k", "administered_at"]),
                                 rules.iloc[0], bands[bands["instrument"] == scale].sort_values("band_order")))
    return charts


def _one_scale(scale: str, points: pd.DataFrame, rules: pd.Series, bands: pd.DataFrame) -> str:
    top = float(rules["total_max"])
    last_k = max(int(points["k"].max()), 2)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(k: float) -> float:
        return LEFT + (k - 1) / (last_k - 1) * plot_w

    def y(score: float) -> float:
        return TOP + (1 - score / top) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'role="img" aria-label="{esc(theme.scale_name(scale))} by infusion">',
             f'<text x="{LEFT}" y="12" font-size="11" font-weight="bold">{esc(theme.scale_name(scale))}</text>']
    rows = list(bands.itertuples())
    for index, band in enumerate(rows):  # a band reaches up to where the next one starts
        low = float(band.low)
        high = float(rows[index + 1].low) if index + 1 < len(rows) else top
        fill = theme.BAND_FILLS[index % len(theme.BAND_FILLS)]
        parts.append(f'<rect x="{LEFT}" y="{y(high):.1f}" width="{plot_w}" height="{y(low) - y(high):.1f}" '
                     f'fill="{fill}"/>')
        parts.append(f'<text x="{WIDTH - RIGHT - 2}" y="{y(high) + 8:.1f}" font-size="7" fill="#666" '
                     f'text-anchor="end">{esc(band.label)}</text>')
    for value in (0, top / 2, top):  # y axis: 0, middle, maximum
        parts.append(f'<text x="{LEFT - 4}" y="{y(value) + 3:.1f}" font-size="8" text-anchor="end">{value:g}</text>')
    step = max(1, round(last_k / 10))
    for k in range(1, last_k + 1, step):  # x axis: the infusion numbers
        parts.append(f'<text x="{x(k):.1f}" y="{HEIGHT - 10}" font-size="8" text-anchor="middle">{k}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 1}" font-size="8" text-anchor="middle" '
                 f'fill="#555">score before infusion (1 = baseline)</text>')
    baseline = rules["baseline_score"]
    if not pd.isna(baseline) and not pd.isna(rules["response_drop_pct"]):
        level = float(baseline) * (1 - float(rules["response_drop_pct"]) / 100)
        parts.append(_hline(y(level), theme.RESPONSE_LINE, plot_w))
    if not pd.isna(rules["remission_below"]):
        parts.append(_hline(y(float(rules["remission_below"])), theme.REMISSION_LINE, plot_w))
    colour = theme.scale_colour(scale)
    xy = [(x(float(k)), y(float(total))) for k, total in zip(points["k"], points["total"])]
    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                 f'points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in xy)}"/>')
    for (a, b), first in zip(xy, points["is_baseline"].astype(bool)):
        if first:
            parts.append(f'<rect x="{a - 4:.1f}" y="{b - 4:.1f}" width="8" height="8" fill="{colour}" '
                         f'stroke="#000" stroke-width="0.8" transform="rotate(45 {a:.1f} {b:.1f})"/>')
        else:
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _hline(level: float, colour: str, plot_w: float) -> str:
    return (f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{level:.1f}" y2="{level:.1f}" stroke="{colour}" '
            f'stroke-width="1.2" stroke-dasharray="4 3"/>')
