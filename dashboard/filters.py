"""The cohort filters, in one place: every page that narrows the clinic uses these widgets and
gets a `CohortFilter` back, so "Northside, depression, 2025" means the same on every page.

The widgets live in the sidebar; their keys are shared, so a filter set on Clinic outcomes is
still set when the director moves to another page in the same session.
"""

from __future__ import annotations

import streamlit as st

from pipelines.analytics.cohorts import STATUSES, CohortFilter, cohort_options, status_filter

from .data import ask, settings
from .theme import INDICATION_WORDS, md
from .today import today

LABELS = {
    "sites": "Site", "clinicians": "Clinician", "indications": "Primary indication", "routes": "Route",
    "sexes": "Sex", "age_bands": "Age at first infusion", "dose_bands": "Mean dose",
}


def _readable(value: str) -> str:
    return INDICATION_WORDS.get(value, value.replace("_", " "))  # "PTSD", not "ptsd"


def cohort_filter(fields: tuple[str, ...] = tuple(LABELS), statuses: bool = True) -> CohortFilter:
    """Sidebar widgets for the first-infusion date range, each of `fields` and (with `statuses`)
    the treatment status today; the CohortFilter they describe (nothing chosen = no restriction)."""
    options = ask(cohort_options)
    chosen = {}
    with st.sidebar:
        st.header("Cohort")
        first, last = options["first_start"], options["last_start"]
        if first is not None:
            dates = st.date_input("First infusion between", value=(first, last), min_value=first,
                                  max_value=last, key="filter_dates", format="YYYY-MM-DD")
            if isinstance(dates, (tuple, list)) and len(dates) == 2:
                chosen["start_from"], chosen["start_to"] = dates
        for field in fields:
            values = options.get(field) or []
            if values:
                picked = st.multiselect(LABELS[field], values, key=f"filter_{field}", format_func=_readable,
                                        placeholder="All")
                chosen[field] = tuple(picked)
        status = ()
        if statuses and first is not None:
            status = tuple(st.multiselect(
                "Treatment status", STATUSES, key="filter_statuses", placeholder="All",
                help="Where each patient is in treatment today: in induction (fewer infusions than the induction "
                     "series), in maintenance, paused (no infusion for a while) or ended (discharged, or no "
                     "infusion for longer)."))
    if first is not None and chosen.get("start_from") == first and chosen.get("start_to") == last:
        chosen.pop("start_from"), chosen.pop("start_to")  # the whole range: no restriction
    return status_filter(CohortFilter(**chosen), settings(), today(), status)


def describe(cohort: CohortFilter) -> str:
    """The filter in words, for captions and messages ("all patients" when unrestricted): Markdown
    in which a site or clinician name is text as typed, never a link or markup (`theme.md`)."""
    parts = []
    if cohort.start_from or cohort.start_to:
        parts.append(f"first infusion {cohort.start_from or '…'} to {cohort.start_to or '…'}")
    for field, label in LABELS.items():
        values = getattr(cohort, field)
        if values:
            parts.append(f"{label.lower()}: {', '.join(md(_readable(v)) for v in values)}")
    if cohort.statuses:
        parts.append(f"treatment status on {cohort.status_as_of}: {', '.join(cohort.statuses)}")
    return "; ".join(parts) if parts else "all patients"
