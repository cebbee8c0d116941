"""Patient (clinician): one patient's course at a glance, and a printable summary of it.

Opened from the Worklist (`patient?patient=<id>`) or by searching for an id here. The URL
always names the patient shown (`?patient=<id>`), so a link can be shared or bookmarked.

Search: a clinic may have 200,000 patients, so the browser never receives the full list. A
search box (committed after a 300 ms pause while typing) asks `find_patients` for the first 20
ids containing the text, and a select box offers those; the two live in a fragment so typing
reruns only the search, and choosing a patient sets the query parameter and reruns the page.

Everything shown comes from `pipelines.analytics.patient` (and `expected.patient_expected`)
through `ask`, drawn by `dashboard.charts.patient` and worded by `dashboard.summary`: this page
holds no SQL and no statistics. Every empty case says so in a plain message.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from dashboard.acknowledging import patient_section
from dashboard import checkin_staff
from dashboard.auditing import auditor, record_view
from dashboard.charts.patient import trajectory_figure
from dashboard.charts.patient_items import item_heatmap
from dashboard.data import ask, current_version, settings
from dashboard.summary import (header_facts, indication, progress_summary_html, safety_flags, scales_table,
                               sessions_table)
from dashboard.theme import md, scale_name
from dashboard.today import status_line
from dashboard.widgets import require_database, vega_chart
from pipelines.analytics.patient import find_patients, patient_record, phq9_item_history, scale_bands
from pipelines.instruments import scale_order

MATCHES = 20
X_CHOICES = {"Infusion number": "infusion", "Date": "date"}
BADGE_COLOURS = {"alert": "red", "unknown": "orange", "ok": "green"}
BADGE_ICONS = {"alert": ":material/warning:", "unknown": ":material/help:", "ok": ":material/check_circle:"}



def record(patient_id: str) -> dict[str, pd.DataFrame]:
    """Everything shown of one patient (`patient_record`: one cached answer per database
    version). The first patient after a data load also builds the clinic's expected course
    and the per-patient lookup indexes, which takes seconds on a large clinic."""
    with st.spinner("Opening the patient's record (the first one after a data load takes a few seconds) …"):
        return ask(patient_record, settings(), patient_id)


def expected_or_none(frame: pd.DataFrame) -> pd.DataFrame | None:
    return frame if len(frame) else None


@st.cache_resource(max_entries=64, show_spinner=False)
def trajectory_chart(version: str, patient_id: str, x_axis: str):
    """The trajectory's Vega-Lite specification (None without scores), built once per database
    version, patient and x axis, so a rerun does not rebuild it. A resource, not data: the dict
    is handed to st.vega_lite_chart as is, never pickled and unpickled. Nothing mutates it
    (Streamlit copies a specification before adding to it)."""
    data = ask(patient_record, settings(), patient_id)  # answered already: a cache hit
    return trajectory_figure(data["scores"], data["sessions"], data["scales"], ask(scale_bands),
                             expected_or_none(data["expected"]), x_axis=x_axis,
                             scale_order=scale_order(data["summary"].iloc[0]["primary_indication"]))


@st.cache_resource(max_entries=64, show_spinner=False)
def items_chart(version: str, patient_id: str, x_axis: str):
    """The PHQ-9 item heatmap, built once per database version, patient and x axis."""
    return item_heatmap(ask(phq9_item_history, patient_id), x_axis=x_axis)


def current_patient() -> str | None:
    value = st.query_params.get("patient")
    return value.strip() if isinstance(value, str) and value.strip() else None


@st.fragment
def patient_search(current: str | None) -> None:
    """The search box and the short list of matches (module docstring)."""
    left, right = st.columns([2, 3])
    text = left.text_input("Find a patient by id", key="patient_search", type="search", live="300ms",
                           placeholder="Type all or part of an id")
    matches = ask(find_patients, (text or "").strip(), MATCHES)
    if matches.empty:
        right.info("No patient id contains that text.")
        return
    labels = {row.patient_id: f"{row.patient_id} · {indication(row.primary_indication)} · {row.site} · "
                              f"{row.n_infusions} infusion{'s' if row.n_infusions != 1 else ''}"
              for row in matches.itertuples()}
    options = list(labels)
    picked = right.selectbox(
        f"Matching patients (first {MATCHES}, exact and starting matches first)", options,
        index=options.index(current) if current in options else None, format_func=labels.get,
        placeholder="Choose a patient", filter_mode="contains")
    if picked and picked != current:
        st.query_params["patient"] = picked
        st.rerun()


st.title("Patient")
require_database()
config = settings()

if ask(find_patients, "", 1).empty:
    st.info("No patients are loaded yet. Load the clinic's exports with `outcomes ingest` and reload this page.")
    st.stop()

patient_id = current_patient()
patient_search(patient_id)

if patient_id is None:
    st.info("Search for a patient by id above, or open one from the Worklist.")
    st.stop()

data = record(patient_id)
summary_rows = data["summary"]
if summary_rows.empty:
    st.info(f"No patient with id {md(patient_id)} in the database. Check the id, or search for it above.")
    st.stop()
summary = summary_rows.iloc[0]
record_view("patient", patient_id)

# --- header -------------------------------------------------------------------------------
st.header(f"Patient {md(patient_id)}")
if (status := status_line(patient_id)) is not None:
    st.markdown(f"**Treatment status today:** {status}")
facts = dict(header_facts(summary))
# Plain text, not Markdown: names are typed by people, and never become links or markup.
st.text(" · ".join(f"{label}: {facts[label] or 'not recorded'}"
                   for label in ("Primary indication", "Site", "Clinician", "Intake")))
columns = st.columns(4)
columns[0].metric("Infusions so far", facts["Infusions so far"])
columns[1].metric("Days in treatment", facts["Days in treatment (first to latest infusion)"] or "-",
                  help="Calendar days from the first infusion to the latest, not to today.")
columns[2].metric("First infusion", facts["First infusion"])
columns[3].metric("Latest infusion", facts["Latest infusion"])

with st.container(horizontal=True):
    for level, text in safety_flags(summary, config):
        st.badge(md(text), color=BADGE_COLOURS[level], icon=BADGE_ICONS[level])
patient_section(patient_id)  # the alerts' history, and acknowledging one (dashboard/acknowledging.py)
checkin_staff.patient_alert(patient_id)

# --- scales -------------------------------------------------------------------------------
scales = data["scales"]
st.subheader("Symptom scales: baseline to latest")
if scales.empty:
    st.info("No scores recorded yet for this patient: no scale has been given.")
else:
    st.dataframe(scales_table(scales, summary["primary_indication"]), hide_index=True, column_config={
        "Status": st.column_config.TextColumn(
            "Status", help="Remission: PHQ-9 or GAD-7 below 5, PCL-5 below 33 with a 10-point drop (pain has none). "
                           "Response: a drop of at least 50% from baseline (pain 30%). Not on track: less "
                           "improvement than 3 in 4 of this clinic's patients with the same scale and baseline "
                           "severity at the same infusion."),
        "Expected course": st.column_config.TextColumn(
            "Expected course", help="The latest score against this clinic's patients with the same scale and "
                                    "baseline severity at the same infusion."),
        "Scores": st.column_config.NumberColumn("Valid scores", help="Scores with a valid total"),
    })
    for row in scales.itertuples():
        name = md(scale_name(row.instrument))
        if row.status == "no valid score":
            st.info(f"{name}: given {row.n_administrations} time(s), never with enough items answered for a score.")
        elif row.status == "no baseline" and not summary["n_infusions"]:
            st.info(f"{name}: no infusion yet, so there is no baseline: the baseline is the latest score in the "
                    f"30 days up to the first infusion.")
        elif row.status == "no baseline":
            st.info(f"{name}: no score in the 30 days up to the first infusion, so there is no baseline and "
                    f"response or remission cannot be judged.")
    judged = scales[scales["baseline_score"].notna()]
    if len(judged) and (judged["n_followups"] == 0).all():
        st.info("Only a baseline so far: no follow-up score yet, so change and response cannot be judged.")

# --- course, items, infusions -------------------------------------------------------------
choice = st.segmented_control("Show by", list(X_CHOICES), default="Infusion number", required=True, key="patient_x")
x_axis = X_CHOICES.get(choice or "Infusion number", "infusion")
scores, sessions = data["scores"], data["sessions"]
version = current_version()
bands = ask(scale_bands)
# The item heatmap and the infusions table are tabs that run only when opened, so a new
# patient's page costs the course chart, not three charts.
course_tab, items_tab, infusions_tab = st.tabs(["Course", "PHQ-9 items over time", "Infusions"],
                                               on_change="rerun", key="patient_tab")
if course_tab.open:
    with course_tab:
        spec = None if scores.empty else trajectory_chart(version, patient_id, x_axis)
        if spec is None:
            st.info("No scores recorded yet for this patient.")
        else:
            vega_chart(spec, "trajectory")
            st.caption("Shaded: severity bands. Grey band: the middle half of this clinic's patients with the same "
                       "scale and baseline severity; dashed grey: their median. Triangles: infusions (orange-red: "
                       "BP excursion).")

if items_tab.open:
    with items_tab:
        items = ask(phq9_item_history, patient_id)
        if items.empty:
            st.info("No PHQ-9 answers recorded for this patient.")
        else:
            vega_chart(items_chart(version, patient_id, x_axis), "items")

if infusions_tab.open:
    with infusions_tab:
        if sessions.empty:
            st.info("No infusions recorded yet for this patient.")
        else:
            st.dataframe(sessions_table(sessions), hide_index=True, column_config={
                "Date": st.column_config.DatetimeColumn("Date", format="D MMM YYYY, HH:mm"),
                "Dose": st.column_config.TextColumn("Dose", help="Intranasal: mg (a fixed dose); IV and IM: mg/kg"),
                "BP excursion": st.column_config.CheckboxColumn(
                    "BP excursion", help=f"Peak at or above {config.thresholds.bp_excursion_systolic}/"
                                         f"{config.thresholds.bp_excursion_diastolic} mmHg"),
                "CADSS": st.column_config.NumberColumn("CADSS", help="Dissociation (CADSS total, 0-92)"),
            })

checkin_staff.patient_panel(patient_id, scores)

# --- printable summary --------------------------------------------------------------------


def summary_document() -> bytes:
    """The one-page summary, built only when the button is clicked (Streamlit runs this in
    another thread, so it uses only values fetched above and no Streamlit command)."""
    trail.export("patient", patient_id, "printable summary (HTML)")  # no log entry, no document
    return progress_summary_html(summary, scales, sessions, scores, bands, config).encode("utf-8")


trail = auditor()
safe_name = re.sub(r"[^A-Za-z0-9_-]", "_", patient_id)
st.download_button(
    "Download printable summary (HTML)", summary_document,
    file_name=f"progress-summary-{safe_name}.html", mime="text/html", key="patient_summary_download",
    icon=":material/print:", help="One page for the patient's chart or a referring doctor: open it and print.")
