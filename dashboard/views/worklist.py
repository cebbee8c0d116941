"""Worklist (clinician): today's patients who need attention, with every reason, most urgent first.

The list is `pipelines.analytics.worklist.worklist` (definitions in its docstring, the reasons'
words in its `REASONS`) without the alerts a clinician has acknowledged, an open item-9 alert
first (`pipelines.analytics.alerts`, through dashboard/acknowledging.py, which also holds the
form under the table); this page only filters it (site and clinician through the shared cohort filter, reasons here), counts the
reasons, and shows it with clinical headers and a link per patient to the Patient page.

Each patient links to the Patient page (`dashboard/worklist_table.py` builds the table and
says how the link works).

Speed: on a 200,000-patient clinic the list has ~78,000 rows. The list is cached per database
version (`ask`); the table built from it is cached per filter as a shared, never-modified
resource (no copy per rerun; `worklist_table`, made by the server for each new version before
anyone visits), so a rerun only sends the rows, and the CSV is only made when the button is
pressed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.acknowledging import worklist_section, worklist_with_acknowledgements
from dashboard import checkin_staff
from dashboard.auditing import auditor
from dashboard.bars import count_bars
from dashboard.data import ask, current_version, settings
from dashboard.filters import cohort_filter, describe
from dashboard.today import today as clinic_day
from dashboard.widgets import require_database
from dashboard.worklist_status import in_treatment_switch, who_is_listed
from dashboard.worklist_table import worklist_table
from dashboard.worklist_today import show_today, view_switch
from pipelines.analytics.cohorts import IN_TREATMENT, cohort_options, status_filter
from pipelines.analytics.worklist import REASON_COLUMNS, REASON_LABELS, SAFETY_REASONS, UPCOMING_INFUSION_DAYS
from pipelines.safe_csv import csv_bytes

# More rows than this are not sent to the browser at once (the CSV has them all): a measured
# ~80,000-row list renders in about 0.2 s warm, so every realistic clinic's list is shown whole.
MAX_ROWS_SHOWN = 100_000

COLUMNS = {  # display column -> header
    "patient": st.column_config.LinkColumn(
        "Patient", display_text=r"patient=(.*)$", width="small", pinned=True,
        help="Opens the patient's page (in a new tab)"),
    "n_reasons": st.column_config.NumberColumn("Reasons", width="small", help="How many reasons apply"),
    # the latest PHQ-9 before the long "Why" text, which pushed it out of sight (seen in the browser)
    "latest_phq9_score": st.column_config.NumberColumn("Latest PHQ-9", width="medium",
                                                       help="Latest valid PHQ-9 total (0-27)"),
    "latest_phq9_at": st.column_config.DatetimeColumn("PHQ-9 taken", format="YYYY-MM-DD"),
    "reasons_text": st.column_config.TextColumn("Why", width="large"),
    "site": st.column_config.TextColumn("Site"),
    "clinician": st.column_config.TextColumn("Clinician"),
    "primary_indication": st.column_config.TextColumn("Indication"),
    "last_infusion_at": st.column_config.DatetimeColumn("Last infusion", format="YYYY-MM-DD HH:mm"),
    "n_infusions": st.column_config.NumberColumn("Infusions", width="small"),
}


def csv_of(shown: pd.DataFrame) -> bytes:
    """The list as CSV: plain patient ids, reasons in words and a yes/no column per reason."""
    out = shown.drop(columns=["patient"]).rename(columns={"reasons_text": "reasons"})
    return csv_bytes(out)


st.title("Worklist")
require_database()
checkin_staff.worklist_alerts()  # item 9 in a check-in not loaded yet: at once, above everything
if ask(cohort_options)["first_start"] is None:  # no treated patient: nothing to filter or list
    st.info("No infusions are loaded yet, so nobody is on the worklist. Load the clinic's exports with "
            "`outcomes ingest`.")
    st.stop()

cohort = cohort_filter(("sites", "clinicians"), statuses=False)
if view_switch() == "Today":  # who is booked today (dashboard/worklist_today.py)
    show_today(clinic_day(), cohort)
    st.stop()
with st.sidebar:
    everyone = in_treatment_switch()
    reasons = st.multiselect("Reason", list(REASON_COLUMNS), format_func=REASON_LABELS.get, key="worklist_reasons",
                             placeholder="Any reason", help="Show patients with any of the chosen reasons")

today = clinic_day()
if not everyone:
    cohort = status_filter(cohort, settings(), today, IN_TREATMENT)
shown, counts, as_of, store = worklist_table(cohort, tuple(reasons), today)
if as_of is None:
    st.info("No infusions are loaded yet, so nobody is on the worklist. Load the clinic's exports with "
            "`outcomes ingest`.")
    st.stop()

thresholds = settings().thresholds
st.caption(who_is_listed(everyone))
st.caption(
    f"As of **{as_of:%A} {as_of.day} {as_of:%B %Y}**, today at the clinic. From today it counts back the windows "
    f"of two reasons: *PHQ-9 overdue* (in "
    f"treatment, an infusion in the last {thresholds.active_treatment_days} days, and no PHQ-9 in the last "
    f"{thresholds.phq9_overdue_days}) and *no PHQ-9 since last infusion* (fewer than "
    f"{settings().induction_sessions} infusions, the last within {UPCOMING_INFUSION_DAYS} days). "
    f"The other reasons use all data loaded. Patients: {describe(cohort)}."
)

left, right = st.columns([2, 3], vertical_alignment="center")
with left:
    cells = [cell for row in range(2) for cell in st.columns(2)]
    cells[0].metric("Patients shown", f"{len(shown):,}", help="Patients with at least one of the chosen reasons "
                    "(any reason when none is chosen)")
    for cell, reason in zip(cells[1:], ("item9_positive", "reliable_deterioration", "bp_excursion_last_infusion")):
        cell.metric(REASON_LABELS[reason], f"{int(counts.loc[counts['reason'] == reason, 'patients'].iloc[0]):,}")
with right:
    # Bars without Plotly: this page's only chart, and Plotly's bundle costs a new session ~1 s (dashboard/bars.py).
    count_bars(counts, flagged=SAFETY_REASONS, empty="Nobody needs attention for any reason.")
    st.caption("Patients per reason, before the reason filter; a patient with several reasons counts under each.")

if shown.empty:
    st.info("Nobody matches: no patient of these filters has "
            + ("any of the chosen reasons." if reasons else "a reason to be on the worklist."))
    worklist_section(shown, None, worklist_with_acknowledgements(current_version(), store, cohort)[1])
    st.stop()

st.caption("Most urgent first: item 9 positive, then item 9 unknown, then most reasons. Acknowledged alerts are "
           "left out until a new event raises them again. "
           "Click a column header to sort, the patient id to open the patient's page.")
visible = shown[list(COLUMNS)] if len(shown) <= MAX_ROWS_SHOWN else shown[list(COLUMNS)].head(MAX_ROWS_SHOWN)
if len(visible) < len(shown):
    st.caption(f"Showing the first {MAX_ROWS_SHOWN:,} of {len(shown):,} patients; the CSV has them all.")
selected = st.dataframe(visible, column_config=COLUMNS, hide_index=True, on_select="rerun",
                        selection_mode="single-row", key=f"worklist_table-{store}-{hash((cohort, tuple(reasons)))}",
                        alt="Patients needing attention, most urgent first")
worklist_section(shown, selected, worklist_with_acknowledgements(current_version(), store, cohort)[1])
trail = auditor()


def worklist_csv() -> bytes:
    """Built when the button is clicked; logged first (a list of patients leaving the app)."""
    trail.export("worklist", None, f"worklist CSV, {len(shown):,} patients, as of {as_of}")
    return csv_of(shown)


st.download_button("Download the list (CSV)", worklist_csv, file_name=f"worklist-{as_of}.csv",
                   mime="text/csv", key="download_worklist", icon=":material/download:", on_click="ignore")
