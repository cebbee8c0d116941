"""The printable patient summary (dashboard/summary.py) on the sample clinic: small, no word of
hovering, every scale drawn, scales in the order of the patient's indication, doses in the
unit they are prescribed in, and one page when Chromium prints it (issue 16: it was 4.8 MB of
inlined plotly.js and ran over a page)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from dashboard.summary import progress_summary_html, scales_table, sessions_table
from pipelines.analytics.patient import patient_record, scale_bands
from pipelines.analytics.snapshot import open_snapshot
from pipelines.settings import Settings

SETTINGS = Settings()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def snapshot(sample_database):
    con = open_snapshot(sample_database)
    yield con
    con.close()


def four_scale_patient(snapshot) -> str:
    """The sample patient with scores on all four scales and the most infusions."""
    return snapshot.execute("""
        SELECT patient_id FROM scores WHERE total IS NOT NULL GROUP BY patient_id HAVING count(DISTINCT instrument) = 4
        ORDER BY (SELECT count(*) FROM sessions s WHERE s.patient_id = scores.patient_id) DESC, patient_id
        LIMIT 1""").fetchone()[0]


def summary_of(snapshot, patient_id: str) -> str:
    record = patient_record(snapshot, SETTINGS, patient_id)
    return progress_summary_html(record["summary"].iloc[0], record["scales"], record["sessions"], record["scores"],
                                 scale_bands(snapshot), SETTINGS, generated_at=dt.datetime(2026, 12, 7, 9, 0))


def test_summary_is_small_self_contained_and_draws_every_scale(snapshot):
    page = summary_of(snapshot, four_scale_patient(snapshot))
    assert len(page.encode()) < 300_000
    assert "hover" not in page.lower()
    assert "<script" not in page and "src=" not in page and "href=" not in page  # nothing fetched
    assert page.count("<svg") == 4
    for name in ("PHQ-9 (depression)", "GAD-7 (anxiety)", "PCL-5 (PTSD)", "Pain (0-10)"):
        assert f'aria-label="{name} by infusion"' in page


def test_ptsd_patient_sees_the_pcl5_first(snapshot):
    """Clinical reference: the PCL-5 is the PTSD checklist, so a PTSD patient's table starts with it;
    a depression patient's with the PHQ-9."""
    ptsd = snapshot.execute("""SELECT p.patient_id FROM patients p JOIN scores s USING (patient_id)
                               WHERE p.primary_indication = 'ptsd' GROUP BY ALL
                               HAVING count(DISTINCT s.instrument) >= 2 ORDER BY 1 LIMIT 1""").fetchone()[0]
    record = patient_record(snapshot, SETTINGS, ptsd)
    table = scales_table(record["scales"], "ptsd")
    assert table["Scale"].iloc[0] == "PCL-5 (PTSD)"
    assert scales_table(record["scales"], "depression")["Scale"].iloc[0] == "PHQ-9 (depression)"
    page = summary_of(snapshot, ptsd)
    assert page.index("PCL-5 (PTSD)") < page.index("PHQ-9 (depression)")


def test_intranasal_doses_are_in_mg(snapshot):
    """Intranasal esketamine is a fixed dose (56 or 84 mg): shown in mg, IV and IM in mg/kg."""
    patient_id = snapshot.execute("""SELECT patient_id FROM sessions WHERE route = 'intranasal'
                                     GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1""").fetchone()[0]
    sessions = patient_record(snapshot, SETTINGS, patient_id)["sessions"]
    table = sessions_table(sessions)
    nasal = table[sessions["route"].to_numpy() == "intranasal"]
    mg = sessions.loc[sessions["route"] == "intranasal", "dose_mg"]
    assert list(nasal["Dose"]) == [f"{v:g} mg" for v in mg]
    others = sessions[sessions["route"] != "intranasal"]
    assert list(table.loc[others.index, "Dose"]) == [f"{v:.2f} mg/kg" for v in others["dose_mg_per_kg"]]


def most_infusions_patient(snapshot) -> str:
    """The sample patient with the most infusions (ten listed on the page, the tallest table)."""
    return snapshot.execute("SELECT patient_id FROM sessions GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]


@pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium")
@pytest.mark.parametrize("which", [four_scale_patient, most_infusions_patient], ids=["four scales", "most infusions"])
def test_summary_prints_on_one_page(snapshot, tmp_path, which):
    """Printed by Chromium (Playwright's page.pdf: A4 as the page's @page rule asks, and US
    Letter), the summary is one page; pypdf counts them."""
    sync_api = pytest.importorskip("playwright.sync_api")
    pypdf = pytest.importorskip("pypdf")
    html = tmp_path / "summary.html"
    html.write_text(summary_of(snapshot, which(snapshot)))
    pdf, letter = tmp_path / "summary.pdf", tmp_path / "letter.pdf"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(html.as_uri())
            page.pdf(path=str(pdf), prefer_css_page_size=True)
            page.pdf(path=str(letter), format="Letter")
        finally:
            browser.close()
    assert requests == [html.as_uri()]  # the file itself, nothing else
    assert len(pypdf.PdfReader(str(pdf)).pages) == 1
    assert len(pypdf.PdfReader(str(letter)).pages) == 1
    text = pypdf.PdfReader(str(pdf)).pages[0].extract_text()
    assert "Ketamine treatment progress summary" in text and "Course by infusion" in text
