"""Today at the clinic, on every page: the data-age warning, the demo note, a patient's status.

Why one module: "today" must mean the same day on every page (the clinic's calendar,
`freshness.clinic_today`), and the warning that the data is old must appear on every page, so
the router (`app.py`) calls `show_data_notices` once before any page runs. The words are here;
the rules are `pipelines.analytics.freshness` and `treatment_status`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from pipelines.analytics.freshness import Freshness, clinic_today, data_freshness
from pipelines.analytics.treatment_status import patient_status

from .data import NoDatabase, ask, settings


def today() -> dt.date:
    """Today on the clinic's calendar (settings.clinic_timezone; $OUTCOMES_TODAY pins it)."""
    return clinic_today(settings())


def day_month(day: dt.date) -> str:
    """`2 Nov`, for short sentences."""
    return f"{day.day} {day:%b}"


def notices(fresh: Freshness) -> tuple[str | None, str | None]:
    """(the demo note or None, the stale-data warning or None), in plain words."""
    demo = None
    if fresh.demo_days is not None:
        demo = (f"Demo data: dates moved forward by {fresh.demo_days} days so the sample ends yesterday. "
                "These are synthetic patients, not real ones.")
    if not fresh.stale:
        return demo, None
    parts = []
    if fresh.stale_infusion:
        parts.append(f"The newest infusion in this data is {fresh.infusion_days} days old "
                     f"({day_month(fresh.latest_infusion)}): lists may miss recent patients.")
    if fresh.latest_ingest is not None:
        age = "today" if fresh.ingest_days == 0 else ("yesterday" if fresh.ingest_days == 1
                                                      else f"{fresh.ingest_days} days ago")
        last = f"Last import {day_month(fresh.latest_ingest)} ({age})."
        if fresh.stale_ingest:
            last += " Check that the clinic's exports are still being loaded."
        parts.append(last)
    return demo, " ".join(parts)


def show_data_notices() -> None:
    """The demo note and the stale-data warning at the top of the page, when they apply.
    Says nothing without a database (the page explains that itself)."""
    try:
        fresh = ask(data_freshness, settings(), today())
    except NoDatabase:
        return
    demo, stale = notices(fresh)
    if demo:
        st.info(demo, icon=":material/science:")
    if stale:
        st.warning(stale, icon=":material/history:")


def status_line(patient_id: str) -> str | None:
    """The patient's treatment status today in words ("Paused: last infusion 50 days ago"), or
    None for a patient never infused. Asked for this patient alone (cached per patient and day):
    the clinic's statuses are a row per patient, too many to cache for one lookup."""
    row = ask(patient_status, settings(), today(), patient_id)
    if row.empty:
        return None
    status, days = row["status"].iloc[0], int(row["days_since_last_infusion"].iloc[0])
    text = status[0].upper() + status[1:]
    if status in ("paused", "ended"):
        ago = "today" if days == 0 else ("yesterday" if days == 1 else f"{days} days ago")
        text += f": last infusion {ago}"
        discharge = row["discharge_date"].iloc[0]
        if status == "ended" and not pd.isna(discharge):
            text += f", discharged {discharge:%Y-%m-%d}"
    return text
