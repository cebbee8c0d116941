"""The Worklist's Today view: who is booked today, whether their pre-infusion scales are in, and
their open alerts, in order of time.

The rows are `pipelines.analytics.bookings.booked_on` for today at the clinic; this module only
words and shows them, so the Worklist page adds a view switch and one call.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pandas as pd
import streamlit as st

from pipelines.analytics.bookings import PRE_INFUSION_DAYS, booked_on
from pipelines.analytics.cohorts import CohortFilter

from .acknowledging import store_version, worklist_with_acknowledgements
from .data import ask, current_version, settings

VIEWS = ("Needs attention", "Today")
VIEW_KEY = "worklist_view"

COLUMNS = {
    "time": st.column_config.TextColumn("Time", width="small"),
    "patient": st.column_config.LinkColumn("Patient", display_text=r"patient=(.*)$", width="small",
                                           help="Opens the patient's page (in a new tab)"),
    "infusion": st.column_config.TextColumn("Infusion", width="small", help="Which infusion of the course this is"),
    "scales": st.column_config.TextColumn("Pre-infusion scales", width="medium"),
    "alerts": st.column_config.TextColumn("Open alerts", width="large"),
    "clinician": st.column_config.TextColumn("Clinician"),
    "site": st.column_config.TextColumn("Site"),
}


def view_switch() -> str:
    """The switch between the list of patients needing attention and today's bookings."""
    return st.radio("View", VIEWS, horizontal=True, key=VIEW_KEY, label_visibility="collapsed")


def scales_text(row) -> str:
    """"PHQ-9 in (07:55), GAD-7" or "PHQ-9 missing"."""
    if row["phq9_in"]:
        taken = pd.Timestamp(row["phq9_at"])
        text = f"PHQ-9 in ({taken:%H:%M})" if taken.date() == row["planned_at"].date() else f"PHQ-9 in ({taken:%d %b})"
    else:
        text = "PHQ-9 missing"
    others = [scale for scale in row["scales_in"] if scale != "PHQ-9"]
    return text + (f"; also {', '.join(others)}" if others else "")


def patient_link(patient_id: str) -> str:
    """`patient?patient=<id>`, as the Worklist's links (relative: the Patient page of the same app)."""
    return f"patient?patient={quote(str(patient_id), safe='')}"


def today_table(bookings: pd.DataFrame) -> pd.DataFrame:
    """The bookings as shown: time, link, which infusion, scales, alerts, clinician, site."""
    return pd.DataFrame({
        "time": [f"{t:%H:%M}" for t in bookings["planned_at"]],
        "patient": [patient_link(pid) for pid in bookings["patient_id"]],
        "infusion": [("given today" if given else f"no. {int(n) + 1}" + (" (first)" if int(n) == 0 else ""))
                     for n, given in zip(bookings["n_infusions"], bookings["infused_today"])],
        "scales": [scales_text(row) for _, row in bookings.iterrows()],
        "alerts": ["; ".join(reasons) if len(reasons) else "none" for reasons in bookings["reasons"]],
        "clinician": bookings["clinician"],
        "site": bookings["site"],
    })


def with_open_alerts(bookings: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """The bookings with each patient's reasons as the Worklist shows them today: an alert
    acknowledged in the store is not open (dashboard/acknowledging.py)."""
    listed = worklist_with_acknowledgements(current_version(), store_version(), CohortFilter(), today)[0]
    open_reasons = dict(zip(listed["patient_id"], listed["reasons"]))
    return bookings.assign(reasons=[open_reasons.get(pid, []) for pid in bookings["patient_id"]])


def show_today(today: dt.date, cohort: CohortFilter) -> None:
    """Today's bookings of the chosen sites and clinicians (the sidebar's filter)."""
    bookings = with_open_alerts(ask(booked_on, settings(), today), today)
    if not bookings.empty and cohort.sites:
        bookings = bookings[bookings["site"].isin(cohort.sites)]
    if not bookings.empty and cohort.clinicians:
        bookings = bookings[bookings["clinician"].isin(cohort.clinicians)]
    st.caption(f"Booked for **{today:%A} {today.day} {today:%B %Y}**, today at the clinic, from the appointments "
               f"export. *Pre-infusion scales* are in when a PHQ-9 was taken after the patient's last infusion and "
               f"within {PRE_INFUSION_DAYS} days; *open alerts* are the patient's Worklist reasons not yet acknowledged.")
    if bookings.empty:
        st.info("Nobody is booked today. Bookings come from the clinic's appointments export "
                "(appointments.csv, or FHIR Appointment): see docs/import-format.md.")
        return
    cells = st.columns(3)
    cells[0].metric("Booked today", f"{len(bookings):,}")
    cells[1].metric("PHQ-9 missing", f"{int((~bookings['phq9_in'].astype(bool)).sum()):,}",
                    help="Booked patients without a PHQ-9 since their last infusion: ask before the infusion")
    cells[2].metric("With open alerts", f"{int(sum(len(r) > 0 for r in bookings['reasons'])):,}")
    st.dataframe(today_table(bookings.reset_index(drop=True)), column_config=COLUMNS, hide_index=True,
                 alt="Patients booked today, by time")
