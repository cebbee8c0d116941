"""A read-only analytics connection with the outcome views computed once.

The views (`scores`, `patient_outcomes`, ...) are the definitions; computing them means a
pass over every assessment, a second or more on a clinic of 200,000 patients. A screen or a
notebook asks many questions of the same data, so `open_snapshot` computes each view once
into a temporary table of the same name. DuckDB looks up unqualified names in the temporary
schema first, so every query and every view built on these (cohort outcomes, the NHS pair,
the expected trajectory) reads the snapshot without changing its SQL.

The snapshot is the database as it was when opened: callers reopen it when the database
changes (the dashboard keys its cached connection on the file's modification time).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..db import SQL_DIR, connect, read_sql

# In dependency order: each may read the ones before it.
SNAPSHOT_VIEWS = ("session_numbers", "patient_cohorts", "scores", "patient_outcomes")
# Analytics views that several questions read (trajectories and the expected trajectory; the
# safety page and the worklist; the two time-to-response questions).
SNAPSHOT_ANALYTICS_VIEWS = ("scores_by_infusion", "phq9_safety", "last_infusions", "followup_responses")


def open_snapshot(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open `path` read-only and snapshot the outcome views into temporary tables.

    The analytics views (sql/analytics_*.sql) are created as temporary views from this
    version's SQL, so a database last loaded by an older version still answers every question.
    """
    con = connect(path, read_only=True)
    # This version's definitions of the outcome flags, whatever version last loaded the file.
    con.execute(read_sql("outcome_flags.sql").replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))
    for view in SNAPSHOT_VIEWS:
        con.execute(f"CREATE TEMP TABLE {view} AS SELECT * FROM main.{view}")
    for sql_file in sorted(SQL_DIR.glob("analytics_*.sql")):
        con.execute(sql_file.read_text(encoding="utf-8").replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW"))
    for view in SNAPSHOT_ANALYTICS_VIEWS:  # computed once too, under the same name
        con.execute(f"ALTER VIEW temp.main.{view} RENAME TO {view}_definition")
        con.execute(f"CREATE TEMP TABLE {view} AS SELECT * FROM {view}_definition")
    return con
