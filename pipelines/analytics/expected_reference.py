"""The computation behind the expected course (`expected`): the clinic's reference distribution
of percent change per scale, baseline band and infusion, the expected columns per band that a
patient's course is read against, and the patients whose latest follow-up is behind it.

Why a module of its own: `expected` answers the questions and keeps one computation per
database version in memory; this module makes it, one of two ways:

- `stored`: read what the ingest stored (pipelines/precomputed_expected.py: the reference and
  the patients behind, computed from the stored outcome tables): two small tables, no patient's
  scores in memory; one patient's course is then read by query (`patient_progress`).
- `compute` (a database without current stored references, or a reader with other thresholds):
  one query fetches every patient's scores at infusions 1..max (sql/precomputed/
  expected_progress.sql), DuckDB computes the reference and the patients behind over those rows
  (expected_reference.sql, expected_behind.sql: the same files the ingest runs), and the rows are
  kept as arrays. The direction of the percentiles (improvement, so p25 ≥ p50 ≥ p75 as percent
  change) is explained in `expected`'s docstring.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from .. import sql
from ..precomputed_expected import quantile_parameters
from ..settings import Settings
from .frames import PatientProgress
from .snapshot import opened_from

REFERENCE_COLUMNS = ["instrument", "baseline_band", "k", "n_patients", "p25", "p50", "p75", "threshold", "fallback"]
NOT_ON_TRACK_COLUMNS = ["patient_id", "instrument", "k", "pct_change", "expected_p25"]
PERCENTILES = ("p25", "p50", "p75")


@dataclass(frozen=True)
class Computed:
    """Everything per (database version, scale, thresholds) that one patient's view needs."""

    reference: pd.DataFrame
    progress: PatientProgress | None  # every patient's scores at k = 1..max, compact; None: stored
    expected_by_band: dict  # baseline band -> {column: array over k = 1..max}, see _expected_grid
    not_on_track: pd.DataFrame  # patients_not_on_track's rows
    stored: str | None = None  # the stored tables' prefix ('"<catalog>".precomputed.') when read from them


def empty_grid(max_k: int) -> dict:
    """Expected columns over k = 1..max_k without any reference (NULL on output), except the
    baseline (k = 1), the origin of every expected course: 0% change."""
    grid = {"n_patients": np.full(max_k, -1), "fallback": np.zeros(max_k, dtype=bool),
            "has_reference": np.zeros(max_k, dtype=bool),
            **{column: np.full(max_k, np.nan) for column in (*PERCENTILES, "threshold")}}
    for p in PERCENTILES:
        grid[p][0] = 0.0
    return grid


def _expected_grid(reference: pd.DataFrame, max_k: int) -> dict:
    """Per baseline band, the expected columns as arrays indexed by k - 1 (k = 1..max_k)."""
    grids = {}
    for band, rows in reference.groupby("baseline_band", sort=False):
        index = rows["k"].to_numpy() - 1
        grid = empty_grid(max_k)
        grid["n_patients"][index] = rows["n_patients"].to_numpy()
        grid["fallback"][index] = rows["fallback"].to_numpy(dtype=bool)
        grid["has_reference"][index] = True
        for column in (*PERCENTILES, "threshold"):
            grid[column][index] = rows[column].to_numpy(dtype=float)
        grids[band] = grid
    return grids


def _fetch_arrow(con: duckdb.DuckDBPyConnection, query: str, params: list) -> pa.Table:
    with warnings.catch_warnings():
        # Arrow from an execute() result copies the rows once more: still far less memory than
        # a DataFrame with a Python string per row.
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        return con.execute(query, params).to_arrow_table()


def compute(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str) -> Computed:
    """Everything `expected` keeps for one scale of the connection's database, computed: the
    progress rows, the reference and the patients behind computed over them by DuckDB (the SQL the
    ingest runs, over rows registered under names of this thread and these rows), the expected
    columns per band."""
    max_k = settings.thresholds.trajectory_max_infusion
    parameters = quantile_parameters(settings)  # checks the percentile before any query
    progress = _fetch_arrow(con, sql.render("precomputed/expected_progress", stored=""), [[scale], max_k])
    # the binary search needs the ids sorted as Python compares them
    progress = progress.sort_by([("patient_id", "ascending"), ("k", "ascending")])
    caller = f"_{threading.get_ident()}_{id(progress)}"
    names = {"progress": f"expected_progress{caller}", "reference": f"expected_reference{caller}"}
    con.register(names["progress"], progress)
    try:
        reference = con.execute(sql.render("precomputed/expected_reference", caller=caller),
                                parameters).df()[REFERENCE_COLUMNS]
        con.register(names["reference"], reference)
        behind = con.execute(sql.render("precomputed/expected_behind", caller=caller)).df()[NOT_ON_TRACK_COLUMNS]
    finally:
        for name in names.values():
            con.unregister(name)
    return Computed(reference, PatientProgress.from_arrow(progress), _expected_grid(reference, max_k), behind)


def stored(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str, prefix: str) -> Computed:
    """What `expected` keeps for one scale, read from the references the ingest stored under
    `prefix` ('"<catalog>".precomputed.', pipelines/precomputed_expected.py): the reference and
    the patients behind (small tables), no patient's scores (`patient_progress` reads one)."""
    max_k = settings.thresholds.trajectory_max_infusion
    reference = con.execute(sql.render("analytics/expected/stored_reference", stored=prefix),
                            [scale]).df()[REFERENCE_COLUMNS]
    behind = con.execute(sql.render("analytics/expected/stored_behind", stored=prefix),
                         [scale]).df()[NOT_ON_TRACK_COLUMNS]
    return Computed(reference, None, _expected_grid(reference, max_k), behind, stored=prefix)


def patient_progress(con: duckdb.DuckDBPyConnection, computed: Computed, settings: Settings, patient_id: str,
                     scale: str) -> PatientProgress:
    """The progress rows `patient_expected` reads for one patient: from the computed arrays, or
    by query from the stored `scores_by_infusion` (sorted by patient: milliseconds)."""
    if computed.progress is not None:
        return computed.progress
    # A snapshot's own copy (in memory for a notebook) or name of the stored table, else the stored table
    stored = "" if opened_from(con) is not None else computed.stored
    rows = _fetch_arrow(con, sql.render("analytics/expected/patient_progress", stored=stored),
                        [patient_id, scale, settings.thresholds.trajectory_max_infusion])
    return PatientProgress.from_arrow(rows)
