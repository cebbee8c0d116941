"""Expected trajectory and "not on track": each patient against the clinic's own course.

A PHQ-9 of 14 before the fourth infusion is good news for a patient who started at 25 and
worrying for one who started at 15, and what counts as "slow" depends on how this clinic's
patients usually do. The clinical reference ("Not on track", after Lambert's OQ feedback
signal alarms, made empirical) therefore compares a patient's percent change from baseline
at the assessment before infusion k with the distribution of the same quantity among the
clinic's patients of the same scale and baseline band.

Direction. Percent change is negative when a patient improves. The reference's percentiles
are percentiles of improvement, ranked from the least to the most improved, so "worse than
the 25th percentile" flags the least-improved quarter:

- `p25` = the 25th percentile of improvement = the 75th percentile of percent change
  (`quantile_cont(pct_change, 0.75)`), `p50` the median, `p75` = the 25th percentile of
  percent change (a fast improver). So p25 ≥ p50 ≥ p75 as numbers.
- Not on track: `pct_change > threshold`, the threshold being the configured percentile of
  improvement (`Thresholds.not_on_track_percentile`, 25 by default, when it equals `p25`).
  Equal to the threshold is on track.

Where the answers come from. The reference is clinic-wide, so it is computed once per
database version, and preferably by the ingest: every ingest stores each scale's reference and
the patients behind it beside the outcome tables (pipelines/precomputed_expected.py, schema
`precomputed`), computed from the stored `scores_by_infusion` with the thresholds of the
settings it ran with. When they are current (they belong to the stored outcome tables of the
file's latest run and to this version's SQL) and their thresholds are the caller's, they are
read: the reference and the patients behind are two small tables, and one patient's course is
that patient's rows of the patient-sorted `scores_by_infusion`, read by query (a few ms; no
clinic-wide rows in memory). Otherwise (a database loaded by an older version, a failed store,
or settings with other thresholds than the ingest's) it is computed here as before: one query
fetches every patient's scores at infusions 1..max for the scale, DuckDB computes the reference
and the patients behind over those rows with the same SQL files the ingest runs
(sql/precomputed/expected_*.sql), and the rows are kept as compact arrays
(`frames.PatientProgress`; about 2–3 s and ~40 MB for PHQ-9 on 200,000 patients, 2 cores).
`served_from` says which way a connection is served.

Caching. Either way the result is kept in memory per database version: the key is the
database file, the scale and the thresholds; the version is the ingest history (`ingest_runs`:
last run id, its end time, number of runs), which changes with every ingest, so the first call
after an ingest reads (or computes) again and later calls on any connection to that file are
served from memory (`patients_not_on_track` a copy of the rows read or judged then). In-memory
databases are not cached. `clear_cache()` empties the cache, e.g. after editing tables outside
an ingest; a dashboard opening a file without stored references computes them up front
(`warm`). The reading and computing are in `expected_reference`; the queries in
sql/analytics/expected/ and sql/precomputed/.
"""

from __future__ import annotations

import threading

import duckdb
import numpy as np
import pandas as pd

from .. import precomputed_expected, sql
from ..settings import Settings
from . import expected_reference
from .expected_reference import NOT_ON_TRACK_COLUMNS, PERCENTILES, REFERENCE_COLUMNS, Computed, empty_grid

__all__ = ["REFERENCE_COLUMNS", "NOT_ON_TRACK_COLUMNS", "PATIENT_COLUMNS", "clear_cache", "reference_distribution",
           "patient_expected", "patients_not_on_track", "served_from", "warm"]

PATIENT_COLUMNS = [
    "patient_id", "instrument", "k", "administered_at", "score", "baseline_score", "baseline_band", "pct_change",
    "n_patients", "fallback", "expected_p25", "expected_p50", "expected_p75", "threshold",
    "expected_score_p25", "expected_score_p50", "expected_score_p75", "on_track",
]

_cache: dict[tuple, tuple[tuple, Computed]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached reference (the next call recomputes it): needed after editing the
    tables outside an ingest, since the cache is keyed on the ingest history."""
    with _cache_lock:
        _cache.clear()


def _database_version(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(file, ingest history) of the connection's database; None for an in-memory one."""
    path, *runs = con.execute(sql.read("analytics/expected/database_version")).fetchall()[0]
    if not path or path == ":memory:":
        return None
    return path, tuple(runs)


def _make(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str) -> Computed:
    """Read from the references the ingest stored when they serve these settings, else computed."""
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    if precomputed_expected.current(con, catalog, settings):
        return expected_reference.stored(con, settings, scale, precomputed_expected.prefix(catalog))
    return expected_reference.compute(con, settings, scale)


def _computed(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str) -> Computed:
    """The cached computation for this database version, made when missing or stale."""
    version = _database_version(con)
    if version is None:
        return _make(con, settings, scale)
    key = (version[0], scale, settings.thresholds)
    with _cache_lock:
        hit = _cache.get(key)
    if hit and hit[0] == version:
        return hit[1]
    computed = _make(con, settings, scale)
    with _cache_lock:
        _cache[key] = (version, computed)  # replaces the entry of an older version
    return computed


def reference_distribution(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9") -> pd.DataFrame:
    """The clinic's reference course: how its patients' percent change is distributed.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        `settings.thresholds`: `trajectory_max_infusion`, `min_reference_patients`,
        `not_on_track_percentile`.
    scale : str
        The scale (PHQ-9 by default).

    Returns
    -------
    pandas.DataFrame
        One row per baseline band and infusion k with a reference: `instrument`,
        `baseline_band`, `k`, `n_patients` (size of the distribution used), `p25`, `p50`, `p75`
        (percentiles of improvement, as percent change: p25 is the 75th percentile of percent
        change, see the module docstring), `threshold` (the not-on-track percentile of
        improvement; = p25 by default), `fallback`.

    Notes
    -----
    For each baseline band of `scale` and infusion k = 2 … trajectory_max_infusion: the
    distribution, over the whole clinic, of percent change from baseline at the assessment
    before infusion k (`scores_by_infusion.pct_change`; patients with a baseline above 0, one
    score per patient and k), computed with DuckDB's quantile_cont (linear interpolation). A
    band with fewer than `min_reference_patients` patients at k uses the all-bands
    distribution at k instead (`fallback` TRUE); rows where even that is too small are absent
    (no reference).

    References
    ----------
    Lambert MJ et al. (2001), "The effects of providing therapists with feedback on patient
    progress during psychotherapy", Psychotherapy Research 11(1); docs/scoring.md.
    """
    return _computed(con, settings, scale).reference.copy()


def _on_track(pct_change: np.ndarray, threshold: np.ndarray) -> pd.arrays.BooleanArray:
    """FALSE when the change is worse (higher) than the threshold; NULL when either is missing."""
    pct_change, threshold = np.asarray(pct_change, dtype=float), np.asarray(threshold, dtype=float)
    unknown = np.isnan(pct_change) | np.isnan(threshold)
    with np.errstate(invalid="ignore"):
        verdict = ~(pct_change > threshold)
    return pd.arrays.BooleanArray(verdict & ~unknown, unknown)


def patient_expected(con: duckdb.DuckDBPyConnection, settings: Settings, patient_id: str,
                     scale: str = "PHQ-9") -> pd.DataFrame:
    """One patient's course against the clinic's expected course, per infusion k.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        The expected-course thresholds (see `reference_distribution`).
    patient_id : str
        The patient.
    scale : str
        The scale (PHQ-9 by default).

    Returns
    -------
    pandas.DataFrame
        One row per k = 1 … trajectory_max_infusion (PATIENT_COLUMNS; an empty frame without a
        baseline on `scale`). Actual: `administered_at`, `score`, `pct_change` of the score
        before infusion k (NULL when the patient has none at k). Expected, from
        `reference_distribution` for the patient's baseline band: `n_patients`, `fallback`,
        `expected_p25`/`_p50`/`_p75` (percent change, improvement percentiles),
        `expected_score_p25`/`_p50`/`_p75`, `threshold`; NULL where there is no reference.
        `on_track` (see Notes).

    Notes
    -----
    k = 1 is the baseline, where the expected course starts at 0% change and the baseline
    score, without a verdict. Expected score = baseline × (1 + percent change / 100).
    `on_track` is FALSE when `pct_change` > `threshold` (improved less than the configured
    percentile, 25th by default), TRUE otherwise, NULL without a score, a reference or a
    percent change (baseline 0). The reference comes from the per-database-version cache
    (module docstring); the patient's rows are read by query from the stored, patient-sorted
    `scores_by_infusion` (a few ms) or, when computed here, found by a binary search.

    References
    ----------
    Lambert MJ et al. (2001), Psychotherapy Research 11(1); docs/scoring.md.
    """
    computed = _computed(con, settings, scale)
    progress = expected_reference.patient_progress(con, computed, settings, patient_id, scale)
    found = progress.rows_of(patient_id)
    if found is None:
        return pd.DataFrame(columns=PATIENT_COLUMNS)
    rows, patient = found
    max_k = settings.thresholds.trajectory_max_infusion
    index = progress.k[rows].astype(np.int64) - 1
    baseline_score = int(progress.baseline_score[patient])
    band = progress.baseline_band[patient]

    administered_at = np.full(max_k, np.datetime64("NaT"), dtype=progress.administered_at.dtype)
    administered_at[index] = progress.administered_at[rows]
    score = np.full(max_k, np.nan)
    score[index] = progress.score[rows]
    pct_change = np.full(max_k, np.nan)
    pct_change[index] = progress.pct_change[rows]

    grid = computed.expected_by_band.get(band) or empty_grid(max_k)
    missing = ~grid["has_reference"]
    on_track = _on_track(pct_change, grid["threshold"])
    on_track[0] = pd.NA  # the baseline itself is not judged
    return pd.DataFrame({
        "patient_id": patient_id,
        "instrument": scale,
        "k": np.arange(1, max_k + 1),
        "administered_at": administered_at,
        "score": pd.arrays.IntegerArray(np.nan_to_num(score).astype("int64"), np.isnan(score)),
        "baseline_score": pd.array([baseline_score] * max_k, dtype="Int64"),
        "baseline_band": band,
        "pct_change": pct_change,
        "n_patients": pd.arrays.IntegerArray(grid["n_patients"].astype("int64"), missing),
        "fallback": pd.arrays.BooleanArray(grid["fallback"], missing),
        **{f"expected_{p}": grid[p] for p in PERCENTILES},
        "threshold": grid["threshold"],
        # expected score = baseline x (1 + percent change / 100)
        **{f"expected_score_{p}": baseline_score * (1 + grid[p] / 100) for p in PERCENTILES},
        "on_track": on_track,
    })[PATIENT_COLUMNS]


def patients_not_on_track(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9") -> pd.DataFrame:
    """Patients whose latest assessment on `scale` is not on track (for the worklist).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        The expected-course thresholds (see `reference_distribution`).
    scale : str
        The scale (PHQ-9 by default).

    Returns
    -------
    pandas.DataFrame
        `patient_id`, `instrument`, `k`, `pct_change`, `expected_p25` (the not-on-track
        threshold: the configured percentile of improvement, 25th by default, as percent
        change). Sorted by how far behind the patient is (largest excess first).

    Notes
    -----
    Not on track: `pct_change` > `expected_p25` at the patient's most recent follow-up
    (`scores_by_infusion`, the row with the highest k ≥ 2). It is judged only when the
    reference covers it (k ≤ trajectory_max_infusion, enough patients); a patient whose
    latest score is in maintenance beyond that, or has no percent change (baseline 0), is
    not listed.

    References
    ----------
    Lambert MJ et al. (2001), Psychotherapy Research 11(1); docs/scoring.md.
    """
    return _computed(con, settings, scale).not_on_track.copy()


def served_from(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9") -> str:
    """How the expected course of `scale` is served on `con` with `settings`: "stored" (the
    references the ingest stored: nothing clinic-wide computed or held in memory) or "computed"
    (every patient's scores fetched and the reference computed here, once per database version)."""
    return "computed" if _computed(con, settings, scale).progress is not None else "stored"


def warm(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """Compute the reference of every scale with baselines now, so that no user waits for it.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        The expected-course thresholds.

    Returns
    -------
    list of str
        The scales warmed.

    Notes
    -----
    A dashboard calls this when it opens a database version without stored references (an
    older file; about 5 s for all scales on 200,000 patients); afterwards each patient's
    expected course costs milliseconds. With stored references it only reads them.
    """
    scales = [scale for (scale,) in con.execute(
        "SELECT DISTINCT instrument FROM patient_outcomes ORDER BY instrument").fetchall()]
    for scale in scales:
        _computed(con, settings, scale)
    return scales
