"""The tabs of the Clinic outcomes page, a function each: course, time to response, change per
patient, clinicians and sites, trend by start month, retention, safety.

Why a module of its own: the page (`clinic.py`) reads top to bottom as the director sees it
(filters, headline cards, the tabs); each tab here is one question with its figure, its table
and the words for when there is nothing to show. Like the page, they read only
`pipelines.reports`, whose answers have small cells already blanked (docs/analytics.md), so a
chart and its CSV always show the same, suppressed, numbers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import pandas as pd
import streamlit as st

from dashboard import theme
from dashboard.charts import clinic as charts
from dashboard.charts import clinic_course
from dashboard.charts import treatment as treatment_charts
from dashboard.data import ask
from dashboard.display import rate_columns, rate_names, table
from dashboard.suppressed import SUPPRESSED
from dashboard.views import clinic_bases
from dashboard.widgets import vega_chart
from pipelines.analytics.cohorts import GROUPABLE, CohortFilter
from pipelines.reports import clinic as published
from pipelines.settings import Settings

GROUP_CHOICES = {None: "no comparison", **{g: charts.GROUP_LABELS[g].capitalize() for g in GROUPABLE}}


@dataclass(frozen=True)
class Question:
    """What every tab is asked about: the cohort of the sidebar filter, the scale (None when no
    patient of the cohort has a baseline on any) and the time point outcomes are judged at."""

    settings: Settings
    cohort: CohortFilter
    scale: str | None
    timepoint: str

    @property
    def scale_name(self) -> str:
        """The scale's name as shown: "Pain (0-10)", never the code PAIN-NRS."""
        return theme.scale_name(self.scale) if self.scale else ""

    @property
    def min_cell(self) -> int:
        return self.settings.privacy.min_cell_size


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


def on_a_scale(tab: Callable[[Question], None]) -> Callable[[Question], None]:
    """A tab about one scale: says so instead when the cohort has scores on none."""
    @functools.wraps(tab)
    def shown(question: Question) -> None:
        if question.scale is None:
            st.info("No scale has scores for this cohort.")
        else:
            tab(question)
    return shown


@on_a_scale
def course(q: Question) -> None:
    """Trajectories: the mean and median score before each infusion, compared by a group if chosen."""
    group_by = st.selectbox("Compare by", list(GROUP_CHOICES), format_func=GROUP_CHOICES.get,
                            key="clinic_trajectory_group")
    path = ask(published.trajectory, q.settings, q.scale, q.cohort, (group_by,) if group_by else ())
    if path.empty:
        st.info(f"No {q.scale_name} scores for this cohort.")
        return
    draw_vega("trajectory_chart", "clinic_trajectory", path, q.scale, group_by,
              GROUP_CHOICES[group_by].lower() if group_by else None)
    trajectory_table = st.expander("Trajectory table", on_change="rerun", key="clinic_trajectory_table")
    if trajectory_table.open:  # lazy: the table is sent and drawn when the expander is opened
        with trajectory_table:
            names = {**({group_by: GROUP_CHOICES[group_by]} if group_by else {}),
                     "label": "Score before infusion", "n_shown": "Patients", "mean": "Mean score",
                     "mean_low": "Mean 95% CI low", "mean_high": "Mean 95% CI high",
                     "median": "Median score", "median_low": "Median 95% CI low",
                     "median_high": "Median 95% CI high"}
            table(path.round(2), names, "trajectory.csv", "trajectory")


@on_a_scale
def time_to_response(q: Question) -> None:
    """Kaplan-Meier, the cumulative incidence with stopping as a competing event, durability."""
    km = ask(published.time_to_response, q.settings, q.scale, q.cohort)
    if km["summary"].empty:
        st.info(f"No patient in the clinical range at baseline on {q.scale_name} has a follow-up yet: "
                "no time to response.")
    elif km["curve"].empty:
        st.info(f"Fewer than {q.min_cell} patients of this cohort can be followed for time to response on "
                f"{q.scale_name}: the curve is not shown (small-cell suppression).")
    else:
        st.caption(f"The curve stops where fewer than {q.min_cell} patients are still followed, and steps "
                   f"only where at least {q.min_cell} have responded or left follow-up since the last step.")
        draw_vega("time_to_response_chart", "clinic_time_to_response", km["curve"], km["summary"], q.scale)
        with st.expander("Time-to-response table"):
            names = {"time": "Day since first infusion", "at_risk": "Patients still followed",
                     "responded": "Responded (%)", "responded_low": "95% CI low (%)",
                     "responded_high": "95% CI high (%)"}
            curve = km["curve"].copy()
            for column in ("responded", "responded_low", "responded_high"):
                curve[column] = (100 * curve[column]).round(1)
            table(curve, names, "time_to_response.csv", "time to response")
    clinic_bases.competing_risks(q.settings, q.scale, q.cohort, km["curve"])
    clinic_bases.durability(q.settings, q.scale, q.cohort)


@on_a_scale
def change_per_patient(q: Question) -> None:
    """The waterfall of each patient's change, and the severity transitions after induction."""
    bars = ask(published.waterfall, q.settings, q.scale, q.cohort, q.timepoint)
    if bars.attrs.get("suppressed"):
        st.info(f"Fewer than {q.min_cell} evaluable patients on {q.scale_name} in this cohort: the per-patient "
                "chart is not drawn (small-cell suppression).")
    elif bars.empty:
        st.info(f"No evaluable patient on {q.scale_name}: no change to show.")
    else:
        draw("waterfall_chart", bars, q.scale, q.min_cell)
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

    moves = ask(published.severity_transitions, q.settings, q.scale, q.cohort)
    if not moves.attrs.get("has_patients"):
        st.info(f"No patient of this cohort has a {q.scale_name} score after induction yet.")
    elif moves.attrs.get("n") is None:
        st.info(f"Fewer than {q.min_cell} patients of this cohort have a {q.scale_name} score after induction: "
                "severity transitions are not shown (small-cell suppression).")
    else:
        draw("transitions_chart", moves, q.scale, q.min_cell)
        with st.expander("Severity transitions table"):
            names = {"baseline_band": "Severity at baseline", "after_band": "Severity after induction",
                     "n_shown": "Patients", "baseline_total": "Patients at this baseline severity",
                     "after_total": "Patients at this severity after induction"}
            table(moves, names, "severity_transitions.csv", "severity transitions")


@on_a_scale
def clinicians_and_sites(q: Question) -> None:
    """Response and remission by clinician and by site, on funnel plots."""
    st.caption(f"Groups with fewer than {q.min_cell} patients are suppressed (CMS cell-size policy), with a "
               "second group where the cohort's total would give one back; so are responder and remitter "
               f"counts under {q.min_cell} (or leaving fewer than {q.min_cell} without), with their rates.")
    for by in ("clinician", "site"):
        result = ask(published.outcomes_by_group, q.settings, q.scale, by, q.cohort, q.timepoint)
        groups = result["groups"]
        st.subheader(f"By {by}")
        evaluable = result["overall"]["n_evaluable"].iloc[0]
        if pd.isna(evaluable):
            st.info(f"Fewer than {q.min_cell} evaluable patients on {q.scale_name} in this cohort: nothing to compare.")
            continue
        if groups.empty or int(evaluable) == 0:
            st.info(f"No evaluable patient on {q.scale_name} in this cohort.")
            continue
        draw("funnel_chart", groups, result["limits"], result["overall"], by)
        names = {"group": by.capitalize(), "n_shown": "Patients evaluated",
                 **rate_names("response", "Response"), **rate_names("remission", "Remission")}
        table(rate_columns(groups, published.GROUP_OUTCOMES), names, f"outcomes_by_{by}.csv",
              f"outcomes by {by}")


@on_a_scale
def trend_by_start(q: Question) -> None:
    """Response and remission by the month (or quarter) of the first infusion."""
    trend = ask(published.outcomes_by_start, q.settings, q.scale, q.cohort, q.timepoint)
    period = trend.attrs.get("period", "month")
    if period == "quarter":
        st.caption(f"By start quarter: too few start months have {q.min_cell} or more responders and "
                   f"{q.min_cell} or more without a response to show their rates (small-cell suppression).")
    if trend.empty or not trend["response_rate"].notna().any():
        st.info(f"No start {period} of this cohort shows a rate on {q.scale_name}: each has fewer than "
                f"{q.min_cell} evaluable patients, or fewer than {q.min_cell} with or without a response "
                "(small-cell suppression). Widen the filter to see a trend.")
    else:
        draw("monthly_trend_chart", trend, q.scale, q.min_cell)
    if not trend.empty:
        trend = rate_columns(trend, published.GROUP_OUTCOMES).assign(
            start=lambda f: f["group"] if period == "quarter" else f["start"].dt.strftime("%Y-%m"))
        names = {"start": f"{period.capitalize()} of first infusion", "n_shown": "Patients evaluated",
                 **rate_names("response", "Response"), **rate_names("remission", "Remission")}
        table(trend, names, f"outcomes_by_start_{period}.csv", f"outcomes by start {period}")


def retention(q: Question) -> None:
    """Who completed induction and went on to maintenance, and infusions per patient."""
    kept = ask(published.retention_summary, q.settings, q.cohort)
    counts = ask(published.infusions_distribution, q.settings, q.cohort)
    left, right = st.columns(2)
    with left:
        draw("retention_chart", kept.iloc[0], q.min_cell)
    with right:
        draw("infusions_chart", counts, q.settings.induction_sessions, q.min_cell)
    names = {"n_started": "Started", **rate_names("completed_induction", "Completed induction"),
             **rate_names("any_maintenance", "Any maintenance")}
    table(rate_columns(kept, ("completed_induction", "any_maintenance")), names, "retention.csv", "retention")
    table(counts.assign(share=(100 * counts["share"]).round(1), share_low=(100 * counts["share_low"]).round(1),
                        share_high=(100 * counts["share_high"]).round(1),
                        n_patients=counts["n_patients"].astype("string").fillna(SUPPRESSED)),
          {"n_infusions": "Infusions so far", "n_patients": "Patients", "share": "Share of patients (%)",
           "share_low": "95% CI low (%)", "share_high": "95% CI high (%)"},
          "infusions_per_patient.csv", "infusions per patient")


def safety(q: Question) -> None:
    """Side effects and blood-pressure excursions per 100 infusions, and dissociation (CADSS) by infusion."""
    rates = ask(published.safety_rates, q.settings, q.cohort)
    effects, pressure = rates["effects"], rates["bp"]
    limits = q.settings.thresholds
    draw("safety_chart", effects, pressure, limits.bp_excursion_systolic, limits.bp_excursion_diastolic,
         q.min_cell)
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

    cadss = ask(published.cadss_points, q.settings, q.cohort)
    if cadss.empty:
        st.info("No CADSS dissociation score was recorded for this cohort's infusions.")
    else:
        draw("cadss_chart", cadss)
        names = {"infusion": "Infusion", "n_shown": "Infusions", "n_patients": "Patients", "mean": "Mean CADSS",
                 "mean_low": "Mean 95% CI low", "mean_high": "Mean 95% CI high", "median": "Median CADSS",
                 "median_low": "Median 95% CI low", "median_high": "Median 95% CI high"}
        table(cadss.round(2), names, "cadss_by_infusion.csv", "CADSS by infusion")


# In the order the page shows them; it opens on the first.
TABS: dict[str, Callable[[Question], None]] = {
    "Course": course,
    "Time to response": time_to_response,
    "Change per patient": change_per_patient,
    "Clinicians and sites": clinicians_and_sites,
    "Trend by start month": trend_by_start,
    "Retention": retention,
    "Safety": safety,
}
