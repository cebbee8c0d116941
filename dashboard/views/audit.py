"""Audit log (administrator): who opened which patient's record, when, on which page, and what
they exported. Read-only: the page lists `pipelines.audit` entries and says whether the keyed
hash chain still holds (no entry edited, removed or reordered since it was written) and whether
the head kept outside the log's folder matches its end (nothing removed from the end, the log
not deleted or rewritten), and which protection is in force."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.auditing import audit_log_path
from dashboard.widgets import download_csv
from pipelines import audit

MAX_ROWS_SHOWN = 1000

st.title("Audit log")
path = audit_log_path()
entries, verification = audit.read(path)
st.caption(f"Every view of a patient's record and every export, newest first. Kept in `{path}`.")
if not verification.ok:
    st.error(f"The audit log has been altered: {verification.problem}. Entries from that point on cannot be "
             f"trusted; keep a copy of the log and of its head file and investigate (docs/access.md, "
             f"\"The audit log\").", icon=":material/gpp_bad:")
elif verification.keyed:
    st.success(f"{verification.entries:,} {'entry' if verification.entries == 1 else 'entries'}; the hash chain is "
               f"intact (no entry changed, removed or reordered) and "
               + ("the head kept outside the log's folder matches its end (nothing removed from the end, the log "
                  "not rewritten)." if verification.note is None else "nothing is missing from its end."),
               icon=":material/verified_user:")
elif entries:
    st.warning(f"{verification.entries:,} {'entry' if verification.entries == 1 else 'entries'}; the hash chain is "
               f"intact, but unkeyed: these entries were written before the keyed chain, and nothing anchors the "
               f"log's end until the next entry is written.", icon=":material/shield:")
if verification.note:
    st.info(verification.note, icon=":material/info:")
st.caption(f"Protection in force: {verification.protection}.")
if not entries:
    st.info("No patient record has been viewed or exported yet.")
    st.stop()

frame = pd.DataFrame(entries).iloc[::-1].reset_index(drop=True)
left, right = st.columns(2)
who = left.text_input("User contains", key="audit_user")
patient = right.text_input("Patient id", key="audit_patient")
if who:
    frame = frame[frame["user"].str.contains(who, case=False, regex=False)]
if patient:
    frame = frame[frame["patient_id"].fillna("") == patient.strip()]
if len(frame) > MAX_ROWS_SHOWN:
    st.caption(f"Showing the latest {MAX_ROWS_SHOWN:,} of {len(frame):,} entries; the CSV has them all.")
st.dataframe(frame.head(MAX_ROWS_SHOWN), hide_index=True, column_config={
    "at": st.column_config.TextColumn("When (UTC)"),
    "user": st.column_config.TextColumn("User"),
    "role": st.column_config.TextColumn("Role"),
    "action": st.column_config.TextColumn("Action"),
    "page": st.column_config.TextColumn("Page"),
    "patient_id": st.column_config.TextColumn("Patient"),
    "detail": st.column_config.TextColumn("Detail", width="large"),
})
download_csv(frame, "audit-log.csv", "Download these entries (CSV)", key="download_audit")
