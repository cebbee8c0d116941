"""Large per-patient query results, fast and small: as DataFrames, and kept in memory.

A clinic-wide list (the item 9 flags, the worklist) can hold a row for most of 200,000
patients. Going through Arrow with Arrow-backed pandas columns avoids converting every value
to a Python object, which is most of the cost of `.df()` at that size; nulls stay <NA>. The
same reason keeps the expected course's rows (`PatientProgress`) as arrays rather than a
DataFrame: a Python object per row would cost hundreds of MB per scale.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def patient_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    """The result of a query as a DataFrame with Arrow-backed columns.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection to run it on.
    sql : str
        The query.
    params : list
        Its positional parameters.

    Returns
    -------
    pandas.DataFrame
        The rows, columns backed by Arrow (`pd.ArrowDtype`), nulls as <NA>.
    """
    with warnings.catch_warnings():
        # DuckDB notes that Arrow from an execute() result copies the rows once more; still
        # several times faster than .df() for wide per-patient results.
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        table = con.execute(sql, params).to_arrow_table()
    return table.to_pandas(types_mapper=pd.ArrowDtype)


@dataclass(frozen=True)
class PatientProgress:
    """Every patient's scores on one scale by infusion k, kept as plain arrays, one slice per patient.

    The rows of sql/precomputed/expected_progress.sql (sorted by patient_id, k), which the
    expected course (`expected.py`) keeps in memory per database version when it computes the
    reference itself (a file without the references the ingest stores), or one patient's rows.

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
    def from_arrow(cls, progress: pa.Table) -> "PatientProgress":
        """From expected_progress.sql's rows (sorted by patient_id, k) without a Python object per row."""
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
