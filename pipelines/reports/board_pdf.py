"""The one-page outcomes report as PDF, drawn with fpdf2 (pure Python, no outside program).

Why fpdf2: it is small, maintained, pure Python and draws lines, circles and text directly, so
the comparison chart is a few primitives and the document has no image or font to fetch. Its
built-in fonts (Helvetica) cover Latin-1 only: text outside it (a site name in another script)
is printed with accents removed or '?' (`latin1`); the HTML report shows it as typed.

The page is laid out inside 210 x 279 mm, the part A4 and US Letter share, so the same layout
fits either (`[report] page_size`); automatic page breaks are off, so it is always one page.
"""

from __future__ import annotations

import unicodedata

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ..palette import BLUE, VERMILLION
from .board import Board
from .board_text import (chart_rows, count_text, durability_sentence, line_cells, missing_mark, pct, period_text,
                         suppressed_mark)

__all__ = ["board_pdf", "latin1"]

MARGIN = 10.0
WIDTH = 190.0  # 210 mm less the margins: fits A4 and Letter
TIMEPOINT_NAMES = {"after_induction": "After induction", "latest": "Latest score"}
_TYPOGRAPHY = {"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
               "\u2026": "...", "\u2265": ">=", "\u2264": "<=", "\u2212": "-", "\u00a0": " "}


def latin1(text: str) -> str:
    """`text` in the built-in fonts' Latin-1: typographic marks as ASCII, accents dropped from
    letters outside Latin-1, anything else '?'."""
    text = "".join(_TYPOGRAPHY.get(ch, ch) for ch in str(text))
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            out.append(base or "?")
    return "".join(out)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class _Page(FPDF):
    def text_line(self, text: str, size: float = 7.5, style: str = "", height: float = 3.6, width: float = 0):
        self.set_font("Helvetica", style, size)
        self.cell(width, height, latin1(text), new_x=XPos.LMARGIN if not width else XPos.RIGHT, new_y=YPos.NEXT
                  if not width else YPos.TOP)

    def wrapped(self, text: str, size: float = 6.5, style: str = "", height: float = 2.9, width: float = WIDTH,
                x: float | None = None):
        self.set_font("Helvetica", style, size)
        if x is not None:
            self.set_x(x)
        self.multi_cell(width, height, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str):
        self.ln(1.2)
        self.set_text_color(0, 0, 0)
        self.text_line(text, size=9, style="B", height=4.6)

    def row(self, cells: list[str], widths: list[float], size: float = 7, style: str = "", height: float = 3.6,
            align: str = "L"):
        self.set_font("Helvetica", style, size)
        for i, (text, width) in enumerate(zip(cells, widths)):
            self.cell(width, height, latin1(text), align="L" if i == 0 else align)
        self.ln(height)


def board_pdf(board: Board) -> bytes:
    """The report as PDF bytes: one page, `board.page_size` (A4 or Letter)."""
    pdf = _Page(orientation="P", unit="mm", format=board.page_size)
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_title("Outcomes report")
    pdf.set_creator("Infusion Outcomes")
    pdf.set_creation_date(board.generated.astimezone())
    pdf.add_page()
    mark = suppressed_mark(board.min_cell)
    pdf.text_line("Ketamine treatment outcomes: one-page report", size=13, style="B", height=6)
    pdf.text_line(f"{board.cohort_text} - {period_text(board)} - data as of "
                  + (f"{board.as_of:%d %b %Y}" if board.as_of else "-"), size=8, height=4)
    if not board.started:
        pdf.ln(4)
        why = (f"fewer than {board.min_cell} patients in this cohort (small-cell suppression)."
               if board.started is None else "no treated patient in this cohort.")
        pdf.wrapped("No figures: " + why, size=9, height=4.5)
        _methods(pdf, board)
        return bytes(pdf.output())
    _patients(pdf, board, mark)
    _outcomes(pdf, board)
    pdf.heading("Beside published real-world figures (PHQ-9, unipolar depression, after induction)")
    _chart(pdf, board, pdf.get_y())
    pdf.wrapped(board.comparison, size=6.5)
    if durability := durability_sentence(board):
        pdf.wrapped(durability, size=6.5)
    _retention_and_safety(pdf, board, mark)
    _methods(pdf, board)
    return bytes(pdf.output())


def _patients(pdf: _Page, board: Board, mark: str) -> None:
    pdf.heading("Patients")
    done, kept = board.completed_induction, board.maintenance

    def share(rate) -> str:
        if rate.count is None:
            return mark
        return f"{rate.count:,} ({pct(rate.rate)}, 95% CI {100 * rate.low:.1f}-{100 * rate.high:.1f})"
    pdf.text_line(f"Started treatment: {count_text(board.started, board.min_cell)}    Completed induction: "
                  f"{share(done)}    Went on to maintenance: {share(kept)}    Infusions: "
                  f"{count_text(board.infusions, board.min_cell)}", size=7.5)


def _outcomes(pdf: _Page, board: Board) -> None:
    pdf.heading("Response and remission (95% CI), completers and intention to treat (ITT)")
    widths = [12, 30, 16, 10, 28, 28, 10, 28, 28]
    pdf.row(["", "", "", "After induction", "", "", "Latest score", "", ""], widths, style="B", size=6.5)
    pdf.row(["Scale", "Indication", "Basis", "n", "Response", "Remission", "n", "Response", "Remission"],
            widths, style="B", size=6.5)
    pdf.set_draw_color(160, 160, 160)
    pdf.line(MARGIN, pdf.get_y(), MARGIN + WIDTH, pdf.get_y())
    for scale in dict.fromkeys(line.scale for line in board.outcomes):
        after, latest = board.lines(scale, "after_induction"), board.lines(scale, "latest")
        for a, b in zip(after, latest):
            pdf.row([scale, a.group, "Completers" if a.basis == "completers" else "ITT",
                     *line_cells(a, board.min_cell), *line_cells(b, board.min_cell)], widths, size=6.8)
        pdf.line(MARGIN, pdf.get_y(), MARGIN + WIDTH, pdf.get_y())


def _chart(pdf: _Page, board: Board, top: float) -> None:
    """Two panels (response, remission) on one set of row labels, 0-100%: the clinic as a point
    with its 95% interval, published figures as diamonds (hollow: another time point)."""
    rows = chart_rows(board)
    label_w, gap, row_h = 44.0, 10.0, 5.2
    panel_w = (WIDTH - label_w - gap - 4) / 2
    clinic, published = _rgb(BLUE), _rgb(VERMILLION)
    y_axis = top + 4 + row_h * max(len(rows), 1)
    for i, (label, kind, _) in enumerate(rows):
        pdf.set_text_color(0, 0, 0)
        pdf.set_xy(MARGIN, top + 4 + row_h * (i + 0.5) - 1.5)
        pdf.set_font("Helvetica", "B" if kind == "clinic" else "", 6.3)
        pdf.cell(label_w - 2, 3, latin1(label), align="R")
    for p, measure in enumerate(("response", "remission")):
        x0 = MARGIN + label_w + p * (panel_w + gap)
        pdf.set_xy(x0, top)
        pdf.text_line(measure.capitalize(), size=7, style="B", height=3.4, width=panel_w)
        pdf.set_draw_color(200, 200, 200)
        pdf.set_line_width(0.15)
        for tick in range(0, 101, 25):
            x = x0 + panel_w * tick / 100
            pdf.line(x, top + 4, x, y_axis)
            pdf.set_font("Helvetica", "", 5.5)
            pdf.set_xy(x - 4, y_axis + 0.3)
            pdf.cell(8, 2.6, f"{tick}%", align="C")
        for i, (label, kind, values) in enumerate(rows):
            value, low, high = values[measure]
            y = top + 4 + row_h * (i + 0.5)
            pdf.set_font("Helvetica", "", 5.8)
            if value is None:
                pdf.set_xy(x0 + 1, y - 1.5)
                pdf.cell(20, 3, missing_mark(label, kind, board.min_cell))
                continue
            x = x0 + panel_w * value
            if kind == "clinic":
                pdf.set_draw_color(*clinic)
                pdf.set_fill_color(*clinic)
                pdf.set_line_width(0.5)
                pdf.line(x0 + panel_w * low, y, x0 + panel_w * high, y)
                pdf.circle(x, y, 0.9, style="F")
            else:
                pdf.set_draw_color(*published)
                pdf.set_fill_color(*published)
                pdf.set_line_width(0.35)
                pdf.polygon([(x, y - 1.2), (x + 1.2, y), (x, y + 1.2), (x - 1.2, y)],
                            style="F" if kind == "published" else "D")
            pdf.set_xy(x + 1.5, y - 3.2)
            pdf.cell(10, 2.4, pct(value))
    pdf.set_line_width(0.2)
    pdf.set_draw_color(160, 160, 160)
    pdf.set_y(y_axis + 3.5)


def _retention_and_safety(pdf: _Page, board: Board, mark: str) -> None:
    top = pdf.get_y()
    pdf.heading("Retention by infusion")
    for label, n, share, hidden in board.retention:
        text = (mark if hidden else "-") if n is None else f"{n:,}"
        pdf.row([label, text, pct(share, "")], [40, 14, 14], size=6.8, align="R")
    left_bottom = pdf.get_y()
    pdf.set_y(top)
    pdf.ln(1.2)
    pdf.set_x(MARGIN + 80)
    pdf.text_line(f"Safety per 100 infusions (of {count_text(board.infusions, board.min_cell)})", size=9,
                  style="B", height=4.6, width=110)
    pdf.ln(4.6)
    for event, affected, rate, low, high in board.safety:
        pdf.set_x(MARGIN + 80)
        per_100 = mark if rate is None else f"{rate:.1f} ({low:.1f}-{high:.1f})"
        pdf.row([event, count_text(affected, board.min_cell), per_100], [50, 18, 30], size=6.8, align="R")
    pdf.set_y(max(left_bottom, pdf.get_y()))


def _methods(pdf: _Page, board: Board) -> None:
    pdf.heading("Methods")
    top = pdf.get_y()
    for line in board.methods:
        pdf.wrapped(line, size=6.6, height=3.0, x=MARGIN + 1.5, width=WIDTH - 3)
    pdf.set_draw_color(160, 160, 160)
    pdf.rect(MARGIN, top - 0.8, WIDTH, pdf.get_y() - top + 1.6)
    pdf.ln(1.6)
    for b in board.benchmarks:
        pdf.wrapped(f"{b.key}: {b.citation} doi:{b.doi}. {b.population} ({b.basis}; {b.timing}"
                    + (f"; remission: {b.remission_definition}" if b.remission is not None else "")
                    + (f"; of responders, {pct(b.durability_4_weeks)} still responding at 4 weeks and "
                       f"{pct(b.durability_8_weeks)} at 8" if b.durability_4_weeks is not None else "") + ")",
                    size=6, height=2.7)
