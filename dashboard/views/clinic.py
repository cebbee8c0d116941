"""Clinic outcomes (the director's page): how many patients the clinic treats, how well they do
and how safely, for any cohort of the shared sidebar filter and any scale with data.

The page only composes: the filters and headline cards here, the sections on denominators in
`clinic_bases`, the tabs in `clinic_tabs` (a function each). Numbers come from
`pipelines.reports.clinic` through `ask` (cached per database version), figures from
`dashboard.charts.clinic` and `treatment`, KPI text and tables with their CSV from
`dashboard.display`. Every figure, table and CSV is built from those published answers, whose
frames already have small cells suppressed (docs/analytics.md, "Small-cell suppression"), so a
chart and its download always show the same, suppressed, numbers. Definitions of the
clinic-level figures are in the analytics modules the reports are built on
(`pipelines/analytics/activity.py`: as-of date, active patients, new starts, assessment
completion; `change.py`: the waterfall's aggregation) and the small-cell rule in
`pipelines/reports/suppression.py`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import theme
from dashboard.data import ask, settings
from dashboard.display import interval, percent
from dashboard.filters import cohort_filter, describe
from dashboard.views import clinic_bases, clinic_tabs
from dashboard.views.clinic_report import report_downloads
from dashboard.widgets import require_database
from dashboard.suppressed import SUPPRESSED
from pipelines.reports import clinic as published

st.title("Clinic outcomes")
require_database()

SETTINGS = settings()
# Small-cell suppression (docs/analytics.md): every number below comes from a published answer
# (pipelines.reports) that has already blanked counts under this size and the cells that would
# give them back.
MIN_CELL = SETTINGS.privacy.min_cell_size
FEWER = f"fewer than {MIN_CELL}"  # only where it is true: the whole cohort under the size
TIMEPOINT_LABELS = {"latest": "latest score", "after_induction": "after induction"}


def count(value) -> str:
    """A patient count for a KPI card: suppressed counts arrive as <NA> and read "suppressed"."""
    return SUPPRESSED if pd.isna(value) else f"{int(value)}"


# --- Filters --------------------------------------------------------------------------------------

whole_clinic = ask(published.headline_activity, SETTINGS).iloc[0]
if not whole_clinic["suppressed"] and whole_clinic["n_patients"] == 0:
    # Checked before the sidebar filter, which has no date range to offer on an empty clinic. (A
    # clinic of 1 to MIN_CELL - 1 patients is suppressed: the cohort's own check below says so.)
    st.info("No patient has had an infusion yet: there is nothing to report. Load the clinic's exports "
            "with `outcomes ingest`.")
    st.stop()

cohort = cohort_filter()
scales = ask(published.scales_with_data, SETTINGS, cohort)
with st.sidebar:
    st.header("Outcome")
    scale = st.selectbox("Scale", list(scales["instrument"]), format_func=theme.scale_name, key="clinic_scale",
                         help="Only scales on which a patient of this cohort has a baseline score.")
    timepoint = st.radio("Judged at", list(TIMEPOINT_LABELS), format_func=TIMEPOINT_LABELS.get,
                         key="clinic_timepoint", horizontal=True,
                         help="Latest follow-up score, or the first score after the 6th infusion "
                              "(before the 9th).")

question = clinic_tabs.Question(SETTINGS, cohort, scale, timepoint)  # what the headline and every tab are about
scale_name = question.scale_name
activity = ask(published.headline_activity, SETTINGS, cohort).iloc[0]
if activity["suppressed"]:
    # every figure of a cohort this small describes fewer than MIN_CELL patients
    st.info(f"Fewer than {MIN_CELL} patients in this cohort ({describe(cohort)}): no figures are shown for so few "
            "patients (small-cell suppression). Widen the filter in the sidebar.")
    st.stop()
if activity["n_patients"] == 0:
    st.info(f"No treated patient matches this filter ({describe(cohort)}). Widen the filter in the sidebar.")
    st.stop()

as_of = pd.Timestamp(activity["as_of"]).date()
unknown = activity["unknown_indication"]
unknown_note = "" if pd.notna(unknown) and unknown == 0 else (
    f" · {count(unknown)} with the indication not recorded (counted in every outcome; see Data quality)")
st.caption(f"{theme.sentence(describe(cohort))} · {int(activity['n_patients'])} treated patients{unknown_note} · as of "
           f"{as_of:%d %b %Y} (the latest infusion in the database) · counts under {MIN_CELL} patients are not shown")
report_downloads(cohort)  # the director's one-page report, PDF and HTML (dashboard/views/clinic_report.py)

# --- KPI cards ------------------------------------------------------------------------------------

overall = ask(published.headline_outcomes, SETTINGS, scale, cohort, timepoint).iloc[0] if scale else None
completion = ask(published.assessment_completion, SETTINGS, scale, cohort).iloc[0] if scale else None

cards = st.columns(4)
cards[0].metric("Active patients", count(activity["active_patients"]), border=True,
                help=f"An infusion in the {SETTINGS.thresholds.active_treatment_days} days up to the as-of date.")
cards[1].metric("New starts", count(activity["new_starts"]), border=True,
                delta=f"first infusion since {pd.Timestamp(activity['new_starts_since']):%d %b %Y}",
                delta_color="off", delta_arrow="off",
                help=f"First infusion in the {published.NEW_START_DAYS} days up to the as-of date "
                     "(the cohort's own date range applies too).")
cards[2].metric("Infusions delivered", f"{int(activity['infusions']):,}", border=True,
                help="Every infusion of the cohort's patients.")
if completion is not None:
    cards[3].metric(f"{scale_name} before infusion", percent(completion["rate"]), border=True,
                    delta=interval(completion["low"], completion["high"], int(completion["n_infusions"]),
                                   "infusions"), delta_color="off", delta_arrow="off",
                    help="Share of infusions with a valid score taken after the previous infusion and before "
                         "this one (before the first: in the baseline window).")
else:
    cards[3].metric("Scores before infusion", "—", border=True)

if overall is None:
    st.info("No patient in this cohort has a baseline score on any scale yet, so there are no outcomes to show.")
elif overall["suppressed"]:
    cards = st.columns(3)
    for card, name in zip(cards, ("Response rate", "Remission rate", "Median change")):
        card.metric(name, "—", delta=f"{FEWER} patients in this cohort", border=True, delta_color="off",
                    delta_arrow="off")
    st.info(f"Fewer than {MIN_CELL} patients in this cohort are evaluable on {scale_name} at the "
            f"{TIMEPOINT_LABELS[timepoint]}: outcome rates are not shown for so few patients (small-cell "
            "suppression).")
else:
    cards = st.columns(3)
    evaluable = int(overall["n_evaluable"])
    small_count = f"n = {evaluable} patients; {FEWER} with or without it: not shown"
    cards[0].metric("Response rate", percent(overall["response_rate"]), border=True,
                    delta=(interval(overall["response_low"], overall["response_high"], evaluable)
                           if pd.notna(overall["response_n"]) else small_count),
                    delta_color="off", delta_arrow="off",
                    help="Reduction from baseline of at least 50% (pain 30%), among patients in the clinical "
                         "range at baseline with a follow-up score.")
    cards[1].metric("Remission rate", percent(overall["remission_rate"]), border=True,
                    delta=(interval(overall["remission_low"], overall["remission_high"], evaluable)
                           if pd.notna(overall["remission_n"]) else
                           small_count if overall["has_remission"] else "no remission on this scale"),
                    delta_color="off", delta_arrow="off",
                    help="PHQ-9 or GAD-7 below 5; PCL-5 below 33 with a drop of 10 or more.")
    median = overall["median_change"]
    cards[2].metric("Median change", "—" if pd.isna(median) else f"{median:+.1f} points", border=True,
                    delta=("" if pd.isna(overall["median_change_low"]) else
                           f"95% CI {overall['median_change_low']:+.1f} to {overall['median_change_high']:+.1f}, ")
                    + f"n = {evaluable} patients", delta_color="off", delta_arrow="off",
                    help="Follow-up minus baseline; negative is better.")
    if evaluable == 0:
        st.info(f"No patient of this cohort is evaluable on {scale_name} at the {TIMEPOINT_LABELS[timepoint]} yet "
                "(in the clinical range at baseline and with a follow-up score).")

if overall is not None and not overall["suppressed"]:  # the same rates over each denominator (issue 16)
    clinic_bases.headline_on_bases(SETTINGS, scale, cohort, timepoint)
    # Lazy (on_change="rerun"): the table is sent and drawn when the expander is opened, so the page's
    # first view draws no data grid (the browser loads the grid's code only when one is shown).
    like = st.expander("Unipolar depression and other indications (like with like)", on_change="rerun",
                       key="clinic_like_with_like")
    if like.open:
        with like:
            clinic_bases.like_with_like(SETTINGS, scale, cohort)

# on_change="rerun": a tab's charts are computed when it is opened, not all seven on every run. The
# page opens on one figure (the trajectory): each Plotly figure drawn at once costs the browser's
# main thread (docs/scaling.md, "Browser"), so time to response has a tab of its own.
for tab, show in zip(st.tabs(list(clinic_tabs.TABS), on_change="rerun", key="clinic_tab"), clinic_tabs.TABS.values()):
    if tab.open:  # only the tab on screen runs (lazy tabs)
        with tab:
            show(question)
