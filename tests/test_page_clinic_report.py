"""The Clinic outcomes page's "One-page report" downloads (dashboard/views/clinic_report.py), run
for real with AppTest on the sample clinic: both buttons are there, a click (the deferred data
callable, as Streamlit runs it) logs the export and gives the report of the page's current
filter; and the HTML report opened in a real Chromium fetches nothing and prints on one page."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader
from streamlit.runtime.media_file_manager import MediaFileManager

from conftest import open_page
from pipelines import audit
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.snapshot import open_snapshot
from pipelines.reports.board import build_board
from pipelines.reports.board_html import board_html
from pipelines.reports.headline import headline_rates
from pipelines.settings import ReportSettings, Settings

PAGE = "views/clinic.py"


def cell(rate, low, high) -> str:
    """How the test expects a rate printed: one decimal, interval in brackets."""
    return f"{100 * rate:.1f}% ({100 * low:.1f}-{100 * high:.1f})"


@pytest.fixture
def downloads(monkeypatch):
    """The data callables of deferred downloads, as the page registers them (calling one gives
    the bytes a click would download)."""
    registered = []
    original = MediaFileManager.add_deferred

    def record(self, data_callable, *args, **kwargs):
        registered.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return registered


def test_report_buttons_give_the_filtered_report_and_log_the_export(sample_database, monkeypatch, downloads):
    app = open_page(sample_database, PAGE, monkeypatch)
    labels = [button.proto.label for button in app.get("download_button")]
    assert "One-page report (PDF)" in labels and "One-page report (HTML)" in labels
    app.sidebar.multiselect(key="filter_sites").select("Riverside").run()
    assert not app.exception, [e.value for e in app.exception]
    log = audit.audit_path(sample_database, None)
    before = len(audit.read(log)[0]) if log.exists() else 0
    pdf, html = downloads[-2](), downloads[-1]()  # the PDF and HTML buttons of the filtered page
    reader = PdfReader(io.BytesIO(pdf))
    text = reader.pages[0].extract_text()
    riverside = CohortFilter(sites=("Riverside",), indications=("depression",))
    row = headline_rates(open_snapshot(sample_database), Settings(), "PHQ-9", riverside, "after_induction",
                         "itt").iloc[0]
    assert len(reader.pages) == 1 and "site: Riverside" in text
    assert cell(row["response_rate"], row["response_low"], row["response_high"]) in text
    assert html.decode("utf-8").startswith("<!DOCTYPE html>") and "site: Riverside" in html.decode("utf-8")
    entries, verification = audit.read(log)
    assert verification.ok and len(entries) == before + 2
    assert [(e.action, e.page, e.detail) for e in entries[-2:]] == [
        ("export", "clinic", "one-page report (pdf), site: Riverside"),
        ("export", "clinic", "one-page report (html), site: Riverside")]


def test_a_spoilt_benchmarks_file_is_explained_instead_of_the_buttons(sample_database, monkeypatch, tmp_path):
    spoilt, config = tmp_path / "ours.toml", tmp_path / "settings.toml"
    spoilt.write_text("[[benchmark]]\nkey = \"Ours\"\n", encoding="utf-8")
    config.write_text(f'[report]\nbenchmarks_file = "{spoilt}"\n', encoding="utf-8")
    monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
    app = open_page(sample_database, PAGE, monkeypatch)
    assert not [b for b in app.get("download_button") if b.proto.label.startswith("One-page report")]
    assert any(f"benchmarks file {spoilt}, entry 1 ('Ours'): missing basis, citation, doi" in w.value for w in app.warning)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (apt-get install chromium); .ci/run installs it")
@pytest.mark.parametrize("page_size", ["Letter", "A4"])
def test_html_report_in_a_browser_fetches_nothing_and_prints_on_one_page(sample_database, tmp_path, page_size):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by make setup")
    path = tmp_path / "report.html"
    board = build_board(open_snapshot(sample_database), Settings(report=ReportSettings(page_size=page_size)))
    path.write_text(board_html(board), encoding="utf-8")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 900, "height": 1200})
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri())
        # saved for docs/report.md by `make screenshots` ($OUTCOMES_SCREENSHOTS), as the browser test does
        folder = Path(os.environ.get("OUTCOMES_SCREENSHOTS") or tmp_path)
        page.screenshot(path=str(folder / f"one-page-report{'' if page_size == 'Letter' else '-a4'}.png"),
                        full_page=True)
        assert page.locator("svg circle").count() == 4  # the clinic's two rates on two panels
        assert "Clinic, completers" in page.inner_text("body")
        printed = page.pdf(prefer_css_page_size=True)
        browser.close()
    assert requests == [path.as_uri()]  # nothing but the file itself
    pages = PdfReader(io.BytesIO(printed)).pages
    assert len(pages) == 1  # at the page size of the CSS (@page), in points
    assert float(pages[0].mediabox.width) == pytest.approx({"Letter": 612, "A4": 595.3}[page_size], abs=1)
