"""End to end: a full patient check-in on a tablet-sized screen (768 x 1024) in headless Chromium,
on the real app (`streamlit run`) serving a freshly ingested small clinic in treatment now. A clinician opens
the check-in on the Patient page and starts it on the same device; the patient answers every
question with a tap (item 9 above 0), sends, sees the crisis line; within a minute the patient
is on the Worklist with the check-in's score. Screenshots (to $OUTCOMES_SCREENSHOTS when set,
e.g. docs/screenshots for the README): checkin.png (the form) and checkin-sent.png."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import duckdb
import pytest

from conftest import ASSESSMENT_HEADER, assessment, patient, phq9_items, session, write_csv
from pipelines.formats import PATIENTS, SESSIONS
from pipelines.ingest import ingest
from pipelines.settings import Settings
from test_e2e_browser import CHROMIUM, ERROR_BOXES, SETTLED, free_port, screenshot_dir, streamlit_server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is installed by make setup")

TABLET = {"width": 768, "height": 1024}
PATIENT = "000001"  # depression (the helpers' default): PHQ-9 (with the difficulty question), then GAD-7
# One tap per question, in page order: PHQ-9 items 1-9 (item 9 "Several days"), difficulty, GAD-7 1-7.
TAPS = ["Several days", "More than half the days", "Several days", "Nearly every day", "Not at all",
        "Several days", "Several days", "Not at all", "Several days", "Somewhat difficult",
        "Several days", "Several days", "Not at all", "More than half the days", "Not at all", "Skip",
        "Several days"]
PHQ9_TOTAL = 1 + 2 + 1 + 3 + 0 + 1 + 1 + 0 + 1  # 10 (items 1-9; the difficulty question is not summed)


@pytest.fixture
def served(tmp_path):
    """A small clinic in treatment now (check-ins are sent on the real clock, so the data must be
    current for the Worklist): the patient's first infusion was yesterday, after a baseline PHQ-9
    with item 9 = 0; a second patient keeps the list from being the patient alone."""
    db = tmp_path / "outcomes.duckdb"
    yesterday, before = (dt.datetime.now() - dt.timedelta(days=d) for d in (1, 3))
    exports = tmp_path / "exports"
    exports.mkdir()
    write_csv(exports / "patients.csv", list(PATIENTS.columns),
              [patient(pid, intake=f"{before:%Y-%m-%d}") for pid in (PATIENT, "000002")])
    write_csv(exports / "sessions.csv", list(SESSIONS.columns),
              [session(f"S{pid}", f"{yesterday:%Y-%m-%d} 09:00", pid=pid) for pid in (PATIENT, "000002")])
    write_csv(exports / "assessments.csv", ASSESSMENT_HEADER,
              [assessment(f"A{pid}", f"{before:%Y-%m-%d} 10:00", items=phq9_items(14), pid=pid)
               for pid in (PATIENT, "000002")])
    ingest(db, [exports], Settings())
    port = free_port()
    env = {**os.environ, "OUTCOMES_DB": str(db), "OUTCOMES_AUDIT_LOG": str(tmp_path / "audit.log")}
    with streamlit_server(port, env, tmp_path / "streamlit.log"):
        yield f"http://127.0.0.1:{port}", db


def settle(page) -> None:
    for _ in range(2):
        page.wait_for_function(SETTLED, timeout=90_000)
        page.wait_for_timeout(400)


def item9_metric(page, url: str | None = None) -> int:
    """The Worklist's count of patients whose latest PHQ-9 has item 9 above 0."""
    if url:
        page.goto(f"{url}/worklist")
        page.get_by_text("Patients shown").wait_for(timeout=90_000)
        settle(page)
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Item 9 positive").first
    return int(metric.locator('[data-testid="stMetricValue"]').inner_text().replace(",", ""))


def test_a_full_checkin_on_a_tablet_reaches_the_worklist(served, tmp_path):
    url, db = served
    shots = screenshot_dir(tmp_path)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=TABLET)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        item9_before = item9_metric(page, url)
        # The clinician, on the Patient page: open a check-in, hand this device over.
        page.goto(f"{url}/patient?patient={PATIENT}")
        page.get_by_role("button", name="Open a check-in for this patient").click()
        page.get_by_role("button", name="Start check-in on this device").click()
        page.get_by_text("How you have been feeling (PHQ-9)").wait_for(timeout=90_000)
        settle(page)
        assert page.get_by_text("Worklist").count() == 0  # no navigation: the check-in page alone
        groups = page.locator('[data-testid="stButtonGroup"]')
        assert groups.count() == len(TAPS)
        for number, label in enumerate(TAPS):
            button = groups.nth(number).get_by_role("radio", name=label, exact=True)
            box = button.bounding_box()
            assert box["height"] >= 44, f"question {number + 1}: a {box['height']} px target is too small to tap"
            button.click()
        page.locator('[data-testid="stButtonGroup"]').first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "checkin.png"))
        page.get_by_role("button", name="Send my answers").click()
        page.get_by_text("Thank you.").wait_for(timeout=90_000)
        assert page.get_by_text("988 Suicide & Crisis Lifeline: call or text 988").count() == 1
        settle(page)
        page.screenshot(path=str(shots / "checkin-sent.png"))
        # The patient presses Back, again and again: the tab shows no staff page.
        for _ in range(3):
            page.go_back()
            page.wait_for_timeout(1500)
            settle(page)
            assert page.get_by_text("Infusions so far").count() == 0 and page.get_by_text("Patients shown").count() == 0
        assert not errors, errors

        # Within a minute the background publish has scored it into the database ...
        deadline = time.monotonic() + 60
        while True:
            with duckdb.connect(str(db), read_only=True) as con:
                got = con.execute("SELECT total, item9_positive FROM assessments WHERE source_file = 'check-in' "
                                  "AND instrument = 'PHQ-9'").fetchall()
            if got or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert got == [(PHQ9_TOTAL, True)]
        # ... the Patient page lists it as in the outcomes, with its score ...
        staff = browser.new_page(viewport={"width": 1280, "height": 1400})
        staff.goto(f"{url}/patient?patient={PATIENT}")
        staff.get_by_text("Check-ins", exact=True).wait_for(timeout=90_000)
        settle(staff)
        grid = staff.locator('[data-testid="stDataFrame"]').filter(has_text="in the outcomes").first
        rows = grid.locator('[role="row"]')
        rows.nth(1).wait_for(state="attached", timeout=30_000)
        assert any(f"PHQ-9{PHQ9_TOTAL}" in rows.nth(k).evaluate("row => row.textContent") for k in range(1, rows.count()))
        # ... and one more patient counts as item 9 positive on the Worklist.
        staff.goto(f"{url}/worklist")
        staff.get_by_text("Patients shown").wait_for(timeout=90_000)
        settle(staff)
        assert staff.locator(ERROR_BOXES).count() == 0
        assert item9_metric(staff) == item9_before + 1
        # The grid draws on a canvas; its accessible table holds the rows' text (row 0: headers).
        rows = staff.locator('[data-testid="stDataFrame"]').first.locator('[role="row"]')
        rows.nth(1).wait_for(state="attached", timeout=30_000)
        first_row = rows.nth(1).evaluate("row => row.textContent")
        assert f"patient={PATIENT}" in first_row and "item 9 positive" in first_row
        staff.screenshot(path=str(shots / "checkin-worklist.png"))
        browser.close()
