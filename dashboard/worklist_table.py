"""The Worklist's table: the clinic's worklist without its acknowledged alerts, narrowed to the
chosen reasons and shaped for the data grid (a link per patient, the reasons in words), with
its reason counts.

Kept out of the page script (dashboard/views/worklist.py) so the server can make it for each
new database version before anyone visits (`data.remembered`, dashboard/warming.py): it is the
Worklist's largest computation after the answers themselves (0.25-0.45 s at 200,000 patients,
on the first Worklist after every ingest and restart before).

The link is a relative URL, `patient?patient=<id>`: st.dataframe's LinkColumn opens it with
`window.open`, which resolves it against the current page's address (`…/worklist` or the app's
root), so it lands on the Patient page (url_path "patient") of the same app, wherever the app is
served, in a new tab; the Patient page reads `st.query_params["patient"]`. Ids are URL-encoded.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from dashboard.acknowledging import store_version, worklist_with_acknowledgements
from dashboard.charts.quality import reason_counts
from dashboard.data import current_version, db_path, remembered
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.worklist import REASON_COLUMNS

PATIENT_PAGE = "patient"


def patient_links(ids: pd.Series) -> pa.Array:
    """`patient?patient=<id>` for each id, URL-encoded where an id needs it (most need not)."""
    ids = pa.array(ids, type=pa.string())
    plain = pc.match_substring_regex(ids, r"^[A-Za-z0-9_.~-]*$")
    if not pc.all(plain).as_py():
        encoded = [value if ok else quote(value, safe="") for value, ok in zip(ids.to_pylist(), plain.to_pylist())]
        ids = pa.array(encoded, type=pa.string())
    return pc.binary_join_element_wise(f"{PATIENT_PAGE}?{PATIENT_PAGE}=", ids, "")


@remembered
def worklist_table(cohort: CohortFilter, reasons: tuple[str, ...],
                   as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, dt.date | None, str]:
    """`table` of the served database's current version and the acknowledgements as they are
    now (remembered: the server makes it for each new version before anyone visits), and that
    acknowledgements' version, so the page reads the store once per run."""
    store = store_version()
    return *table(db_path(), current_version(), cohort, reasons, as_of, store), store


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
