"""The computation behind the expected course (`expected`): the clinic's reference distribution
of percent change per scale, baseline band and infusion, the expected columns per band that a
patient's course is read against, and the patients whose latest follow-up is behind it.

Why a module of its own: `expected` answers the questions and keeps one computation per
database version in memory; this module is that computation, run once per (database version,
scale, thresholds): one query fetches every patient's scores at infusions 1..max
(sql/analytics/expected/progress.sql), DuckDB computes the reference over those rows
(reference.sql), and the rest is arrays. The direction of the percentiles (improvement, so p25
≥ p50 ≥ p75 as percent change) is explained in `expected`'s docstring.
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
from ..settings import Settings
from .frames import PatientProgress

REFERENCE_COLUMNS = ["instrument", "baseline_band", "k", "n_patients", "p25", "p50", "p75", "threshold", "fallback"]
NOT_ON_TRACK_COLUMNS = ["patient_id", "instrument", "k", "pct_change", "expected_p25"]
PERCENTILES = ("p25", "p50", "p75")


@dataclass(frozen=True)
class Computed:
    """Everything per (database version, scale, thresholds) that one patient's view needs."""

    reference: pd.DataFrame
    progress: PatientProgress  # every patient's scores at k = 1..max, compact
    expected_by_band: dict  # baseline band -> {column: array over k = 1..max}, see _expected_grid
    not_on_track: pd.DataFrame  # patients_not_on_track's rows


def _reference_over(con: duckdb.DuckDBPyConnection, progress: pa.Table, settings: Settings,
                    scale: str) -> pd.DataFrame:
    """sql/analytics/expected/reference.sql run by DuckDB over the fetched progress rows
    (registered for the query under a name of this thread and these rows)."""
    thresholds = settings.thresholds
    percentile = float(thresholds.not_on_track_percentile)
    if not 0 < percentile < 100:
        raise ValueError(f"not_on_track_percentile must lie between 0 and 100, not {percentile}")
    caller = f"_{threading.get_ident()}_{id(progress)}"
    name = f"expected_progress{caller}"
    # the percentile P of improvement is the (100 - P)th percentile of change
    threshold_quantile = 1 - percentile / 100
    con.register(name, progress)
    try:
        params = [scale, thresholds.trajectory_max_infusion, thresholds.min_reference_patients,
                  threshold_quantile, threshold_quantile]
        return con.execute(sql.render("analytics/expected/reference", caller=caller), params).df()[REFERENCE_COLUMNS]
    finally:
        con.unregister(name)


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


def compute(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str) -> Computed:
    """Everything `expected` keeps for one scale of the connection's database: the progress rows,
    the reference computed over them, the expected columns per band and the patients behind."""
    max_k = settings.thresholds.trajectory_max_infusion
    with warnings.catch_warnings():
        # Arrow from an execute() result copies the rows once more: still far less memory than
        # a DataFrame with a Python string per row.
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        progress = con.execute(sql.read("analytics/expected/progress"), [scale, max_k]).to_arrow_table()
    # the binary search needs the ids sorted as Python compares them
    progress = progress.sort_by([("patient_id", "ascending"), ("k", "ascending")])
    reference = _reference_over(con, progress, settings, scale)
    latest = progress.filter(progress["is_latest_followup"]).to_pandas()
    return Computed(reference, PatientProgress.from_arrow(progress), _expected_grid(reference, max_k),
                    _behind(latest, reference, scale))


def _behind(latest: pd.DataFrame, reference: pd.DataFrame, scale: str) -> pd.DataFrame:
    """patients_not_on_track's rows from each patient's latest follow-up (progress.sql's rows with
    `is_latest_followup`), computed once with the reference they are judged against."""
    judged = latest.merge(reference[["baseline_band", "k", "threshold"]], on=["baseline_band", "k"])
    behind = judged[judged["pct_change"] > judged["threshold"]]  # NULL percent change: not judged
    behind = behind.assign(instrument=scale, expected_p25=behind["threshold"],
                           excess=behind["pct_change"] - behind["threshold"])
    behind = behind.sort_values(["excess", "patient_id"], ascending=[False, True])
    return behind[NOT_ON_TRACK_COLUMNS].reset_index(drop=True)
