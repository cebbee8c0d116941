"""Today on every page (dashboard/today.py, called by the router): the stale-data warning, the
demo note, the Patient page's treatment status and the Clinic outcomes page's status filter,
run for real with AppTest on the sample clinic (whose last infusion is on 30 Oct 2026)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import open_page
from pipelines.analytics.treatment_status import treatment_status
from pipelines.cli import main
from pipelines.settings import Settings

SETTINGS = Settings()


def warnings(app) -> list[str]:
    return [w.value for w in app.warning]


def test_every_page_warns_when_the_newest_infusion_is_old(sample_database, monkeypatch):
    # 7 Dec 2026 is 38 days after 30 Oct (1 + 30 + 7); the sample's import ran before that day.
    for page in ("views/worklist.py", "views/clinic.py", "views/data_quality.py", "views/patient.py"):
        app = open_page(sample_database, page, monkeypatch, today="2026-12-07")
        [warning] = [w for w in warnings(app) if "newest infusion" in w]
        assert "The newest infusion in this data is 38 days old (30 Oct): lists may miss recent patients." in warning


def test_no_warning_the_morning_after_the_data_ends(sample_database, monkeypatch):
    app = open_page(sample_database, "views/worklist.py", monkeypatch)  # 31 Oct
    assert not [w for w in warnings(app) if "newest infusion" in w]


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "outcomes.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTCOMES_TODAY", "2026-12-07")
        assert main(["demo", "--db", str(db)]) == 0
    return db


def test_the_demo_says_its_dates_were_moved_and_is_not_stale(demo_database, monkeypatch):
    app = open_page(demo_database, "views/worklist.py", monkeypatch, today="2026-12-07")
    assert any("Demo data: dates moved forward by 37 days so the sample ends yesterday" in i.value for i in app.info)
    assert not [w for w in warnings(app) if "newest infusion" in w]
    assert len(app.dataframe[0].value) > 0  # a realistic morning: patients in treatment with reasons


def test_the_patient_page_shows_the_status_and_days_since_the_last_infusion(sample_database, sample, monkeypatch):
    today = dt.date(2026, 10, 31)
    statuses = treatment_status(sample, SETTINGS, today)
    paused = statuses[statuses["status"] == "paused"].iloc[0]
    app = open_page(sample_database, "views/patient.py", monkeypatch, query={"patient": paused["patient_id"]})
    text = " ".join(m.value for m in app.markdown)
    assert f"Treatment status today:** Paused: last infusion {int(paused['days_since_last_infusion'])} days ago" in text
    inducted = statuses[statuses["status"] == "in induction"].iloc[0]
    app = open_page(sample_database, "views/patient.py", monkeypatch, query={"patient": inducted["patient_id"]})
    assert "Treatment status today:** In induction" in " ".join(m.value for m in app.markdown)


def test_the_clinic_page_filters_by_treatment_status(sample_database, sample, monkeypatch):
    statuses = treatment_status(sample, SETTINGS, dt.date(2026, 10, 31))
    ended = int((statuses["status"] == "ended").sum())
    app = open_page(sample_database, "views/clinic.py", monkeypatch)
    app.multiselect(key="filter_statuses").select("ended").run()
    assert not app.exception
    caption = next(c.value for c in app.caption if "treated patients" in c.value)
    assert "treatment status on 2026-10-31: ended" in caption.lower()
    assert re.search(rf"\b{ended} treated patients", caption), caption


# --- the Worklist's Today view -----------------------------------------------------------


def test_the_today_view_lists_who_is_booked_with_scales_and_alerts(demo_database, monkeypatch):
    # The demo (sample moved 37 days) on 7 Dec: the sample's seven bookings of 31 Oct fall on today.
    from pipelines.analytics.bookings import booked_on
    import duckdb

    con = duckdb.connect(str(demo_database), read_only=True)
    try:
        expected = booked_on(con, SETTINGS, dt.date(2026, 12, 7))
    finally:
        con.close()
    assert len(expected) == 7
    app = open_page(demo_database, "views/worklist.py", monkeypatch, today="2026-12-07")
    app.radio(key="worklist_view").set_value("Today").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert table["patient"].tolist() == [f"patient?patient={pid}" for pid in expected["patient_id"]]
    assert table["time"].tolist() == [f"{t:%H:%M}" for t in expected["planned_at"]]
    assert all(text.startswith("PHQ-9 missing") for text in table["scales"])  # nobody has filled them in yet
    assert table["alerts"].tolist() == ["; ".join(r) if r else "none" for r in expected["reasons"]]
    assert app.metric[0].value == "7"
    assert any("Booked for **Monday 7 December 2026**" in c.value for c in app.caption)


def test_an_acknowledged_alert_is_not_open_in_the_today_view(demo_database, tmp_path, monkeypatch):
    """A booked patient's alert, acknowledged in the store, leaves the Today view's open alerts
    as it leaves the Worklist; the others stay."""
    import shutil

    import duckdb

    from pipelines.analytics.alerts import alert_events, raised_alerts
    from pipelines.analytics.bookings import booked_on
    from pipelines.analytics.worklist import worklist
    from pipelines.store import acknowledgements

    db = tmp_path / "outcomes.duckdb"  # a copy: its own store and audit log
    shutil.copy(demo_database, db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        booked = booked_on(con, SETTINGS, dt.date(2026, 12, 7))
        raised = raised_alerts(worklist(con, SETTINGS, as_of=dt.date(2026, 12, 7)), alert_events(con, SETTINGS))
    finally:
        con.close()
    with_alerts = booked[[len(r) > 0 for r in booked["reasons"]]]
    assert len(with_alerts), "the demo's bookings include a patient with an open alert: the check means something"
    patient_id = with_alerts["patient_id"].iloc[0]
    event = raised[raised["patient_id"] == patient_id].iloc[0]
    acknowledgements.record(db, tmp_path / "audit.log", patient_id=patient_id, reason=event["reason"],
                            event_key=event["event_key"], action="plan changed", note="", user="local:test",
                            role="clinician", page="worklist")
    app = open_page(db, "views/worklist.py", monkeypatch, today="2026-12-07")
    app.radio(key="worklist_view").set_value("Today").run()
    assert not app.exception
    table = app.dataframe[0].value.assign(patient_id=booked["patient_id"].tolist())
    shown = table.loc[table["patient_id"] == patient_id, "alerts"].iloc[0]
    before = "; ".join(with_alerts["reasons"].iloc[0])
    assert shown != before and len(shown) < len(before)  # one reason fewer (or "none")


def test_the_today_view_says_when_nobody_is_booked(sample_database, monkeypatch):
    app = open_page(sample_database, "views/worklist.py", monkeypatch, today="2026-11-01")  # a Sunday, no bookings
    app.radio(key="worklist_view").set_value("Today").run()
    assert not app.dataframe
    assert any("Nobody is booked today" in i.value for i in app.info)
