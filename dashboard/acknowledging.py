"""Acknowledging worklist alerts on the Worklist and Patient pages: which alerts are open, the
small form that closes one with what was done, and a patient's alert history.

The alerts come from `pipelines.analytics.alerts` (cached per database version like every
answer); the acknowledgements from the SQLite store (`pipelines.store.acknowledgements`), read
on every run, because a colleague may have acknowledged an alert a moment ago and the DuckDB
file's version does not change with that. The worklist shown is cached per database version
and per acknowledgements version (`acknowledgements.version`), so a new acknowledgement shows
at once and an unchanged store costs one small query.

Who acknowledges: the signed-in e-mail and role, or the local user and the local role in local
mode (`dashboard.access.current_viewer`). Each acknowledgement is audited by the store's
`record` in the same transaction (docs/access.md); a log that cannot be written leaves the alert
open and says so.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard.access import current_viewer
from dashboard.auditing import audit_log_path
from dashboard.data import ask_shared, db_path, settings
from dashboard.theme import md
from dashboard.today import today
from pipelines.analytics.alerts import UNKEYED, acknowledged_alerts, alert_events, open_worklist, raised_alerts
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.worklist import REASON_LABELS, worklist
from pipelines.store import acknowledgements

FLASH = "_acknowledged_message"
HISTORY_COLUMNS = {"Alert": "label", "Status": "status", "Raised": "raised_at", "What was done": "action",
                   "By": "acknowledged_by", "When (UTC)": "acknowledged_at", "Note": "note", "Event": "event_key",
                   "Role": "role"}


def store_version() -> str:
    """The acknowledgements' version: part of the worklist cache's key."""
    return acknowledgements.version(db_path())


@st.cache_resource(max_entries=8, show_spinner=False)
def _clinic_alerts(database: str, version: str, store: str, cohort: CohortFilter,
                   as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = ask_shared(worklist, settings(), as_of=as_of, cohort=cohort)
    alerts = acknowledged_alerts(raised_alerts(frame, ask_shared(alert_events, settings())),
                                 acknowledgements.latest(database))
    return open_worklist(frame, alerts), alerts


def worklist_with_acknowledgements(version: str, store: str, cohort: CohortFilter = CohortFilter(),
                                   as_of: dt.date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The worklist of `cohort` without its acknowledged alerts (`alerts.open_worklist`), and
    every raised alert with its latest acknowledgement (`alerts.acknowledged_alerts`). A shared
    resource per database version, store version, cohort and day (`as_of`: today at the clinic
    when None): never modified by a page."""
    return _clinic_alerts(db_path(), version, store, cohort, as_of or today())


def patient_alerts(patient_id: str, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One patient's raised alerts with their latest acknowledgement, read from the store now
    (`history`: the patient's acknowledgements, newest first, when already read)."""
    frame = ask_shared(worklist, settings(), as_of=today(), cohort=CohortFilter())  # the Worklist page's own answer, unfiltered
    row = frame[frame["patient_id"] == patient_id]
    events = ask_shared(alert_events, settings())
    raised = raised_alerts(row, events[events["patient_id"] == patient_id])
    if history is None:
        history = acknowledgements.for_patient(db_path(), patient_id)
    latest = history.drop_duplicates(["patient_id", "reason", "event_key"])  # newest first: the latest kept
    return acknowledged_alerts(raised, latest)


def _alert_label(alert) -> str:
    raised = pd.Timestamp(alert.raised_at)
    when = "" if pd.isna(raised) else f", {raised:%d %b %Y %H:%M}"
    return f"{alert.label}: {alert.event_key}" + (f" (raised {when.removeprefix(', ')})" if when else "")


def show_confirmation() -> None:
    """The confirmation of the acknowledgement just made (kept across the rerun that follows it)."""
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon=":material/task_alt:")


def acknowledge_form(patient_id: str, alerts: pd.DataFrame, page: str) -> None:
    """The form: which open alert, what was done (acknowledgements.ACTIONS), a note. Records
    the acknowledgement as the current viewer, then reruns the page with a confirmation."""
    open_alerts = alerts[~alerts["acknowledged"] & (alerts["event_key"] != UNKEYED)]
    if open_alerts.empty:
        st.caption("No open alert for this patient.")
        return
    choices = {f"{alert.reason}|{alert.event_key}": alert for alert in open_alerts.itertuples()}
    with st.form(f"acknowledge_{page}", clear_on_submit=True, border=True):
        picked = st.selectbox("Alert", list(choices), format_func=lambda key: _alert_label(choices[key]),
                              key=f"acknowledge_{page}_alert")
        action = st.selectbox("What was done", acknowledgements.ACTIONS, index=None, placeholder="Choose one",
                              key=f"acknowledge_{page}_action")
        note = st.text_area("Note (optional)", max_chars=2000, key=f"acknowledge_{page}_note",
                            placeholder="For example: called the patient, no current plan, safety plan reviewed")
        submitted = st.form_submit_button("Acknowledge", icon=":material/done:", type="primary")
    if not submitted:
        return
    if action is None or picked not in choices:
        st.error("Choose the alert and what was done, then press Acknowledge again.")
        return
    alert = choices[picked]
    viewer = current_viewer(settings().access)
    try:
        acknowledgements.record(db_path(), audit_log_path(), patient_id=patient_id, reason=alert.reason,
                                event_key=alert.event_key, raised_at=pd.Timestamp(alert.raised_at).to_pydatetime()
                                if not pd.isna(alert.raised_at) else None, action=action, note=note,
                                user=viewer.user, role=viewer.role or "", page=page)
    except OSError as error:
        st.error(f"Not acknowledged: the audit log cannot be written ({error}). The alert stays open; tell the "
                 f"administrator.", icon=":material/block:")
        return
    st.session_state[FLASH] = (f"Acknowledged for patient {md(patient_id)}: {alert.label} ({action}). It leaves the "
                               f"worklist until a new event raises it again.")
    st.rerun()


def alert_history(alerts: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """A patient's alert history for the page: each open alert, then every acknowledgement
    (`history`, newest first), with the headers of HISTORY_COLUMNS."""
    open_now = alerts[~alerts["acknowledged"]].assign(status="open", raised_at=lambda f: f["raised_at"].astype(str))
    done = history.assign(status="acknowledged")
    done["label"] = done["reason"].map(REASON_LABELS).fillna(done["reason"])
    rows = pd.concat([open_now.reindex(columns=list(HISTORY_COLUMNS.values())),
                      done.reindex(columns=list(HISTORY_COLUMNS.values()))], ignore_index=True)
    rows["raised_at"] = rows["raised_at"].astype(str).str.slice(0, 16).replace({"NaT": "", "None": "", "nan": ""})
    rows["acknowledged_at"] = rows["acknowledged_at"].astype(str).str.slice(0, 16).str.replace("T", " ") \
        .replace({"nan": "", "None": ""})
    return rows.rename(columns={value: key for key, value in HISTORY_COLUMNS.items()}).fillna("")


def patient_section(patient_id: str) -> None:
    """The Patient page's "Alerts" section: the history and the form."""
    st.subheader("Alerts")
    show_confirmation()
    acknowledged = acknowledgements.for_patient(db_path(), patient_id)
    alerts = patient_alerts(patient_id, acknowledged)
    history = alert_history(alerts, acknowledged)
    if history.empty:
        st.caption("No alert has been raised for this patient, and none acknowledged.")
        return
    st.dataframe(history, hide_index=True, key="patient_alert_history")
    with st.expander("Acknowledge an alert", expanded=not alerts["acknowledged"].all(), icon=":material/done:"):
        acknowledge_form(patient_id, alerts, page="patient")


def worklist_section(shown: pd.DataFrame, selection, alerts: pd.DataFrame) -> None:
    """Below the Worklist's table: the form for the selected patient's alerts, and the alerts
    acknowledged (still raised by the same event, so off the list).

    `selection` is the table's selection event. The page keys the table by the store's version
    and the filters, so a selection never outlives the rows it was made on: after an
    acknowledgement (anyone's) or a filter change, row 0 is another patient, and the selection
    starts empty rather than pointing at them."""
    show_confirmation()
    rows = list(getattr(getattr(selection, "selection", None), "rows", []) or [])
    if rows and rows[0] < len(shown):
        patient_id = shown.iloc[rows[0]]["patient_id"]
        st.markdown(f"**Acknowledge an alert of patient {md(patient_id)}**")
        acknowledge_form(patient_id, patient_alerts(patient_id), page="worklist")
    else:
        st.caption("Select a patient's row (the box at its left) to acknowledge one of their alerts with what was "
                   "done.")
    closed = alerts[alerts["acknowledged"]]
    if st.toggle(f"Show acknowledged alerts ({len(closed):,})", key="worklist_show_acknowledged"):
        table = closed.assign(acknowledged_at=closed["acknowledged_at"].astype(str).str.slice(0, 16)
                              .str.replace("T", " "))[
            ["patient_id", "label", "event_key", "action", "note", "acknowledged_by", "acknowledged_at"]]
        st.dataframe(table.rename(columns={"patient_id": "Patient", "label": "Alert", "event_key": "Event",
                                           "action": "What was done", "note": "Note", "acknowledged_by": "By",
                                           "acknowledged_at": "When (UTC)"}),
                     hide_index=True, key="worklist_acknowledged")
