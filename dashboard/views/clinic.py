"""Clinic outcomes (the director's page): how many patients the clinic treats, how well they do
and how safely, for any cohort of the shared sidebar filter and any scale with data.

The page only composes: numbers come from `pipelines.reports.clinic` through `ask` (cached per
database version), figures from `dashboard.charts.clinic` and `treatment`, KPI text and tables
with their CSV from `dashboard.display`. Every figure, table and CSV is built
from those published answers, whose frames already have small cells suppressed
(docs/analytics.md, "Small-cell suppression"), so a chart and its download always show the
same, suppressed, numbers. Definitions of the clinic-level figures are in the analytics modules
the reports are built on (`pipelines/analytics/activity.py`: as-of date, active patients, new
starts, assessment completion; `change.py`: the waterfall's aggregation) and the small-cell rule
in `pipelines/reports/suppression.py`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import theme
from dashboard.charts import clinic as charts
from dashboard.charts import clinic_course
from dashboard.charts import treatment as treatment_charts
from dashboard.data import ask, settings
from dashboard.display import interval, percent, rate_columns, rate_names, table
from dashboard.filters import cohort_filter, describe
from dashboard.views import clinic_bases
from dashboard.views.clinic_report import report_downloads
from dashboard.widgets import require_database, vega_chart
from dashboard.suppressed import SUPPRESSED
from pipelines.analytics.cohorts import GROUPABLE
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
GROUP_CHOICES = {None: "no comparison", **{g: charts.GROUP_LABELS[g].capitalize() for g in GROUPABLE}}


def count(value) -> str:
    """A patient count for a KPI card: suppressed counts arrive as <NA> and read "suppressed"."""
    return SUPPRESSED if pd.isna(value) else f"{int(value)}"


@st.cache_data(max_entries=256, show_spinner=False)
def draw(builder: str, *args) -> None:
    """`charts.<builder>(*args)` (or `treatment_charts.<builder>`) drawn with st.plotly_chart, cached
    on the builder's inputs.

    Building and validating a Plotly figure costs 50-100 ms (mostly the template), and this page
    has a dozen, so a rerun that changes nothing would take a second. Streamlit replays the
    elements a cached function drew, so an unchanged chart costs only the hash of its (small)
    input frames; the inputs come from `ask`, so a new database version draws afresh."""
    st.plotly_chart(getattr(charts if hasattr(charts, builder) else treatment_charts, builder)(*args))


@st.cache_data(max_entries=256, show_spinner=False)
def draw_vega(builder: str, key: str, *args) -> None:
    """`clinic_course.<builder>(*args)`, a Vega-Lite specification, drawn with st.vega_lite_chart
    and cached as `draw` is. The figures the page's tabs open on are Vega-Lite: the first Plotly
    figure of a browser tab loads Plotly's 4.7 MB script (docs/scaling.md)."""
    vega_chart(getattr(clinic_course, builder)(*args), key)


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

scale_name = theme.scale_name(scale) if scale else ""  # "Pain (0-10)", never the code PAIN-NRS
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
TAB_NAMES = ["Course", "Time to response", "Change per patient", "Clinicians and sites", "Trend by start month",
             "Retention", "Safety"]
tabs = list(st.tabs(TAB_NAMES, on_change="rerun", key="clinic_tab"))
response_tab = tabs.pop(1)  # the other sections keep their indices below

# --- Course: trajectories ------------------------------------------------------------------------

if tabs[0].open:  # only the tab on screen runs (lazy tabs)
    with tabs[0]:
        if scale is None:
            st.info("No scale has scores for this cohort.")
        else:
            group_by = st.selectbox("Compare by", list(GROUP_CHOICES), format_func=GROUP_CHOICES.get,
                                    key="clinic_trajectory_group")
            path = ask(published.trajectory, SETTINGS, scale, cohort, (group_by,) if group_by else ())
            if path.empty:
                st.info(f"No {scale_name} scores for this cohort.")
            else:
                draw_vega("trajectory_chart", "clinic_trajectory", path, scale, group_by,
                          GROUP_CHOICES[group_by].lower() if group_by else None)
                trajectory_table = st.expander("Trajectory table", on_change="rerun", key="clinic_trajectory_table")
                if trajectory_table.open:  # lazy, as the expander above
                    with trajectory_table:
                        names = {**({group_by: GROUP_CHOICES[group_by]} if group_by else {}),
                                 "label": "Score before infusion", "n_shown": "Patients", "mean": "Mean score",
                                 "mean_low": "Mean 95% CI low", "mean_high": "Mean 95% CI high",
                                 "median": "Median score", "median_low": "Median 95% CI low",
                                 "median_high": "Median 95% CI high"}
                        table(path.round(2), names, "trajectory.csv", "trajectory")

# --- Time to response: Kaplan-Meier, cumulative incidence, durability ---------------------------

if response_tab.open:  # only the tab on screen runs (lazy tabs)
    with response_tab:
        if scale is None:
            st.info("No scale has scores for this cohort.")
        else:
            km = ask(published.time_to_response, SETTINGS, scale, cohort)
            if km["summary"].empty:
                st.info(f"No patient in the clinical range at baseline on {scale_name} has a follow-up yet: "
                        "no time to response.")
            elif km["curve"].empty:
                st.info(f"Fewer than {MIN_CELL} patients of this cohort can be followed for time to response on "
                        f"{scale_name}: the curve is not shown (small-cell suppression).")
            else:
                st.caption(f"The curve stops where fewer than {MIN_CELL} patients are still followed, and steps "
                           f"only where at least {MIN_CELL} have responded or left follow-up since the last step.")
                draw_vega("time_to_response_chart", "clinic_time_to_response", km["curve"], km["summary"], scale)
                with st.expander("Time-to-response table"):
                    names = {"time": "Day since first infusion", "at_risk": "Patients still followed",
                             "responded": "Responded (%)", "responded_low": "95% CI low (%)",
                             "responded_high": "95% CI high (%)"}
                    curve = km["curve"].copy()
                    for column in ("responded", "responded_low", "responded_high"):
                        curve[column] = (100 * curve[column]).round(1)
                    table(curve, names, "time_to_response.csv", "time to response")
            clinic_bases.competing_risks(SETTINGS, scale, cohort, km["curve"])
            clinic_bases.durability(SETTINGS, scale, cohort)

# --- Change per patient: waterfall and severity transitions ------------------------------------

if tabs[1].open:  # only the tab on screen runs (lazy tabs)
    with tabs[1]:
        if scale is None:
            st.info("No scale has scores for this cohort.")
        else:
            bars = ask(published.waterfall, SETTINGS, scale, cohort, timepoint)
            if bars.attrs.get("suppressed"):
                st.info(f"Fewer than {MIN_CELL} evaluable patients on {scale_name} in this cohort: the per-patient "
                        "chart is not drawn (small-cell suppression).")
            elif bars.empty:
                st.info(f"No evaluable patient on {scale_name}: no change to show.")
            else:
                draw("waterfall_chart", bars, scale, MIN_CELL)
                if (bars["n_patients"] > 1).any():
                    st.caption(f"{bars.attrs['n']} patients in {len(bars)} bars: each bar is a run of consecutive "
                               "ranks at its median change.")
                with st.expander("Waterfall table"):
                    names = {"bar": "Bar", "first_rank": "First rank", "last_rank": "Last rank",
                             "n_patients": "Patients", "pct_change": "Change from baseline (%)",
                             "lowest_pct_change": "Lowest change (%)", "highest_pct_change": "Highest change (%)",
                             "baseline_score": "Baseline score", "n_response": "Responded",
                             "n_remission": "Remitted", "remission_pct_change": "Remission threshold (%)"}
                    table(bars, names, "waterfall.csv", "waterfall")

            moves = ask(published.severity_transitions, SETTINGS, scale, cohort)
            if not moves.attrs.get("has_patients"):
                st.info(f"No patient of this cohort has a {scale_name} score after induction yet.")
            elif moves.attrs.get("n") is None:
                st.info(f"Fewer than {MIN_CELL} patients of this cohort have a {scale_name} score after induction: "
                        "severity transitions are not shown (small-cell suppression).")
            else:
                draw("transitions_chart", moves, scale, MIN_CELL)
                with st.expander("Severity transitions table"):
                    names = {"baseline_band": "Severity at baseline", "after_band": "Severity after induction",
                             "n_shown": "Patients", "baseline_total": "Patients at this baseline severity",
                             "after_total": "Patients at this severity after induction"}
                    table(moves, names, "severity_transitions.csv", "severity transitions")

# --- Clinicians and sites ----------------------------------------------------------------------------

if tabs[2].open:  # only the tab on screen runs (lazy tabs)
    with tabs[2]:
        if scale is None:
            st.info("No scale has scores for this cohort.")
        else:
            st.caption(f"Groups with fewer than {MIN_CELL} patients are suppressed (CMS cell-size policy), with a "
                       "second group where the cohort's total would give one back; so are responder and remitter "
                       f"counts under {MIN_CELL} (or leaving fewer than {MIN_CELL} without), with their rates.")
            for by in ("clinician", "site"):
                result = ask(published.outcomes_by_group, SETTINGS, scale, by, cohort, timepoint)
                groups = result["groups"]
                st.subheader(f"By {by}")
                evaluable = result["overall"]["n_evaluable"].iloc[0]
                if pd.isna(evaluable):
                    st.info(f"Fewer than {MIN_CELL} evaluable patients on {scale_name} in this cohort: nothing to compare.")
                    continue
                if groups.empty or int(evaluable) == 0:
                    st.info(f"No evaluable patient on {scale_name} in this cohort.")
                    continue
                draw("funnel_chart", groups, result["limits"], result["overall"], by)
                names = {"group": by.capitalize(), "n_shown": "Patients evaluated",
                         **rate_names("response", "Response"), **rate_names("remission", "Remission")}
                table(rate_columns(groups, published.GROUP_OUTCOMES), names, f"outcomes_by_{by}.csv",
                      f"outcomes by {by}")

# --- Trend by start month ------------------------------------------------------------------------------

if tabs[3].open:  # only the tab on screen runs (lazy tabs)
    with tabs[3]:
        if scale is None:
            st.info("No scale has scores for this cohort.")
        else:
            trend = ask(published.outcomes_by_start, SETTINGS, scale, cohort, timepoint)
            period = trend.attrs.get("period", "month")
            if period == "quarter":
                st.caption(f"By start quarter: too few start months have {MIN_CELL} or more responders and "
                           f"{MIN_CELL} or more without a response to show their rates (small-cell suppression).")
            if trend.empty or not trend["response_rate"].notna().any():
                st.info(f"No start {period} of this cohort shows a rate on {scale_name}: each has fewer than {MIN_CELL} "
                        f"evaluable patients, or fewer than {MIN_CELL} with or without a response "
                        "(small-cell suppression). Widen the filter to see a trend.")
            else:
                draw("monthly_trend_chart", trend, scale, MIN_CELL)
            if not trend.empty:
                trend = rate_columns(trend, published.GROUP_OUTCOMES).assign(
                    start=lambda f: f["group"] if period == "quarter" else f["start"].dt.strftime("%Y-%m"))
                names = {"start": f"{period.capitalize()} of first infusion", "n_shown": "Patients evaluated",
                         **rate_names("response", "Response"), **rate_names("remission", "Remission")}
                table(trend, names, f"outcomes_by_start_{period}.csv", f"outcomes by start {period}")

# --- Retention --------------------------------------------------------------------------------------

if tabs[4].open:  # only the tab on screen runs (lazy tabs)
    with tabs[4]:
        kept = ask(published.retention_summary, SETTINGS, cohort)
        counts = ask(published.infusions_distribution, SETTINGS, cohort)
        left, right = st.columns(2)
        with left:
            draw("retention_chart", kept.iloc[0], MIN_CELL)
        with right:
            draw("infusions_chart", counts, SETTINGS.induction_sessions, MIN_CELL)
        names = {"n_started": "Started", **rate_names("completed_induction", "Completed induction"),
                 **rate_names("any_maintenance", "Any maintenance")}
        table(rate_columns(kept, ("completed_induction", "any_maintenance")), names, "retention.csv", "retention")
        table(counts.assign(share=(100 * counts["share"]).round(1), share_low=(100 * counts["share_low"]).round(1),
                            share_high=(100 * counts["share_high"]).round(1),
                            n_patients=counts["n_patients"].astype("string").fillna(SUPPRESSED)),
              {"n_infusions": "Infusions so far", "n_patients": "Patients", "share": "Share of patients (%)",
               "share_low": "95% CI low (%)", "share_high": "95% CI high (%)"},
              "infusions_per_patient.csv", "infusions per patient")

# --- Safety ---------------------------------------------------------------------------------------------

if tabs[5].open:  # only the tab on screen runs (lazy tabs)
    with tabs[5]:
        rates = ask(published.safety_rates, SETTINGS, cohort)
        effects, pressure = rates["effects"], rates["bp"]
        limits = SETTINGS.thresholds
        draw("safety_chart", effects, pressure, limits.bp_excursion_systolic, limits.bp_excursion_diastolic,
             MIN_CELL)
        rows = effects.assign(effect=effects["effect"].map(theme.sentence))[
            ["effect", "n_affected_infusions", "n_infusions", "per_100", "per_100_low", "per_100_high"]]
        if len(pressure):
            rows = pd.concat([rows, pressure.assign(
                effect=f"BP excursion (peak ≥ {limits.bp_excursion_systolic}/{limits.bp_excursion_diastolic} mmHg)",
                n_affected_infusions=pressure["n_excursions"], n_infusions=pressure["n_infusions_with_bp"])[rows.columns]],
                ignore_index=True)
        names = {"effect": "Event", "n_affected_infusions": "Infusions affected", "n_infusions": "Infusions",
                 "per_100": "Per 100 infusions", "per_100_low": "95% CI low", "per_100_high": "95% CI high"}
        table(rows.round(2), names, "safety.csv", "safety")

        cadss = ask(published.cadss_points, SETTINGS, cohort)
        if cadss.empty:
            st.info("No CADSS dissociation score was recorded for this cohort's infusions.")
        else:
            draw("cadss_chart", cadss)
            names = {"infusion": "Infusion", "n_shown": "Infusions", "n_patients": "Patients", "mean": "Mean CADSS",
                     "mean_low": "Mean 95% CI low", "mean_high": "Mean 95% CI high", "median": "Median CADSS",
                     "median_low": "Median 95% CI low", "median_high": "Median 95% CI high"}
            table(cadss.round(2), names, "cadss_by_infusion.csv", "CADSS by infusion")
