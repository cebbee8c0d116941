"""What is in the database right now: row counts and the latest ingest run.

Used by the dashboard's status page and by tests; SQL lives here, not in pages.
"""

from __future__ import annotations

import duckdb
import pandas as pd

TABLE_LABELS = {
    "patients": "Patients",
    "sessions": "Infusion sessions",
    "assessments": "Assessments (all, incl. incomplete)",
    "scores": "Scored assessments",
    "patient_outcomes": "Patients x scales with a baseline",
    "quarantine": "Quarantined rows",
    "ingest_runs": "Ingest runs",
}


def table_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows per table and view, labelled in plain words."""
    present = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    rows = [
        {"what": label, "table": name,
         "rows": con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] if name in present else 0}
        for name, label in TABLE_LABELS.items()
    ]
    return pd.DataFrame(rows)


def latest_run(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The most recent ingest run with its counts, or None before the first load."""
    frame = con.execute(
        """
        SELECT run_id, started_at, finished_at, rows_in, inserted, updated, unchanged, quarantined, len(files) AS files
        FROM ingest_runs ORDER BY run_id DESC LIMIT 1
        """
    ).df()
    return None if frame.empty else frame.iloc[0].to_dict()
