"""Check-in (patient): the patient answers the scales their indication calls for, on a tablet.

Reached only with a code a clinician opened on the Patient page (dashboard/checkin_route.py);
the page shows nothing about any patient, not even the patient's own past answers. Each
question is one row of large buttons (its answers, and "Skip"), and the form is sent only when
every question is answered or explicitly skipped. Saving uses the code up in the same
transaction (pipelines/store/checkins.py), is audited, and starts the publish that scores the
answers into the outcomes database by the same rules as every export
(pipelines/store/publishing.py). A PHQ-9 item 9 answer above 0 shows the patient the clinic's
crisis line and puts them at the top of the Worklist at once.
"""

from __future__ import annotations

import re

import streamlit as st

from dashboard import styles
from dashboard.checkin_route import CODE_PARAMETER
from dashboard.data import ask, db_path, settings
from dashboard.questionnaires import Questionnaire, scales_for
from pipelines import audit
from pipelines.analytics.patient import patient_summary
from pipelines.store.checkins import CodeRefused, ScaleAnswers, check_code, safety_item_positive, save_checkin
from pipelines.store.publishing import start_publish

SKIP = "skip"
VISITOR, ROLE, PAGE = "check-in visitor", "patient", "checkin"
# Big, full-width answer buttons: a finger on a 768 px tablet, not a mouse pointer.
# The app's toolbar menu (rerun, settings, print) is no business of a patient's, so it is hidden.
MESSAGES = {
    "unknown": "This check-in link is not valid. Please ask the front desk for a new one.",
    "expired": "This check-in link has expired. Please ask the front desk for a new one.",
    "used": "These answers have already been sent with this link. Thank you. If you need to change an answer, "
            "please tell a member of staff.",
}


def log(action: str, patient_id: str | None, detail: str) -> None:
    """An audit entry for the visitor; a log that cannot be written stops the page (nothing
    unaudited happens)."""
    try:
        audit.append(audit.audit_path(db_path(), settings().access.audit_log), VISITOR, ROLE, action, PAGE,
                     patient_id, detail)
    except OSError as error:
        st.error(f"The check-in cannot go ahead: the audit log cannot be written ({error}). Please tell a member "
                 f"of staff.", icon=":material/block:")
        st.stop()


def question(scale: Questionnaire, number: int, text: str, choices: tuple[str, ...]) -> None:
    """One question: its answers as a row of large buttons, and Skip."""
    labels = {**dict(enumerate(choices)), SKIP: "Skip"}
    st.segmented_control(f"**{number}.** {text}", [*range(len(choices)), SKIP], format_func=labels.get,
                         key=f"checkin_{scale.code}_{number}", width="stretch")


ANSWER_KEY = re.compile(r"^checkin_[A-Z0-9-]+_\d+$")


def forget_answers() -> None:
    """Clear every answer held in this browser session: the same tab may serve the next patient
    (a clinician starts another check-in on this device), who must start from a blank form."""
    for key in [k for k in st.session_state if ANSWER_KEY.match(str(k))]:
        del st.session_state[key]


def form(scales: tuple[Questionnaire, ...]) -> bool:
    with st.form("checkin_form", border=False):
        for scale in scales:
            st.subheader(scale.title)
            st.write(scale.instructions)
            for number, text in enumerate(scale.items, start=1):
                question(scale, number, text, scale.choices)
            for offset, (text, choices) in enumerate(scale.extra_items, start=len(scale.items) + 1):
                question(scale, offset, text, choices)
            st.caption(scale.source)
            st.divider()
        return st.form_submit_button("Send my answers", type="primary", width="stretch")


def answers_of(scales: tuple[Questionnaire, ...]) -> tuple[list[ScaleAnswers], list[str]]:
    """The answers given (None where skipped) and the questions not yet answered or skipped."""
    given, missing = [], []
    for scale in scales:
        items, skipped = [], []
        for number in range(1, len(scale.items) + len(scale.extra_items) + 1):
            value = st.session_state.get(f"checkin_{scale.code}_{number}")
            if value is None:
                missing.append(f"{scale.code} question {number}")
            elif value == SKIP:
                skipped.append(number)
            items.append(None if value in (None, SKIP) else int(value))
        given.append(ScaleAnswers(scale.code, tuple(items), tuple(skipped)))
    return given, missing


def done(result: dict) -> None:
    st.success("**Thank you.** Your answers have been sent to your care team. Please hand the tablet back to "
               "a member of staff.", icon=":material/check_circle:")
    if result["item9"]:
        st.error(f"**You told us you have had thoughts that you would be better off dead, or of hurting yourself.** "
                 f"Your care team has been alerted. Please tell a member of staff now, so someone can talk with "
                 f"you today.\n\nIf you ever need help right away, day or night: **{settings().checkin.crisis_line}**. "
                 f"In an emergency, call your local emergency number.", icon=":material/emergency:")


styles.apply("touch")  # large touch targets, no toolbar
st.title("Check-in")
code = str(st.query_params.get(CODE_PARAMETER, ""))
if not code:  # this tab was handed to a patient and has been navigated away from the check-in
    st.info("This screen is for patients' check-ins. Staff: reload the page to return to the dashboard.",
            icon=":material/info:")
    st.stop()
result = st.session_state.get("checkin_done")
if result and result["code"] == code:
    done(result)
    st.stop()

check = check_code(db_path(), code)
attempts = st.session_state.setdefault("checkin_attempts", set())
if code not in attempts:
    log("checkin-attempt", check.patient_id, f"code {check.status}")
    attempts.add(code)
if check.status != "open":
    st.info(MESSAGES[check.status], icon=":material/info:")
    st.stop()

if st.session_state.get("checkin_form_code") != code:  # a new check-in in this tab: a blank form
    forget_answers()
    st.session_state["checkin_form_code"] = code
summary = ask(patient_summary, settings(), check.patient_id)
indication = None if summary.empty else summary.iloc[0]["primary_indication"]
scales = scales_for(indication)
st.write("Please answer each question about how you have been. Choose the answer that fits best, or **Skip** a "
         "question you would rather not answer. Your answers go to your care team.")
if form(scales):
    given, missing = answers_of(scales)
    if missing:
        st.error("Please answer or skip every question before sending. Still open: " + ", ".join(missing) + ".",
                 icon=":material/error:")
        st.stop()
    try:
        ids = save_checkin(db_path(), code, given)
    except CodeRefused as refused:
        log("checkin-attempt", check.patient_id, f"send refused: code {refused.check.status}")
        st.info(MESSAGES[refused.check.status], icon=":material/info:")
        st.stop()
    item9 = any(safety_item_positive(scale) for scale in given)
    start_publish(db_path())  # first: saved answers reach the outcomes even if the audit log fails next
    log("checkin", check.patient_id, f"saved {', '.join(s.instrument for s in given)} (check-in rows "
        f"{', '.join(map(str, ids))})" + ("; PHQ-9 item 9 above 0" if item9 else ""))
    forget_answers()
    st.session_state["checkin_done"] = {"code": code, "item9": item9}
    st.rerun()
