"""In the real browser, a name or id holding a web address or an e-mail address is text, never a
link (issue 15: a URL inside a clinician's name became a clickable link in the Patient header,
because GitHub-flavoured Markdown links `https://...`, `www....` and `a@b.c` even when escaped).
Runs the real server (`streamlit run`) on a one-patient clinic with such names, in Chromium."""

from __future__ import annotations

import pytest

from conftest import Clinic, assessment, patient, phq9_items, session
from test_e2e_browser import CHROMIUM, browser, server, sync_api  # noqa: F401  (fixtures)

ADDRESSES = "Dr. Evil https://evil.example/steal?x=1 www.evil.example a@evil.example"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("names"))
    clinic.patients = [patient(pid="www.patient.example", clinician=ADDRESSES, site="http://site.example")]
    clinic.sessions = [session("S1", "2025-01-06T09:00:00", pid="www.patient.example")]
    clinic.assessments = [assessment("A1", "2025-01-06T08:30:00", "PHQ-9", phq9_items(18), pid="www.patient.example")]
    clinic.load()
    return clinic.db


def test_the_patient_page_shows_addresses_in_names_as_text_not_links(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    try:
        page.goto(f"{server}/patient?patient=www.patient.example")
        page.get_by_text("Intake:", exact=False).first.wait_for(timeout=90_000)
        page.wait_for_timeout(1000)
        main = page.locator('[data-testid="stMain"]')
        assert "Clinician: " + ADDRESSES in main.inner_text().replace("\u2060", "")
        external = main.locator("a").evaluate_all(
            "links => links.map(a => a.href).filter(href => !href.startsWith(location.origin))")
        assert external == [], external
    finally:
        page.close()
