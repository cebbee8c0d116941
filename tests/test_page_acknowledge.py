"""Acknowledging an alert in the real dashboard (AppTest) on a copy of the sample clinic: the
Patient page's form records it (who, what, note) with an audit entry, the alert leaves the
Worklist (and shows under "acknowledged"), the Patient page shows its history, and a new PHQ-9
with item 9 positive, ingested, raises it again at the top of the Worklist."""

from __future__ import annotations

import datetime as dt
import getpass
import shutil

import duckdb
import pytest

from conftest import ASSESSMENT_HEADER, SAMPLE_TODAY, assessment, open_page, phq9_items, write_csv
from pipelines import audit
from pipelines.analytics.alerts import acknowledged_alerts, alert_events, open_worklist, raised_alerts
from pipelines.analytics.cohorts import IN_TREATMENT, CohortFilter, status_filter
from pipelines.analytics.worklist import worklist
from pipelines.ingest import ingest
from pipelines.settings import Settings
from pipelines.store import acknowledgements

SETTINGS = Settings()
PATIENT, WORKLIST = "views/patient.py", "views/worklist.py"
TODAY = dt.date.fromisoformat(SAMPLE_TODAY)  # the pages open the morning after the sample ends


@pytest.fixture(scope="module")
def clinic_copy(sample_database, tmp_path_factory):
    """A copy of the sample database in a folder of its own: its own store and audit log."""
    db = tmp_path_factory.mktemp("acknowledge") / "outcomes.duckdb"
    shutil.copy(sample_database, db)
    return db


def open_alerts(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        # as the Worklist shows it by default: today, patients in treatment
        frame = worklist(con, SETTINGS, as_of=TODAY, cohort=status_filter(CohortFilter(), SETTINGS, TODAY, IN_TREATMENT))
        alerts = acknowledged_alerts(raised_alerts(frame, alert_events(con, SETTINGS)), acknowledgements.latest(db))
        latest_phq9 = con.execute("SELECT patient_id, max(administered_at) FROM assessments WHERE instrument = 'PHQ-9' "
                                  "GROUP BY ALL").fetchall()
    finally:
        con.close()
    return open_worklist(frame, alerts), alerts, dict(latest_phq9)


def worklist_rows(app):
    """The Worklist's table with the patient id taken from each row's link."""
    table = app.dataframe[0].value
    return table.assign(patient_id=table["patient"].str.removeprefix("patient?patient=")).reset_index(drop=True)


def history(app):
    return next(table.value for table in app.dataframe if "Alert" in table.value.columns)


def test_acknowledge_on_the_patient_page_then_the_worklist_then_a_new_event(clinic_copy, monkeypatch):
    listed, alerts, latest_phq9 = open_alerts(clinic_copy)
    first = listed.iloc[0]
    assert first["item9_positive"]  # the sample has item-9 alerts: one is at the top
    patient_id = first["patient_id"]
    [event] = alerts[(alerts["patient_id"] == patient_id) & (alerts["reason"] == "item9_positive")]["event_key"]

    app = open_page(clinic_copy, PATIENT, monkeypatch, query={"patient": patient_id})
    assert [s.value for s in app.subheader][:1] == ["Alerts"]
    before = history(app)
    assert before.loc[before["Alert"].str.startswith("Item 9 positive"), "Status"].tolist() == ["open"]
    app.selectbox(key="acknowledge_patient_alert").select(f"item9_positive|{event}")
    app.selectbox(key="acknowledge_patient_action").select("safety assessment done")
    app.text_area(key="acknowledge_patient_note").input("Seen in clinic; no current plan; safety plan reviewed")
    next(b for b in app.button if b.label == "Acknowledge").click().run()
    assert not app.exception, [e.value for e in app.exception]

    # the confirmation, the history, the store and the audit log agree
    assert any("Acknowledged for patient" in s.value and "Item 9 positive" in s.value for s in app.success)
    after = history(app)
    done = after[after["Status"] == "acknowledged"]
    assert done[["Alert", "Event", "What was done", "Note", "By"]].values.tolist() == [[
        "Item 9 positive (thoughts of death or self-harm)", event, "safety assessment done",
        "Seen in clinic; no current plan; safety plan reviewed", f"local:{getpass.getuser()}"]]
    assert done["Raised"].iloc[0] != "" and done["When (UTC)"].iloc[0].startswith(f"{dt.date.today():%Y}")
    [row] = acknowledgements.for_patient(clinic_copy, patient_id).to_dict("records")
    assert (row["reason"], row["event_key"], row["role"]) == ("item9_positive", event, SETTINGS.access.local_role)
    entries, verification = audit.read(clinic_copy.parent / "audit.log")
    assert verification.ok
    assert [(e.action, e.patient_id, e.page) for e in entries if e.action == "acknowledge"] == [
        ("acknowledge", patient_id, "patient")]
    assert acknowledgements.reconcile(clinic_copy, clinic_copy.parent / "audit.log") == (set(), set())

    # the Worklist: the alert is off the list, and under "acknowledged"
    app = open_page(clinic_copy, WORKLIST, monkeypatch)
    table = worklist_rows(app)
    row = table[table["patient_id"] == patient_id]
    assert row.empty or "item 9 positive" not in row["reasons_text"].iloc[0]
    assert table["patient_id"].iloc[0] != patient_id
    toggle = app.toggle(key="worklist_show_acknowledged")
    assert toggle.label == "Show acknowledged alerts (1)"
    toggle.set_value(True).run()
    shown = next(t.value for t in app.dataframe if "What was done" in t.value.columns)
    assert shown[["Patient", "Event", "What was done"]].values.tolist() == [[patient_id, event, "safety assessment done"]]

    # a new PHQ-9 with item 9 positive (the day after the latest), ingested: the alert is back on top
    when = (latest_phq9[patient_id] + dt.timedelta(days=1)).isoformat()
    exports = clinic_copy.parent / "new"
    exports.mkdir()
    new = write_csv(exports / "assessments.csv", ASSESSMENT_HEADER,
                    [assessment("NEW-ITEM9", when, "PHQ-9", phq9_items(14, 2), pid=patient_id)])
    assert ingest(clinic_copy, [new], SETTINGS).totals.inserted == 1
    app = open_page(clinic_copy, WORKLIST, monkeypatch)
    table = worklist_rows(app)
    top = table[table["reasons_text"].str.startswith("item 9 positive")]
    assert patient_id in top["patient_id"].tolist() and table.index[table["patient_id"] == patient_id][0] < len(top)
    assert app.toggle(key="worklist_show_acknowledged").label == "Show acknowledged alerts (0)"
    app = open_page(clinic_copy, PATIENT, monkeypatch, query={"patient": patient_id})
    statuses = history(app)[["Event", "Status"]].values.tolist()
    assert ["PHQ-9 NEW-ITEM9", "open"] in statuses and [event, "acknowledged"] in statuses
