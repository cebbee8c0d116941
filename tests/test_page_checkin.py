"""The check-in page in the real dashboard (AppTest): a code opens the form for its patient's
scales only, every question must be answered or skipped, the answers are saved and published
into the outcomes (source `check-in`), item 9 above 0 shows the crisis line and reaches the
Worklist at once, and used, expired or unknown codes get a plain message. Every step is audited."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from dashboard.questionnaires import GAD7, PHQ9
from pipelines import audit
from pipelines.ingest import ingest
from pipelines.publish import ingest_lock
from pipelines.settings import Settings
from pipelines.store.checkins import ScaleAnswers, new_code, read_answers, save_checkin
from conftest import open_page, patient, session

ANSWERS = {"PHQ-9": (1, 2, 1, 1, 0, 1, 1, 0, 1, 1), "GAD-7": (2, 1, 1, 1, 0, 1, 1)}  # PHQ-9 9 items: 8; GAD-7: 7


@pytest.fixture
def loaded(clinic, tmp_path, monkeypatch):
    """Two patients in treatment now (an infusion yesterday, on the real clock: check-ins are
    sent now, so the clinic's data must be current for the Worklist to count them)."""
    monkeypatch.setenv("OUTCOMES_AUDIT_LOG", str(tmp_path / "audit.log"))
    yesterday = dt.datetime.now() - dt.timedelta(days=1)
    clinic.patients = [patient("001", intake=f"{yesterday:%Y-%m-%d}"),
                       patient("002", indication="ptsd", intake=f"{yesterday:%Y-%m-%d}")]
    clinic.sessions = [session("S1", f"{yesterday:%Y-%m-%d} 09:00")]
    ingest(clinic.db, clinic.write(), Settings())
    return clinic


def entries(tmp_path):
    return audit.read(tmp_path / "audit.log")[0]


def answer(app, scale, values):
    for number, value in enumerate(values, start=1):
        app.segmented_control(key=f"checkin_{scale.code}_{number}").set_value(value)


def checkin(app, answers=ANSWERS):
    answer(app, PHQ9, answers["PHQ-9"])
    answer(app, GAD7, answers["GAD-7"])
    app.form_submit_button[0].click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]


def wait_for_checkins(clinic, n, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if clinic.db.exists() and clinic.one("SELECT count(*) AS n FROM assessments "
                                             "WHERE source_file = 'check-in'").n == n:
            return
        time.sleep(1)
    raise AssertionError(f"the background publish did not load {n} check-in scale(s) in {timeout} s")


def test_a_full_checkin_is_scored_published_and_on_the_worklist(loaded, tmp_path, monkeypatch):
    code, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30)
    app = open_page(loaded.db, None, monkeypatch, query={"code": code})
    # Depression: PHQ-9 (9 items + difficulty) then GAD-7; nothing else, no navigation.
    assert [s.value for s in app.subheader] == [PHQ9.title, GAD7.title]
    assert len(app.segmented_control) == 10 + 7
    assert PHQ9.items[8] in [c.label for c in app.segmented_control][8]
    assert not app.sidebar.children or not any(e.type == "navigation" for e in app.sidebar.children.values())
    checkin(app, {"PHQ-9": (1, 2, 1, 1, 0, 1, 1, 0, 0, "skip"), "GAD-7": ANSWERS["GAD-7"]})
    assert "Thank you" in app.success[0].value
    assert not app.error  # item 9 = 0: no safety message
    stored = {a.instrument: a for a in read_answers(loaded.db)}
    assert stored["PHQ-9"].items == (1, 2, 1, 1, 0, 1, 1, 0, 0, None) and stored["PHQ-9"].skipped == (10,)
    wait_for_checkins(loaded, 2)
    # 1+2+1+1+0+1+1+0+0 = 7; GAD-7 2+1+1+1+0+1+1 = 7 (same scoring SQL as every export)
    assert {r.instrument: r.total for r in loaded.rows(
        "SELECT instrument, total FROM assessments WHERE source_file = 'check-in'")} == {"PHQ-9": 7, "GAD-7": 7}
    # The Patient page lists the patient's check-ins with their scores from the database.
    page = open_page(loaded.db, "views/patient.py", monkeypatch, query={"patient": "001"})
    listed = next(d.value for d in page.dataframe if "Status" in d.value.columns and "Skipped" in d.value.columns)
    assert sorted(zip(listed["Scale"], listed["Score"], listed["Skipped"], listed["Status"])) == [
        ("GAD-7", 7, "", "in the outcomes"), ("PHQ-9", 7, "10", "in the outcomes")]
    actions = [(e.action, e.patient_id, e.detail) for e in entries(tmp_path)]
    assert ("checkin-attempt", "001", "code open") in actions
    assert any(a == "checkin" and p == "001" for a, p, _ in actions)
    # The code is used now: sending again, or opening it again, gets a plain message.
    again = open_page(loaded.db, None, monkeypatch, query={"code": code})
    assert "already been sent" in again.info[0].value and not again.segmented_control


def test_item_9_above_0_shows_the_crisis_line_and_tops_the_worklist_at_once(loaded, monkeypatch):
    code, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30)
    # Before any publish has loaded it, the Worklist shows the patient above the list. The test
    # holds the ingest lock meanwhile, as a running nightly ingest would: the background publish
    # waits behind it, so this state is seen every time, however fast the publish.
    with ingest_lock(loaded.db):
        app = open_page(loaded.db, None, monkeypatch, query={"code": code})
        checkin(app)
        assert "988 Suicide & Crisis Lifeline: call or text 988" in app.error[0].value
        worklist = open_page(loaded.db, "views/worklist.py", monkeypatch)
        assert "item 9 positive" in worklist.error[0].value and "001" in worklist.error[0].value
    wait_for_checkins(loaded, 2)
    worklist = open_page(loaded.db, "views/worklist.py", monkeypatch)
    assert not worklist.error  # loaded now: on the list itself, at the top
    top = worklist.dataframe[0].value.iloc[0]
    assert top["patient"] == "patient?patient=001" and "item 9" in top["reasons_text"].lower()


def test_every_question_must_be_answered_or_skipped(loaded, monkeypatch):
    code, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30)
    app = open_page(loaded.db, None, monkeypatch, query={"code": code})
    answer(app, PHQ9, ANSWERS["PHQ-9"][:9])  # no difficulty question, no GAD-7
    app.form_submit_button[0].click()
    app.run()
    assert "PHQ-9 question 10" in app.error[0].value and "GAD-7 question 7" in app.error[0].value
    assert read_answers(loaded.db) == []


def test_the_indication_decides_the_scales(loaded, monkeypatch):
    code, _ = new_code(loaded.db, "002", "dr@example.org", minutes=30)  # PTSD: PCL-5 then PHQ-9
    app = open_page(loaded.db, None, monkeypatch, query={"code": code})
    assert [s.value for s in app.subheader] == ["Reactions to a stressful experience (PCL-5)", PHQ9.title]
    assert len(app.segmented_control) == 20 + 10


@pytest.mark.parametrize("status", ["expired", "unknown", "used"])
def test_a_code_that_does_not_open_gets_a_plain_message_and_is_audited(loaded, tmp_path, monkeypatch, status):
    if status == "unknown":
        code = "AAAA-BBBB-CCCC"
    else:
        opened = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31 if status == "expired" else 1)
        code, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30, now=opened)
        if status == "used":
            save_checkin(loaded.db, code, [ScaleAnswers("GAD-7", ANSWERS["GAD-7"])])
    app = open_page(loaded.db, None, monkeypatch, query={"code": code})
    assert not app.segmented_control and not app.form_submit_button
    assert {"expired": "has expired", "unknown": "not valid", "used": "already been sent"}[status] in app.info[0].value
    assert "Worklist" not in [t.value for t in app.title] and "001" not in " ".join(m.value for m in app.markdown)
    assert [(e.action, e.detail) for e in entries(tmp_path)][-1] == ("checkin-attempt", f"code {status}")


def test_staff_open_a_checkin_on_the_patient_page_and_start_it_on_this_device(loaded, tmp_path, monkeypatch):
    app = open_page(loaded.db, "views/patient.py", monkeypatch, query={"patient": "001"})
    app.button(key="checkin_open_001").click()
    app.run()
    shown = next(m.value for m in app.markdown if "Check-in code" in m.value)
    code = shown.split("`")[1]
    assert any(e.action == "checkin-code" and e.patient_id == "001" for e in entries(tmp_path))
    app.button(key="checkin_start_001").click()
    app.run()
    assert app.query_params["code"] == code  # same tab: the check-in page alone, for this patient
    app.run()
    assert [s.value for s in app.subheader] == [PHQ9.title, GAD7.title]


SIGN_IN_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-only-secret",
                   "client_id": "outcomes", "client_secret": "test-only",
                   "server_metadata_url": "https://id.clinic.example/.well-known/openid-configuration"}


def run_app(db, monkeypatch, query, secrets=None, user=None):
    from streamlit.testing.v1 import AppTest

    from conftest import APP

    monkeypatch.setenv("OUTCOMES_DB", str(db))
    app = AppTest.from_file(str(APP), default_timeout=60)
    if secrets is not None:
        app.secrets["auth"] = secrets
    if user is not None:
        app.user = user
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_with_sign_in_configured_a_patient_checks_in_without_an_account_and_reaches_nothing_else(loaded, monkeypatch):
    code, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30)
    app = run_app(loaded.db, monkeypatch, {"code": code}, SIGN_IN_SECRETS, {"is_logged_in": False})
    assert "Sign in" not in [b.label for b in app.button]
    assert [s.value for s in app.subheader] == [PHQ9.title, GAD7.title]
    checkin(app)
    assert "Thank you" in app.success[0].value
    # Without a code the same visitor gets the sign-in screen, not a page.
    plain = run_app(loaded.db, monkeypatch, {}, SIGN_IN_SECRETS, {"is_logged_in": False})
    assert [b.label for b in plain.button] == ["Sign in"] and not plain.dataframe


def test_local_mode_on_a_network_address_refuses_the_checkin_page_too(loaded, monkeypatch):
    import streamlit as st

    real = st.get_option
    monkeypatch.setattr(st, "get_option", lambda key: "0.0.0.0" if key == "server.address" else real(key))
    code, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30)
    app = run_app(loaded.db, monkeypatch, {"code": code})
    assert any("Refusing to serve" in e.value for e in app.error) and not app.segmented_control


def test_the_next_patient_on_the_same_tablet_starts_from_a_blank_form(loaded, monkeypatch):
    first, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30)
    app = open_page(loaded.db, None, monkeypatch, query={"code": first})
    checkin(app)
    second, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30)
    app.query_params["code"] = second  # the clinician starts another check-in in the same tab
    app.run()
    assert len(app.segmented_control) == 17
    assert all(control.value is None for control in app.segmented_control)
    assert not app.success  # no thank-you of the previous patient either


def test_a_tab_handed_to_a_patient_reaches_no_other_page_by_its_address(loaded, monkeypatch):
    code, _ = new_code(loaded.db, "001", "dr@example.org", minutes=30)
    app = open_page(loaded.db, None, monkeypatch, query={"code": code})
    checkin(app)
    app.query_params.clear()  # the back button, or an address typed into the same tab
    app.query_params["patient"] = "001"
    app.run()
    assert not app.exception
    assert "reload the page" in app.info[0].value
    assert not app.dataframe and not app.metric and "Patient" not in [t.value for t in app.title]
