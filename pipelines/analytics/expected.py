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

Caching. The reference is clinic-wide, and the per-patient rows come from views that DuckDB
cannot filter down to one patient cheaply (the baseline needs window functions over every
patient: 2–3 s for ONE patient's `patient_outcomes` row on 200,000 patients). So one query
fetches every patient's scores at infusions 1..max for the scale (`scores_by_infusion`), the
reference is computed by DuckDB over those rows, and both are kept in memory per database
version (the rows as compact arrays, `_Progress`): the key is the database file, the scale
and the thresholds; the version is the ingest history (`ingest_runs`: last run id, its end
time, number of runs), which changes with every ingest, so the first call after an ingest
recomputes (about 2–3 s and ~40 MB for PHQ-9 on 200,000 patients on a snapshot, 2 cores)
and later calls on any connection to that file are served from memory (`patient_expected` ~6 ms: a binary search and a 12-row frame;
`patients_not_on_track` a copy of rows judged when the reference is computed). In-memory
databases are not cached. `clear_cache()` empties the cache, e.g. after editing tables
outside an ingest; a dashboard can warm it at start-up by calling `reference_distribution`.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..settings import Settings

REFERENCE_COLUMNS = ["instrument", "baseline_band", "k", "n_patients", "p25", "p50", "p75", "threshold", "fallback"]
NOT_ON_TRACK_COLUMNS = ["patient_id", "instrument", "k", "pct_change", "expected_p25"]
PATIENT_COLUMNS = [
    "patient_id", "instrument", "k", "administered_at", "score", "baseline_score", "baseline_band", "pct_change",
    "n_patients", "fallback", "expected_p25", "expected_p50", "expected_p75", "threshold",
    "expected_score_p25", "expected_score_p50", "expected_score_p75", "on_track",
]

# Per patient, the scores at infusions 1..max (`scores_by_infusion`) and whether each row is
# the patient's latest follow-up on the scale (its k is the patient's highest, any k).
PROGRESS_SQL = """
    WITH progress AS (
        SELECT
            patient_id, k, administered_at, score, baseline_score, baseline_band, pct_change,
            k = max(k) OVER (PARTITION BY patient_id) AND k >= 2 AS is_latest_followup
        FROM scores_by_infusion
        WHERE instrument = ?
    )
    SELECT * FROM progress
    WHERE k <= ?
    ORDER BY patient_id, k
"""

# The reference over `{progress}` (PROGRESS_SQL's result, registered as a relation): per
# baseline band and infusion k, the band's own distribution when it has >=
# min_reference_patients patients, else that of all bands together (fallback); rows where
# even that is smaller are left out. Percentiles of improvement (module docstring): p25 is
# quantile 0.75 of percent change; the threshold is quantile (100 - P) / 100.
REFERENCE_SQL = """
    WITH params AS (
        SELECT ?::VARCHAR AS instrument, ?::BIGINT AS max_k, ?::BIGINT AS min_patients
    ),
    changes AS (
        -- one row per patient and k (scores_by_infusion keeps the latest score per k)
        SELECT pr.baseline_band, pr.k, pr.pct_change
        FROM {progress} AS pr
        CROSS JOIN params AS p
        WHERE pr.k BETWEEN 2 AND p.max_k AND pr.pct_change IS NOT NULL
    ),
    bands AS (
        SELECT b.label AS baseline_band, b.band_order
        FROM instrument_bands AS b
        JOIN params AS p ON b.code = p.instrument
    ),
    by_band AS (
        SELECT baseline_band, k, count(*) AS n_patients,
               quantile_cont(pct_change, 0.75) AS p25,
               quantile_cont(pct_change, 0.50) AS p50,
               quantile_cont(pct_change, 0.25) AS p75,
               quantile_cont(pct_change, {threshold_quantile}) AS threshold
        FROM changes
        GROUP BY baseline_band, k
    ),
    all_bands AS (
        SELECT k, count(*) AS n_patients,
               quantile_cont(pct_change, 0.75) AS p25,
               quantile_cont(pct_change, 0.50) AS p50,
               quantile_cont(pct_change, 0.25) AS p75,
               quantile_cont(pct_change, {threshold_quantile}) AS threshold
        FROM changes
        GROUP BY k
    ),
    chosen AS (
        -- every band of the scale at every k with data; the band's own distribution if big enough
        SELECT
            p.instrument,
            bands.baseline_band,
            bands.band_order,
            a.k,
            p.min_patients,
            coalesce(b.n_patients, 0) < p.min_patients AS fallback,
            CASE WHEN fallback THEN a.n_patients ELSE b.n_patients END AS n_patients,
            CASE WHEN fallback THEN a.p25 ELSE b.p25 END AS p25,
            CASE WHEN fallback THEN a.p50 ELSE b.p50 END AS p50,
            CASE WHEN fallback THEN a.p75 ELSE b.p75 END AS p75,
            CASE WHEN fallback THEN a.threshold ELSE b.threshold END AS threshold
        FROM bands
        CROSS JOIN params AS p
        CROSS JOIN all_bands AS a
        LEFT JOIN by_band AS b ON b.baseline_band = bands.baseline_band AND b.k = a.k
    )
    SELECT instrument, baseline_band, k, n_patients, p25, p50, p75, threshold, fallback
    FROM chosen
    WHERE n_patients >= min_patients
    ORDER BY band_order, k
"""

PERCENTILES = ("p25", "p50", "p75")


@dataclass(frozen=True)
class _Computed:
    """Everything per (database version, scale, thresholds) that one patient's view needs."""

    reference: pd.DataFrame
    progress: "_Progress"  # every patient's scores at k = 1..max, compact
    expected_by_band: dict  # baseline band -> {column: array over k = 1..max}, see _expected_grid
    not_on_track: pd.DataFrame  # patients_not_on_track's rows


@dataclass(frozen=True)
class _Progress:
    """PROGRESS_SQL's rows kept as plain arrays, one slice per patient.

    A DataFrame of 1.3 million rows with a Python string per row for the patient id and the
    band costs a few hundred MB per scale; here the ids and bands are stored once per patient
    and the per-row columns as numbers (about 40 MB for PHQ-9 on 200,000 patients).
    """

    patient_ids: np.ndarray  # sorted unique ids (object), for a binary search
    starts: np.ndarray  # rows of patient i are starts[i]:starts[i + 1]
    baseline_score: np.ndarray  # per patient
    baseline_band: np.ndarray  # per patient (object)
    k: np.ndarray  # per row
    administered_at: np.ndarray  # per row, datetime64
    score: np.ndarray  # per row, float (NaN never occurs: a row is a valid score)
    pct_change: np.ndarray  # per row, float; NaN when the baseline is 0

    @classmethod
    def from_arrow(cls, progress: pa.Table) -> "_Progress":
        """From PROGRESS_SQL's rows (sorted by patient_id, k) without a Python object per row."""
        ids = progress["patient_id"].combine_chunks()
        n = len(ids)
        change = pc.not_equal(ids.slice(1), ids.slice(0, max(n - 1, 0))).to_numpy(zero_copy_only=False)
        first = np.flatnonzero(np.r_[True, change]) if n else np.array([], dtype=np.int64)
        column = lambda name: progress[name].to_numpy()  # noqa: E731
        return cls(
            patient_ids=ids.take(first).to_numpy(zero_copy_only=False),
            starts=np.r_[first, n].astype(np.int64),
            baseline_score=column("baseline_score").astype(np.int64)[first],
            baseline_band=progress["baseline_band"].take(first).to_numpy(),
            k=column("k").astype(np.int16),
            administered_at=column("administered_at"),
            score=column("score").astype(float),
            pct_change=column("pct_change").astype(float),  # nulls arrive as NaN
        )

    def rows_of(self, patient_id: str) -> tuple[slice, int] | None:
        """(the rows of `patient_id`, its index among the patients), or None when the patient
        has no baseline on the scale."""
        i = int(np.searchsorted(self.patient_ids, patient_id))
        if i == len(self.patient_ids) or self.patient_ids[i] != patient_id:
            return None
        return slice(int(self.starts[i]), int(self.starts[i + 1])), i


_cache: dict[tuple, tuple[tuple, _Computed]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached reference (the next call recomputes)."""
    with _cache_lock:
        _cache.clear()


def _database_version(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """(file, ingest history) of the connection's database; None for an in-memory one."""
    path, *runs = con.execute(
        """
        SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()),
               max(run_id), max(finished_at), count(*)
        FROM ingest_runs
        """
    ).fetchall()[0]
    if not path or path == ":memory:":
        return None
    return path, tuple(runs)


def _reference_over(con: duckdb.DuckDBPyConnection, progress: pa.Table, settings: Settings,
                    scale: str) -> pd.DataFrame:
    """REFERENCE_SQL run by DuckDB over the fetched progress rows (registered for the query)."""
    thresholds = settings.thresholds
    percentile = float(thresholds.not_on_track_percentile)
    if not 0 < percentile < 100:
        raise ValueError(f"not_on_track_percentile must lie between 0 and 100, not {percentile}")
    name = f"expected_progress_{threading.get_ident()}_{id(progress)}"
    # quantile_cont needs a constant: the percentile P of improvement is the (100 - P)th of change
    sql = REFERENCE_SQL.format(progress=name, threshold_quantile=repr(1 - percentile / 100))
    con.register(name, progress)
    try:
        params = [scale, thresholds.trajectory_max_infusion, thresholds.min_reference_patients]
        return con.execute(sql, params).df()[REFERENCE_COLUMNS]
    finally:
        con.unregister(name)


def _empty_grid(max_k: int) -> dict:
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
        grid = _empty_grid(max_k)
        grid["n_patients"][index] = rows["n_patients"].to_numpy()
        grid["fallback"][index] = rows["fallback"].to_numpy(dtype=bool)
        grid["has_reference"][index] = True
        for column in (*PERCENTILES, "threshold"):
            grid[column][index] = rows[column].to_numpy(dtype=float)
        grids[band] = grid
    return grids


def _compute(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str) -> _Computed:
    max_k = settings.thresholds.trajectory_max_infusion
    with warnings.catch_warnings():
        # Arrow from an execute() result copies the rows once more: still far less memory than
        # a DataFrame with a Python string per row.
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        progress = con.execute(PROGRESS_SQL, [scale, max_k]).to_arrow_table()
    # the binary search needs the ids sorted as Python compares them
    progress = progress.sort_by([("patient_id", "ascending"), ("k", "ascending")])
    reference = _reference_over(con, progress, settings, scale)
    latest = progress.filter(progress["is_latest_followup"]).to_pandas()
    return _Computed(reference, _Progress.from_arrow(progress), _expected_grid(reference, max_k),
                     _behind(latest, reference, scale))


def _computed(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str) -> _Computed:
    """The cached computation for this database version, computing it when missing or stale."""
    version = _database_version(con)
    if version is None:
        return _compute(con, settings, scale)
    key = (version[0], scale, settings.thresholds)
    with _cache_lock:
        hit = _cache.get(key)
    if hit and hit[0] == version:
        return hit[1]
    computed = _compute(con, settings, scale)
    with _cache_lock:
        _cache[key] = (version, computed)  # replaces the entry of an older version
    return computed


def reference_distribution(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9") -> pd.DataFrame:
    """The clinic's reference course (clinical reference, "Not on track").

    For each baseline band of `scale` and infusion k = 2 … trajectory_max_infusion: the
    distribution, over the whole clinic, of percent change from baseline at the assessment
    before infusion k (`scores_by_infusion.pct_change`; patients with a baseline above 0, one
    score per patient and k), computed with DuckDB's quantile_cont. A band with fewer than
    `min_reference_patients` patients at k uses the all-bands distribution at k instead
    (`fallback` TRUE); rows where even that is too small are absent (no reference).

    Columns: `instrument`, `baseline_band`, `k`, `n_patients` (size of the distribution
    used), `p25`, `p50`, `p75` (percentiles of improvement, as percent change: p25 is the
    75th percentile of percent change, see the module docstring), `threshold` (the
    not-on-track percentile of improvement; = p25 by default), `fallback`.
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

    One row per k = 1 … trajectory_max_infusion (k = 1 is the baseline, where the expected
    course starts at 0% change and the baseline score, without a verdict; an empty frame
    without a baseline on `scale`). Actual: `administered_at`, `score`, `pct_change` of the
    score before infusion k (NULL when the patient has none at k). Expected, from
    `reference_distribution` for the patient's baseline band: `n_patients`, `fallback`,
    `expected_p25`/`_p50`/`_p75` (percent change, improvement percentiles) and
    `expected_score_p25`/`_p50`/`_p75` = baseline × (1 + percent / 100), `threshold`;
    NULL where there is no reference. `on_track`: FALSE when `pct_change` > `threshold`
    (improved less than the configured percentile, 25th by default), TRUE otherwise, NULL
    without a score, a reference or a percent change (baseline 0).

    Served from the per-database-version cache (module docstring), so it costs a binary
    search and a 12-row frame once the cache is warm.
    """
    computed = _computed(con, settings, scale)
    progress = computed.progress
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

    grid = computed.expected_by_band.get(band) or _empty_grid(max_k)
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

    The latest assessment is the patient's most recent follow-up (`scores_by_infusion`, the
    row with the highest k ≥ 2). It is judged only when the reference covers it (k ≤
    trajectory_max_infusion, enough patients); a patient whose latest score is in
    maintenance beyond that, or has no percent change (baseline 0), is not listed.

    Columns: `patient_id`, `instrument`, `k`, `pct_change`, `expected_p25` (the
    not-on-track threshold: the configured percentile of improvement, 25th by default, as
    percent change; not on track means `pct_change` > `expected_p25`). Sorted by how far
    behind the patient is (largest excess first).
    """
    return _computed(con, settings, scale).not_on_track.copy()


def _behind(latest: pd.DataFrame, reference: pd.DataFrame, scale: str) -> pd.DataFrame:
    """patients_not_on_track's rows from each patient's latest follow-up (PROGRESS_SQL rows with
    `is_latest_followup`), computed once with the reference they are judged against."""
    judged = latest.merge(reference[["baseline_band", "k", "threshold"]], on=["baseline_band", "k"])
    behind = judged[judged["pct_change"] > judged["threshold"]]  # NULL percent change: not judged
    behind = behind.assign(instrument=scale, expected_p25=behind["threshold"],
                           excess=behind["pct_change"] - behind["threshold"])
    behind = behind.sort_values(["excess", "patient_id"], ascending=[False, True])
    return behind[NOT_ON_TRACK_COLUMNS].reset_index(drop=True)


def warm(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[str]:
    """Compute the reference of every scale with baselines now, so that no user waits for it.

    A dashboard calls this when it opens a new database version (about 5 s for all scales on
    200,000 patients); afterwards each patient's expected course costs milliseconds. Returns
    the scales warmed.
    """
    scales = [scale for (scale,) in con.execute(
        "SELECT DISTINCT instrument FROM patient_outcomes ORDER BY instrument").fetchall()]
    for scale in scales:
        _computed(con, settings, scale)
    return scales
