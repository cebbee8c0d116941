"""The staff side of patient check-ins: opening one for a patient (Patient page), the patient's
check-ins and whether they are in the outcomes yet, and the item-9 answers the Worklist must show
before the next publish has loaded them.

Why the store is read here on every page load (never cached): a check-in is saved while the
page is served, and an item-9 answer must reach the clinician on their next click, not after
the background publish (pipelines/store/publishing.py) has swapped a new database in.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from dashboard.access import current_viewer
from dashboard.checkin_route import CODE_PARAMETER
from dashboard.data import db_path, settings
from pipelines import audit
from pipelines.instruments import REGISTRY
from pipelines.readers.checkin_store import assessment_id
from pipelines.store.checkins import StoredAnswers, new_code, read_answers

OPENS_CHECKINS = ("clinician", "admin")


def item9_positive(answers: StoredAnswers) -> bool:
    item = REGISTRY[answers.instrument].safety_item if answers.instrument in REGISTRY else None
    return item is not None and len(answers.items) >= item and (answers.items[item - 1] or 0) > 0


def waiting_item9() -> list[StoredAnswers]:
    """Check-ins with PHQ-9 item 9 above 0 that no ingest has loaded yet, newest first."""
    return sorted((a for a in read_answers(db_path(), unpublished_only=True) if item9_positive(a)),
                  key=lambda a: a.id, reverse=True)


def local_time(utc_text: str) -> str:
    moment = dt.datetime.fromisoformat(utc_text).astimezone(ZoneInfo(settings().clinic_timezone))
    return f"{moment:%Y-%m-%d %H:%M}"


def worklist_alerts() -> None:
    """At the top of the Worklist: patients who answered item 9 above 0 in a check-in not yet
    in the database (after the publish they are on the list itself, item 9 positive first)."""
    waiting = waiting_item9()
    if not waiting:
        return
    patients = list(dict.fromkeys(a.patient_id for a in waiting))
    lines = [f"- [{pid}](patient?patient={quote(pid, safe='')}): PHQ-9 item 9 above 0 in a check-in at "
             f"{local_time(next(a.administered_at for a in waiting if a.patient_id == pid))}" for pid in patients]
    st.error("**Check-in just now: item 9 positive.** Contact these patients today (their scores join the list "
             "below within a minute):\n" + "\n".join(lines), icon=":material/emergency:")


def _open(patient_id: str) -> None:
    viewer = current_viewer(settings().access)
    code, expires = new_code(db_path(), patient_id, viewer.user, settings().checkin.link_minutes)
    audit.append(audit.audit_path(db_path(), settings().access.audit_log), viewer.user, viewer.role or "",
                 "checkin-code", "patient", patient_id, f"check-in opened, valid until {expires}")
    st.session_state[f"checkin_code_{patient_id}"] = (code, expires)


def _start_here(code: str) -> None:
    """This device becomes the patient's: the same tab opens the check-in page alone."""
    st.query_params.clear()
    st.query_params[CODE_PARAMETER] = code


def patient_alert(patient_id: str) -> None:
    """Patient page header: a check-in not yet loaded with PHQ-9 item 9 above 0."""
    if any(a.patient_id == patient_id for a in waiting_item9()):
        st.error("A check-in just now has PHQ-9 item 9 above 0. Talk with the patient today.",
                 icon=":material/emergency:")


def patient_panel(patient_id: str, scores: pd.DataFrame) -> None:
    """Patient page: the patient's check-ins (scored once loaded), and, for clinicians and
    administrators, a button that opens a new one."""
    st.subheader("Check-ins")
    mine = [a for a in read_answers(db_path()) if a.patient_id == patient_id]
    if mine:
        totals = dict(zip(scores["assessment_key"], scores["total"])) if len(scores) else {}
        st.dataframe(pd.DataFrame({
            "Answered": [local_time(a.administered_at) for a in mine],
            "Scale": [a.instrument for a in mine],
            "Score": [totals.get(assessment_id(a.id)) for a in mine],
            "Skipped": [", ".join(map(str, a.skipped)) for a in mine],
            "Status": ["in the outcomes" if a.published_run is not None else "being loaded (within a minute)"
                       for a in mine],
        }), hide_index=True)
    else:
        st.caption("No check-ins yet: the patient's own answers on a tablet appear here.")
    if current_viewer(settings().access).role not in OPENS_CHECKINS:
        return
    held = st.session_state.get(f"checkin_code_{patient_id}")
    st.button("Open a check-in for this patient", icon=":material/tablet:", on_click=_open, args=(patient_id,),
              key=f"checkin_open_{patient_id}")
    if held:
        code, expires = held
        st.markdown(f"### Check-in code: `{code}`")
        st.caption(f"Valid once, until {local_time(expires)}. On another device open the dashboard's address "
                   f"followed by `/checkin?code={code}`.")
        st.button("Start check-in on this device", icon=":material/play_arrow:", type="primary",
                  on_click=_start_here, args=(code,), key=f"checkin_start_{patient_id}")
