"""Sections of the Clinic outcomes page about who a rate counts: the headline response and
remission on each basis (completers, intention to treat, last observation carried forward),
unipolar depression apart from the other indications, time to response with stopping treatment
as a competing event, and the durability of response.

Why a module of its own: the page showed three "response" figures (at the latest score, after
induction, on the Kaplan-Meier curve) with nothing to say why they differ. These sections put
each rate beside its denominator. Kept apart from `clinic.py` so that page stays a short list
of sections; like it, they read only `pipelines.reports` (small cells already blanked).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import competing as competing_charts
from dashboard.data import ask
from dashboard.display import percent, rate_columns, table
from dashboard.suppressed import hover_text
from dashboard.widgets import vega_chart
from pipelines.analytics.cohorts import CohortFilter
from pipelines.reports import headline, response_course

BASIS_CHOICES = {"completers+itt": ("completers", "itt"), "completers": ("completers",), "itt": ("itt",),
                 "locf": ("locf",), "all": ("completers", "itt", "locf")}
BASIS_CHOICE_LABELS = {"completers+itt": "Completers and intention to treat", "completers": "Completers",
                       "itt": "Intention to treat", "locf": "Last observation carried forward",
                       "all": "All three"}
SHORT_LABELS = {"completers": "Completers", "itt": "ITT", "locf": "LOCF"}
WHY_THEY_DIFFER = (
    "**Why the figures differ.** *Completers* counts only patients with a score at that time point; "
    "patients who stopped or skipped the questionnaire are left out, and they tend to have done worse. "
    "*Intention to treat* (ITT) counts everyone who started treatment in the clinical range and counts a "
    "missing score as no response; *last observation carried forward* (LOCF) judges such a patient on "
    "their last score before the time point (the baseline alone is no response). The truth for the "
    "clinic lies between completers and ITT. Published real-world figures are mostly completers' rates "
    "in depression.")


def _count_text(count, n, min_cell: int) -> str:
    # "suppressed", never "fewer than 11": a count blanked as a complement can be large
    if pd.isna(n):
        return hover_text(min_cell)
    if pd.isna(count):
        return f"{hover_text(min_cell)} of {int(n)}"
    return f"{int(count)} of {int(n)}"


def denominator_text(row, count_column: str, min_cell: int) -> str:
    """'ITT: 98 of 276 who started with PHQ-9 ≥ 10': the basis, the count and who n counts (or
    why the row is not shown)."""
    if row.get("note"):
        return f"{SHORT_LABELS[row['basis']]}: {row['note']}"
    due = row.get("not_yet_due")
    later = f"; {int(due)} not yet due (still in induction)" if not pd.isna(due) and due > 0 else ""
    return f"{SHORT_LABELS[row['basis']]}: {_count_text(row[count_column], row['n'], min_cell)} " \
           f"{row['denominator_label']}{later}"


def headline_on_bases(settings, scale: str, cohort: CohortFilter, timepoint: str) -> None:
    """The response and remission at `timepoint` on the bases the reader picks (default:
    completers and ITT side by side), each labelled with its denominator, and why they differ."""
    min_cell = settings.privacy.min_cell_size
    choice = st.radio("Count the rates over", list(BASIS_CHOICES), format_func=BASIS_CHOICE_LABELS.get,
                      key="clinic_basis", horizontal=True,
                      help="Who the denominator of the response and remission rates is.")
    rates = ask(headline.headline_rates, settings, scale, cohort, timepoint, BASIS_CHOICES[choice])
    columns = st.columns(len(rates))
    for column, (_, row) in zip(columns, rates.iterrows()):
        with column:
            st.markdown(f"**{row['basis_label']}**, {row['timepoint_label']}")
            st.metric(f"Response ({SHORT_LABELS[row['basis']]})", percent(row["response_rate"]), border=True,
                      delta=_interval_text(row, "response"), delta_color="off", delta_arrow="off",
                      help="A drop from baseline of at least 50% (pain 30%).")
            st.caption(denominator_text(row, "responders", min_cell))
            st.metric(f"Remission ({SHORT_LABELS[row['basis']]})",
                      percent(row["remission_rate"]) if row["has_remission"] else "—", border=True,
                      delta=_interval_text(row, "remission") if row["has_remission"] else "no remission on this scale",
                      delta_color="off", delta_arrow="off",
                      help="PHQ-9 or GAD-7 below 5; PCL-5 below 33 with a drop of 10 or more.")
            if row["has_remission"]:
                st.caption(denominator_text(row, "remitters", min_cell))
    st.markdown(WHY_THEY_DIFFER)


def _interval_text(row, rate: str) -> str:
    low, high = row[f"{rate}_low"], row[f"{rate}_high"]
    if row["suppressed"]:
        return "not shown (see below)"
    if pd.isna(low):
        return "no interval: too few to show"
    return f"95% CI {100 * low:.1f}–{100 * high:.1f}%"


def like_with_like(settings, scale: str, cohort: CohortFilter) -> None:
    """Unipolar depression apart from the other indications, after induction and at the latest
    score, completers and ITT: the published cohorts are depression."""
    frame = ask(headline.headline_by_indication, settings, scale, cohort)
    st.caption("Published real-world ketamine cohorts are patients with (treatment-resistant) unipolar "
               "depression; compare the clinic with them on the first rows, not on the clinic's mix of "
               "indications.")
    small = f"<{settings.privacy.min_cell_size}"
    hidden = frame["suppressed"].astype(bool)  # the whole row: its note or n_shown says why
    shown = rate_columns(frame, ("response", "remission")).assign(
        n_shown=frame["n_shown"].astype(str),
        responders=frame["responders"].astype("string").fillna(small).mask(hidden, "not shown"),
        remitters=frame["remitters"].astype("string").fillna(small).mask(hidden, "not shown")
        .where(frame["has_remission"], "—"))
    names = {"indication_group": "Indication", "timepoint_label": "Judged", "basis_label": "Basis",
             "n_shown": "Patients counted", "responders": "Responded", "response_rate": "Response rate (%)",
             "response_low": "Response 95% CI low (%)", "response_high": "Response 95% CI high (%)",
             "remitters": "Remitted", "remission_rate": "Remission rate (%)",
             "remission_low": "Remission 95% CI low (%)", "remission_high": "Remission 95% CI high (%)",
             "note": "Note"}
    table(shown, names, "outcomes_by_indication_group.csv", "depression and other indications")


def competing_risks(settings, scale: str, cohort: CohortFilter, km_curve: pd.DataFrame) -> None:
    """The cumulative incidence of response beside Kaplan-Meier, with what each means."""
    min_cell = settings.privacy.min_cell_size
    result = ask(response_course.cumulative_incidence, settings, scale, cohort)
    note = result["summary"]["note"].iloc[0] if len(result["summary"]) else ""
    if note:
        st.info(f"Cumulative incidence of response {note} (small-cell suppression).")
        return
    if result["curve"].empty:
        st.info(f"Fewer than {min_cell} patients of this cohort can be followed: the cumulative incidence of "
                "response is not shown (small-cell suppression).")
        return
    st.markdown(
        "**Kaplan-Meier** (dashed) treats a patient who stopped treatment as if they might still respond "
        "later, so it answers *how many would respond if everyone stayed in treatment*. **Cumulative "
        "incidence** (solid) counts stopping treatment (no infusion for "
        f"{settings.treatment.ended_after_days} days) as an outcome of its own: it answers *how many of those "
        "who started have responded by each day*, and with the share who stopped it shows where the others went.")
    vega_chart(competing_charts.cumulative_incidence_chart(km_curve, result["curve"], scale), "clinic_competing")
    curve = result["curve"].copy()
    for column in ("responded", "responded_low", "responded_high", "stopped_share", "stopped_low", "stopped_high"):
        curve[column] = (100 * curve[column]).round(1)
    with st.expander("Cumulative incidence table"):
        table(curve, {"time": "Day since first infusion", "at_risk": "Patients still followed",
                      "responded": "Responded (%)", "responded_low": "95% CI low (%)",
                      "responded_high": "95% CI high (%)", "stopped_share": "Stopped without response (%)",
                      "stopped_low": "Stopped 95% CI low (%)", "stopped_high": "Stopped 95% CI high (%)"},
              "cumulative_incidence_of_response.csv", "cumulative incidence")


def durability(settings, scale: str, cohort: CohortFilter) -> None:
    """Of responders after induction, the share still responding 4 and 8 weeks later."""
    min_cell = settings.privacy.min_cell_size
    summary = ask(response_course.durability, settings, scale, cohort)
    st.markdown("**Durability of response**: of the patients responding after induction, the share still "
                "responding 4 and 8 weeks later (Kaplan-Meier; response is lost at the first later score that no "
                "longer meets the response criterion; follow-up ends at the first maintenance infusion, as the "
                "published patients had none).")
    if summary.empty:
        st.info(f"No patient of this cohort has responded on {scale} yet.")
        return
    columns = st.columns(len(summary))
    for column, (_, row) in zip(columns, summary.iterrows()):
        responders = f"fewer than {min_cell}" if pd.isna(row["responders"]) else int(row["responders"])
        followed = f"fewer than {min_cell}" if pd.isna(row["at_risk"]) else int(row["at_risk"])
        interval = "" if pd.isna(row["low"]) else f"95% CI {100 * row['low']:.0f}–{100 * row['high']:.0f}%, "
        column.metric(f"Still responding at {int(row['weeks'])} weeks", percent(row["still_responding"], 0),
                      border=True, delta=f"{interval}n = {responders} responders, {followed} followed that long",
                      delta_color="off", delta_arrow="off",
                      help="Published: about 80% at 4 weeks and 60% at 8 weeks without maintenance infusions "
                           "(McInnes et al. 2022). Not shown when fewer than "
                           f"{min_cell} responders are followed that long.")
