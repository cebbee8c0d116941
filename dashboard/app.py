"""Infusion Outcomes dashboard: the router.

Run with `make run`, or: streamlit run dashboard/app.py. The database comes from $OUTCOMES_DB
(default data/outcomes.duckdb); thresholds from $OUTCOMES_CONFIG (default: the clinical
reference's). One page per job (design notes): the clinician's Worklist and Patient pages, the
director's Clinic outcomes, the analyst's Data quality. Pages live in dashboard/views/ and only
compose `dashboard.data.ask(...)` answers from pipelines.analytics with chart builders from
dashboard/charts/.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Infusion Outcomes", page_icon=":material/monitoring:", layout="wide")

PAGES = {
    "Clinician": [
        st.Page("views/worklist.py", title="Worklist", icon=":material/checklist:", url_path="worklist", default=True),
        st.Page("views/patient.py", title="Patient", icon=":material/person:", url_path="patient"),
    ],
    "Director": [
        st.Page("views/clinic.py", title="Clinic outcomes", icon=":material/monitoring:", url_path="clinic"),
    ],
    "Analyst": [
        st.Page("views/data_quality.py", title="Data quality", icon=":material/fact_check:", url_path="data-quality"),
    ],
}

st.navigation(PAGES).run()
