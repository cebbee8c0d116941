"""Worklist (clinician): today's patients who need attention, with every reason, most urgent first.

The list is `pipelines.analytics.worklist.worklist` (definitions in its docstring, the reasons'
words in its `REASONS`) without the alerts a clinician has acknowledged, an open item-9 alert
first (`pipelines.analytics.alerts`, through dashboard/acknowledging.py, which also holds the
form under the table); this page only filters it (site and clinician through the shared cohort filter, reasons here), counts the
reasons, and shows it with clinical headers and a link per patient to the Patient page.

The link is a relative URL, `patient?patient=<id>`: st.dataframe's LinkColumn opens it with
`window.open`, which resolves it against the current page's address (`…/worklist` or the app's
root), so it lands on the Patient page (url_path "patient") of the same app, wherever the app is
served, in a new tab; the Patient page reads `st.query_params["patient"]`. Ids are URL-encoded.

Speed: on a 200,000-patient clinic the list has ~78,000 rows. The list is cached per database
version (`ask`); the table built from it is cached per filter as a shared, never-modified
resource (no copy per rerun), so a rerun only sends the rows, and the CSV is only made when the
button is pressed.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from dashboard.acknowledging import store_version, worklist_section, worklist_with_acknowledgements
from dashboard import checkin_staff
from dashboard.auditing import auditor
from dashboard.bars import count_bars
from dashboard.charts.quality import reason_counts
from dashboard.data import ask, current_version, db_path, settings
from dashboard.filters import cohort_filter, describe
from dashboard.today import today as clinic_day
from dashboard.widgets import require_database
from dashboard.worklist_status import in_treatment_switch, who_is_listed
from dashboard.worklist_today import show_today, view_switch
from pipelines.analytics.cohorts import IN_TREATMENT, CohortFilter, cohort_options, status_filter
from pipelines.analytics.worklist import REASON_COLUMNS, REASON_LABELS, SAFETY_REASONS, UPCOMING_INFUSION_DAYS
from pipelines.safe_csv import csv_bytes

PATIENT_PAGE = "patient"
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


def patient_links(ids: pd.Series) -> pa.Array:
    """`patient?patient=<id>` for each id, URL-encoded where an id needs it (most need not)."""
    ids = pa.array(ids, type=pa.string())
    plain = pc.match_substring_regex(ids, r"^[A-Za-z0-9_.~-]*$")
    if not pc.all(plain).as_py():
        encoded = [value if ok else quote(value, safe="") for value, ok in zip(ids.to_pylist(), plain.to_pylist())]
        ids = pa.array(encoded, type=pa.string())
    return pc.binary_join_element_wise(f"{PATIENT_PAGE}?{PATIENT_PAGE}=", ids, "")


@st.cache_resource(max_entries=8, show_spinner=False)
def table(database: str, version: str, cohort: CohortFilter, reasons: tuple[str, ...],
          as_of: dt.date, store: str = "") -> tuple[pd.DataFrame, pd.DataFrame, dt.date | None]:
    """The worklist of `cohort` narrowed to patients with any of `reasons` (all when empty), as
    shown (link, reasons in words, clinical columns, then the id and a column per reason for
    the CSV), its reason counts before narrowing, and its as-of date (today at the clinic:
    a new day is a new list). `database` and its `version` key the cache, so an ingest is picked
    up; `store`, the acknowledgements' version, so an acknowledged alert leaves the list at once
    (dashboard/acknowledging.py)."""
    frame = worklist_with_acknowledgements(version, store, cohort, as_of)[0]
    counts = reason_counts(frame)
    if reasons:
        frame = frame[frame[list(reasons)].any(axis=1)]
    shown = pd.DataFrame({
        "patient": pd.Series(patient_links(frame["patient_id"]), dtype=pd.ArrowDtype(pa.string()), index=frame.index),
        "patient_id": frame["patient_id"],
        "n_reasons": frame["n_reasons"],
        "reasons_text": pd.Series(pc.binary_join(pa.array(frame["reasons"]), "; "),
                                  dtype=pd.ArrowDtype(pa.string()), index=frame.index),
        "site": frame["site"],
        "clinician": frame["clinician"],
        "primary_indication": frame["primary_indication"].str.replace("_", " "),
        "last_infusion_at": frame["last_infusion_at"],
        "n_infusions": frame["n_infusions"],
        "latest_phq9_score": frame["latest_phq9_score"],
        "latest_phq9_at": frame["latest_phq9_at"],
        **{column: frame[column] for column in REASON_COLUMNS},
    }).reset_index(drop=True)
    return shown, counts, frame.attrs.get("as_of")


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
store = store_version()
shown, counts, as_of = table(db_path(), current_version(), cohort, tuple(reasons), today, store)
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
