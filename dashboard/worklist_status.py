"""Who the Worklist lists: patients in treatment by default, everyone at the flick of a switch.

Why a default: a clinic's data holds everyone ever treated, and a list where most patients
stopped months ago hides the few who are coming in this week. The Worklist page calls these
two functions; the rule itself is `pipelines.analytics.treatment_status`.
"""

from __future__ import annotations

import streamlit as st

from .data import settings

SWITCH_KEY = "worklist_everyone"


def in_treatment_switch() -> bool:
    """The sidebar switch; True shows every treated patient, False (the default) only those in
    induction or maintenance."""
    return st.toggle("Include paused and ended patients", value=False, key=SWITCH_KEY,
                     help="Off: only patients in treatment today (in induction or maintenance). On: everyone ever "
                          "treated, including patients whose treatment is paused or has ended.")


def who_is_listed(everyone: bool) -> str:
    """The sentence that says who the list holds."""
    limits = settings().treatment
    if everyone:
        return ("Showing **everyone ever treated**, including patients whose treatment is paused or ended. "
                "Switch off *Include paused and ended patients* to see only patients in treatment.")
    return (f"Showing **patients in treatment** today (in induction or maintenance): not those with no infusion for "
            f"{limits.paused_after_days} days or more (paused) or discharged or without one for "
            f"{limits.ended_after_days} days (ended). Switch on *Include paused and ended patients* in the sidebar "
            f"to see everyone.")
