"""Infusion Outcomes dashboard (status page; the clinical pages come with the dashboard issue).

Run with `make run`, or: streamlit run dashboard/app.py. The database path comes from the
OUTCOMES_DB environment variable (default data/outcomes.duckdb).
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from pipelines.db import connect
from pipelines.status import latest_run, table_counts

DB_PATH = os.environ.get("OUTCOMES_DB", "data/outcomes.duckdb")


def status_page() -> None:
    st.title("Infusion Outcomes")
    st.caption(f"Outcomes database: `{DB_PATH}`")
    if not Path(DB_PATH).exists():
        st.info("No outcomes database yet. Load the clinic's exports with "
                "`outcomes ingest data/sample --db " + DB_PATH + "`.")
        return
    con = connect(DB_PATH, read_only=True)
    try:
        counts = table_counts(con)
        run = latest_run(con)
    finally:
        con.close()
    st.subheader("What is loaded")
    st.dataframe(counts[["what", "rows"]], hide_index=True)
    st.subheader("Latest ingest run")
    if run is None:
        st.info("No ingest run yet.")
        return
    st.write(f"Run {run['run_id']} finished {run['finished_at']:%Y-%m-%d %H:%M} UTC from {run['files']} file(s).")
    columns = st.columns(5)
    for column, (label, key) in zip(columns, [("Rows in", "rows_in"), ("Inserted", "inserted"),
                                              ("Updated", "updated"), ("Unchanged", "unchanged"),
                                              ("Quarantined", "quarantined")]):
        column.metric(label, f"{int(run[key]):,}")


st.set_page_config(page_title="Infusion Outcomes", layout="wide")
page = st.navigation([st.Page(status_page, title="Status", icon=":material/database:")])
page.run()
