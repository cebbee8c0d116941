"""End to end: acknowledging an alert in the real app (`streamlit run`) with headless Chromium.
A clinician opens the Patient page of the patient at the top of the Worklist (an open item-9
alert), chooses what was done, writes a note and presses Acknowledge; the page confirms, the
history shows it, the store holds it with its audit entry, and the Worklist's top row changes.
Screenshots go where tests/test_e2e_browser.py puts its own."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import duckdb
import pytest

from conftest import SAMPLE, SAMPLE_TODAY
from pipelines import audit
from pipelines.analytics.alerts import acknowledged_alerts, alert_events, open_worklist, raised_alerts
from pipelines.analytics.cohorts import IN_TREATMENT, CohortFilter, status_filter
from pipelines.analytics.worklist import worklist
from pipelines.ingest import ingest
from pipelines.settings import Settings
from pipelines.store import acknowledgements

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by make setup")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("no system Chromium (apt-get install chromium); .ci/run installs it", allow_module_level=True)

from test_e2e_browser import ERROR_BOXES, SETTLED, free_port, screenshot_dir, streamlit_server  # noqa: E402

SETTINGS = Settings()
TODAY = dt.date.fromisoformat(SAMPLE_TODAY)  # the server's today ($OUTCOMES_TODAY): the morning after the sample ends


def top_of_the_worklist(db, item9: bool = True) -> tuple[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        # as the Worklist shows it by default: today, patients in treatment
        frame = worklist(con, SETTINGS, as_of=TODAY, cohort=status_filter(CohortFilter(), SETTINGS, TODAY, IN_TREATMENT))
        alerts = acknowledged_alerts(raised_alerts(frame, alert_events(con, SETTINGS)), acknowledgements.latest(db))
    finally:
        con.close()
    first = open_worklist(frame, alerts).iloc[0]
    assert first["item9_positive"] or not item9
    return first["patient_id"], first["reasons"][0]


def settle(page) -> None:
    for _ in range(2):
        page.wait_for_function(SETTLED, timeout=90_000)
        page.wait_for_timeout(500)


def test_a_clinician_acknowledges_an_item9_alert(tmp_path_factory, tmp_path):
    db = tmp_path_factory.mktemp("e2e-acknowledge") / "outcomes.duckdb"
    ingest(db, [SAMPLE], SETTINGS)
    patient_id, _ = top_of_the_worklist(db)
    port = free_port()
    with streamlit_server(port, {**os.environ, "OUTCOMES_DB": str(db), "OUTCOMES_TODAY": SAMPLE_TODAY}, tmp_path / "streamlit.log"), \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 2000})
        page.goto(f"http://127.0.0.1:{port}/patient?patient={patient_id}")
        page.get_by_text("Acknowledge an alert").first.wait_for(timeout=90_000)
        settle(page)
        form = page.locator('[data-testid="stForm"]')
        form.get_by_label("What was done").click()
        page.get_by_role("option", name="contacted patient").click()
        form.get_by_label("Note (optional)").fill("Phoned: safe, no plan; seen tomorrow")
        form.get_by_role("button", name="Acknowledge").click()
        page.get_by_text("Acknowledged for patient").wait_for(timeout=90_000)
        settle(page)
        assert page.locator(ERROR_BOXES).count() == 0, page.locator(ERROR_BOXES).first.inner_text()
        page.screenshot(path=str(screenshot_dir(tmp_path) / "patient-alerts.png"), full_page=True)

        # on the Worklist: select the top row, acknowledge its first alert
        second, _ = top_of_the_worklist(db)
        page.goto(f"http://127.0.0.1:{port}/worklist")
        page.get_by_text("Patients shown").first.wait_for(timeout=90_000)
        settle(page)
        grid = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
        page.mouse.click(grid["x"] + 15, grid["y"] + 35 + 17)  # the first row's selection box
        page.get_by_text(f"Acknowledge an alert of patient {second}").wait_for(timeout=90_000)
        settle(page)
        form = page.locator('[data-testid="stForm"]')
        form.get_by_label("What was done").click()
        page.get_by_role("option", name="safety assessment done").click()
        form.get_by_role("button", name="Acknowledge").click()
        page.get_by_text(f"Acknowledged for patient {second}").wait_for(timeout=90_000)
        settle(page)
        assert page.get_by_text("Show acknowledged alerts (2)").count() == 1
        assert page.get_by_text("Select a patient's row").count() == 1  # the selection did not move on
        assert page.locator(ERROR_BOXES).count() == 0, page.locator(ERROR_BOXES).first.inner_text()
        page.screenshot(path=str(tmp_path / "worklist-acknowledged.png"), full_page=True)  # not in the README
        browser.close()
    [row] = acknowledgements.for_patient(db, patient_id).to_dict("records")
    assert (row["reason"], row["action"], row["note"]) == ("item9_positive", "contacted patient",
                                                          "Phoned: safe, no plan; seen tomorrow")
    entries, verification = audit.read(db.parent / "audit.log")
    assert verification.ok and [e.patient_id for e in entries if e.action == "acknowledge"] == [patient_id, second]
    [later] = acknowledgements.for_patient(db, second).to_dict("records")
    assert (later["reason"], later["action"]) == ("item9_positive", "safety assessment done")
    assert top_of_the_worklist(db, item9=False)[0] not in (patient_id, second)
