"""DNS rebinding, tried for real: a page on another domain whose name resolves to 127.0.0.1
(simulated with Chromium's host resolver rules, exactly what a rebinding DNS server achieves)
reaches the running dashboard under that name, and gets a refusal instead of any record; the
same server still answers under `localhost` and its IP address (issue 15, item 4)."""

from __future__ import annotations

import pytest

from test_e2e_browser import CHROMIUM, a_patient_on_the_worklist, database, server, sync_api  # noqa: F401

REBOUND = "rebind.attacker.example"


@pytest.fixture(scope="module")
def rebinding_browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"])
        yield chromium
        chromium.close()


def open_patient(browser, url: str, wait_for: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.get_by_text(wait_for, exact=False).first.wait_for(timeout=90_000)
    page.wait_for_timeout(1500)  # let anything else the script would send arrive
    return page


def test_a_foreign_host_name_gets_a_refusal_and_no_record(server, rebinding_browser, database):
    patient = a_patient_on_the_worklist(database)
    port = server.rsplit(":", 1)[1]
    page = open_patient(rebinding_browser, f"http://{REBOUND}:{port}/patient?patient={patient}", "Refusing this request")
    try:
        text = page.locator("body").inner_text()
        assert "DNS rebinding" in text
        assert f"Patient {patient}" not in text and "Infusions so far" not in text and "Worklist" not in text
    finally:
        page.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_dashboard_still_answers_under_its_own_names(server, rebinding_browser, database, host):
    patient = a_patient_on_the_worklist(database)
    port = server.rsplit(":", 1)[1]
    page = open_patient(rebinding_browser, f"http://{host}:{port}/patient?patient={patient}", "Infusions so far")
    try:
        assert "Refusing this request" not in page.locator("body").inner_text()
    finally:
        page.close()
