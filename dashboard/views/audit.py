"""Audit log (administrator): who opened which patient's record, when, on which page, and what
they exported. Read-only: the page lists `pipelines.audit` entries and says whether the hash
chain still holds (no entry edited, removed or reordered since it was written)."""

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
    st.error(f"The audit log has been altered: {verification.problem}. Entries from that line on cannot be "
             f"trusted; keep a copy of the file and investigate.", icon=":material/gpp_bad:")
if not entries:
    st.info("No patient record has been viewed or exported yet.")
    st.stop()
if verification.ok:
    st.success(f"{verification.entries:,} {'entry' if verification.entries == 1 else 'entries'}; the hash chain is intact (no entry changed, removed or "
               f"reordered).", icon=":material/verified_user:")

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
