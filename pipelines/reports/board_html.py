"""The one-page outcomes report as one self-contained HTML file: inline CSS, the comparison chart
as inline SVG, no script, no link, nothing fetched when it is opened (a DOI is printed as text).

Why HTML beside the PDF: it opens in any browser, reads on a screen, prints on one A4 or Letter
page (`@page` follows `[report] page_size`), and shows every name as typed in any script, where
the PDF's built-in fonts are Latin-1. Every text of the data (site and clinician names, the
benchmarks file) is escaped (`html.escape`), so a name written as markup is shown, never run.
"""

from __future__ import annotations

from html import escape

from ..palette import BLUE, VERMILLION
from .board import Board
from .board_text import (chart_rows, count_text, durability_sentence, line_cells, missing_mark, pct, period_text,
                         suppressed_mark)

__all__ = ["board_html"]

STYLE = """
@page { size: %(page)s; margin: 10mm; }
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; font-size: 7.5pt; color: #111; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 14pt; margin: 0 0 1mm; }
h2 { font-size: 9pt; margin: 2mm 0 0.8mm; }
p { margin: 0.5mm 0; }
table { border-collapse: collapse; width: 100%%; }
th, td { padding: 0.2mm 1.2mm; text-align: left; vertical-align: top; white-space: nowrap; }
th { border-bottom: 0.3mm solid #999; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.scale-end td { border-bottom: 0.2mm solid #bbb; }
.subtitle { color: #333; }
.columns { display: flex; gap: 8mm; }
.columns > div { flex: 1; }
.methods { border: 0.3mm solid #999; padding: 1mm 2mm; font-size: 6.8pt; }
.methods p { margin: 0.4mm 0; }
.citations { font-size: 6.2pt; color: #333; margin-top: 1.5mm; }
.note { font-size: 7pt; }
.citations p { margin: 0.3mm 0; }
svg { display: block; width: 100%%; height: auto; }
@media print { body { max-width: none; } }
"""


def board_html(board: Board) -> str:
    """The report as one HTML document (text)."""
    mark = suppressed_mark(board.min_cell)
    page = "A4" if board.page_size == "A4" else "letter"
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Outcomes report</title>"
             f"<style>{STYLE % {'page': page}}</style></head><body>",
             "<h1>Ketamine treatment outcomes: one-page report</h1>",
             f"<p class=\"subtitle\">{escape(board.cohort_text)} &middot; {escape(period_text(board))} "
             "&middot; data as "
             f"of {board.as_of:%d %b %Y}</p>" if board.as_of else
             f"<p class=\"subtitle\">{escape(board.cohort_text)} &middot; {escape(period_text(board))}</p>"]
    if not board.started:
        parts.append("<p>No figures: " + (f"fewer than {board.min_cell} patients in this cohort (small-cell "
                                          "suppression)." if board.started is None else
                                          "no treated patient in this cohort.") + "</p>")
    else:
        parts += [_patients(board, mark), _outcomes(board),
                  "<h2>Beside published real-world figures (PHQ-9, unipolar depression, after induction)</h2>",
                  _chart(board), f"<p class=\"note\">{escape(board.comparison)}</p>",
                  f"<p class=\"note\">{escape(durability_sentence(board))}</p>" if board.durability else "",
                  "<div class=\"columns\">", _retention(board, mark), _safety(board, mark), "</div>"]
    parts += [_methods(board), "</body></html>"]
    return "\n".join(parts)


def _patients(board: Board, mark: str) -> str:
    def share(rate) -> str:
        if rate.count is None:
            return escape(mark)
        return f"{rate.count:,} ({pct(rate.rate)}, 95% CI {100 * rate.low:.1f}&ndash;{100 * rate.high:.1f})"
    return ("<h2>Patients</h2><p>"
            f"Started treatment: <b>{escape(count_text(board.started, board.min_cell))}</b> &nbsp; "
            f"Completed induction: <b>{share(board.completed_induction)}</b> &nbsp; "
            f"Went on to maintenance: <b>{share(board.maintenance)}</b> &nbsp; "
            f"Infusions: <b>{escape(count_text(board.infusions, board.min_cell))}</b></p>")


def _outcomes(board: Board) -> str:
    rows = ["<h2>Response and remission (95% CI), completers and intention to treat (ITT)</h2><table>",
            "<tr><th colspan=\"3\"></th><th colspan=\"3\">After induction</th><th colspan=\"3\">Latest score</th></tr>",
            "<tr><th>Scale</th><th>Indication</th><th>Basis</th>"
            + "<th class=\"num\">n</th><th class=\"num\">Response</th><th class=\"num\">Remission</th>" * 2 + "</tr>"]
    for scale in dict.fromkeys(line.scale for line in board.outcomes):
        pairs = list(zip(board.lines(scale, "after_induction"), board.lines(scale, "latest")))
        for i, (a, b) in enumerate(pairs):
            cells = [escape(c) for c in (*line_cells(a, board.min_cell), *line_cells(b, board.min_cell))]
            end = ' class="scale-end"' if i == len(pairs) - 1 else ""
            rows.append(f"<tr{end}><td>{escape(scale)}</td>"
                        f"<td>{escape(a.group)}</td><td>{'Completers' if a.basis == 'completers' else 'ITT'}</td>"
                        + "".join(f'<td class="num">{c}</td>' for c in cells) + "</tr>")
    return "\n".join(rows) + "</table>"


def _chart(board: Board) -> str:
    """Two panels on one set of row labels, 0-100%: the clinic as a dot with its 95% interval,
    published figures as diamonds (hollow: another time point). Units: millimetres x 4."""
    rows = chart_rows(board)
    label_w, gap, row_h, top = 176, 40, 22, 18
    panel_w = (760 - label_w - gap - 16) / 2
    axis = top + row_h * max(len(rows), 1)
    out = [f"<svg viewBox=\"0 0 760 {axis + 16}\" role=\"img\" aria-label=\"Clinic rates beside published figures\" "
           "font-family=\"Helvetica, Arial, sans-serif\">"]
    for i, (label, kind, _) in enumerate(rows):
        weight = " font-weight=\"bold\"" if kind == "clinic" else ""
        out.append(f"<text x=\"{label_w - 8}\" y=\"{top + row_h * (i + 0.5) + 4}\" text-anchor=\"end\" "
                   f"font-size=\"11\"{weight}>{escape(label)}</text>")
    for p, measure in enumerate(("response", "remission")):
        x0 = label_w + p * (panel_w + gap)
        out.append(f"<text x=\"{x0}\" y=\"11\" font-size=\"12\" font-weight=\"bold\">{measure.capitalize()}</text>")
        for tick in range(0, 101, 25):
            x = x0 + panel_w * tick / 100
            out.append(f"<line x1=\"{x:.1f}\" y1=\"{top}\" x2=\"{x:.1f}\" y2=\"{axis}\" stroke=\"#ccc\" "
                       "stroke-width=\"0.8\"/>"
                       f"<text x=\"{x:.1f}\" y=\"{axis + 12}\" font-size=\"9\" text-anchor=\"middle\">{tick}%</text>")
        for i, (label, kind, values) in enumerate(rows):
            value, low, high = values[measure]
            y = top + row_h * (i + 0.5)
            if value is None:
                text = missing_mark(label, kind, board.min_cell)
                out.append(f"<text x=\"{x0 + 4}\" y=\"{y + 4}\" font-size=\"10\">{escape(text)}</text>")
                continue
            x = x0 + panel_w * value
            if kind == "clinic":
                out.append(f"<line x1=\"{x0 + panel_w * low:.1f}\" y1=\"{y}\" x2=\"{x0 + panel_w * high:.1f}\" "
                           f"y2=\"{y}\" stroke=\"{BLUE}\" stroke-width=\"2.2\"/>"
                           f"<circle cx=\"{x:.1f}\" cy=\"{y}\" r=\"4\" fill=\"{BLUE}\"/>")
            else:
                fill = VERMILLION if kind == "published" else "white"
                out.append(f"<polygon points=\"{x:.1f},{y - 5} {x + 5:.1f},{y} {x:.1f},{y + 5} {x - 5:.1f},{y}\" "
                           f"fill=\"{fill}\" stroke=\"{VERMILLION}\" stroke-width=\"1.5\"/>")
            out.append(f"<text x=\"{x + 6:.1f}\" y=\"{y - 5}\" font-size=\"9\">{pct(value)}</text>")
    out.append("</svg>")
    return "".join(out)


def _retention(board: Board, mark: str) -> str:
    rows = "".join(f"<tr><td>{escape(label)}</td><td class=\"num\">"
                   f"{escape((mark if hidden else '-') if n is None else f'{n:,}')}</td>"
                   f"<td class=\"num\">{pct(share, '')}</td></tr>" for label, n, share, hidden in board.retention)
    return ("<div><h2>Retention by infusion</h2><table><tr><th>Reached</th><th class=\"num\">Patients</th>"
            f"<th class=\"num\">Of started</th></tr>{rows}</table></div>")


def _safety(board: Board, mark: str) -> str:
    rows = "".join(f"<tr><td>{escape(event)}</td><td class=\"num\">{escape(count_text(n, board.min_cell))}</td>"
                   f"<td class=\"num\">{escape(mark) if rate is None else f'{rate:.1f} ({low:.1f}&ndash;{high:.1f})'}"
                   "</td></tr>" for event, n, rate, low, high in board.safety)
    return (f"<div><h2>Safety per 100 infusions (of {escape(count_text(board.infusions, board.min_cell))})</h2>"
            "<table><tr><th>Event</th><th class=\"num\">Infusions</th><th class=\"num\">Per 100 (95% CI)</th></tr>"
            f"{rows}</table></div>")


def _methods(board: Board) -> str:
    lines = "".join(f"<p>{escape(line)}</p>" for line in board.methods)
    citations = "".join(
        f"<p><b>{escape(b.key)}</b>: {escape(b.citation)} doi:{escape(b.doi)}. {escape(b.population)} "
        f"({escape(b.basis)}; {escape(b.timing)}"
        + (f"; remission: {escape(b.remission_definition)}" if b.remission is not None else "")
        + (f"; of responders, {pct(b.durability_4_weeks)} still responding at 4 weeks and "
           f"{pct(b.durability_8_weeks)} at 8" if b.durability_4_weeks is not None else "") + ")</p>"
        for b in board.benchmarks)
    return f"<h2>Methods</h2><div class=\"methods\">{lines}</div><div class=\"citations\">{citations}</div>"
