"""The Clinic outcomes page's "One-page report" downloads: the director's report (PDF and HTML,
`pipelines.reports.board`) for the page's current cohort filter.

Why a module of its own: the page only adds one call (`report_downloads(cohort)`), and the
report is built only when a button is clicked (Streamlit runs the data callable then, in another
thread, without Streamlit commands), so opening the page costs nothing more. Each download is
an export of the clinic's figures and is logged first, like the page's other exports
(`dashboard.auditing`): no log entry, no file. The report's numbers are the published ones
(small cells suppressed), as on the page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import streamlit as st

from dashboard.auditing import auditor
from dashboard.data import ask, settings
from pipelines.analytics.cohorts import CohortFilter
from pipelines.reports.benchmarks import BenchmarkError, load
from pipelines.reports.board import build_board
from pipelines.reports.board_html import board_html
from pipelines.reports.board_pdf import board_pdf
from pipelines.reports.board_text import describe_cohort, with_text

PAGE = "clinic"
HELP = ("The director's one-page report for this cohort and period of first infusions: patients started and "
        "kept, PHQ-9 and GAD-7 response and remission (completers and intention to treat) for depression and "
        "other indications, beside published real-world figures, retention, safety and a methods box. Counts "
        "under the cell size are shown as <{size}.")


def report_documents(cohort: CohortFilter) -> dict[str, object]:
    """The two deferred documents for `cohort`: {"pdf": callable, "html": callable} giving bytes,
    each logging the export before it builds anything."""
    trail, config = auditor(), settings()
    text = describe_cohort(cohort)

    def document(kind: str):
        def build() -> bytes:
            trail.export(PAGE, None, f"one-page report ({kind}), {text}")  # no log entry, no document
            cached = ask(build_board, config, cohort, text)  # per database version; stamped now
            board = with_text(dataclasses.replace(cached, generated=dt.datetime.now().replace(microsecond=0)), config)
            return board_pdf(board) if kind == "pdf" else board_html(board).encode("utf-8")
        return build
    return {"pdf": document("pdf"), "html": document("html")}


def report_downloads(cohort: CohortFilter) -> None:
    """Two download buttons (PDF, HTML) for the one-page report of `cohort`; in their place, the
    reason when the clinic's benchmarks file cannot be used (it is read again on each run: a
    small file, and an edit shows at once)."""
    try:
        load(settings())
    except BenchmarkError as error:
        st.warning(f"The one-page report cannot be made: {error}. Correct the file, or remove "
                   "`benchmarks_file` from the `[report]` settings to use the shipped one (docs/report.md).",
                   icon=":material/warning:")
        return
    documents = report_documents(cohort)
    stamp = dt.date.today().isoformat()
    size = settings().privacy.min_cell_size
    row = st.container(horizontal=True)  # side by side, each as wide as its label
    row.download_button("One-page report (PDF)", documents["pdf"], file_name=f"outcomes-report-{stamp}.pdf",
                         mime="application/pdf", key="clinic_report_pdf", icon=":material/picture_as_pdf:",
                         on_click="ignore", help=HELP.format(size=size))
    row.download_button("One-page report (HTML)", documents["html"], file_name=f"outcomes-report-{stamp}.html",
                          mime="text/html", key="clinic_report_html", icon=":material/print:", on_click="ignore",
                          help=HELP.format(size=size))
