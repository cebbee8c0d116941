"""Data-quality counts as an analyst may see them: measurement coverage with small cells blanked.

The coverage questions (`pipelines.analytics.coverage`) count patients. A viewer without
patient-level access (an analyst) sees those counts with the small-cell rule applied
(`suppression`, CMS cell-size policy), the same rule as on the Clinic outcomes page. The ingest
log (runs, files, rows per rule) counts rows of the exports, not patients, and is shown as it is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analytics.coverage import BASELINE_GAP_REASONS
from . import suppression


def suppressed_coverage(coverage: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """`coverage.baseline_coverage` for an analyst: small counts of patients blanked.

    Parameters
    ----------
    coverage : pandas.DataFrame
        The answer of `pipelines.analytics.coverage.baseline_coverage`.
    min_cell : int
        The smallest count that may be shown (`settings.privacy.min_cell_size`, 11).

    Returns
    -------
    pandas.DataFrame
        The same columns; the counts as nullable integers, blanked counts <NA>.

    Notes
    -----
    Per scale the cells are tied by two lines: with + without = treated (treated is not
    printed, but follows from the two), and the reasons, which split "without". A small cell
    (1 to min_cell - 1) is blanked, and so is whatever would give it back by subtraction
    (`suppression.Table.protect`).

    References
    ----------
    CMS, "Cell size suppression policy" (2020).
    """
    reasons = [reason for reason in BASELINE_GAP_REASONS if reason in coverage.columns]
    columns = ["n_with_baseline", "n_without_baseline", *reasons]
    shown = coverage.copy()
    for column in columns:
        shown[column] = shown[column].astype("Int64")
    for position, row in enumerate(coverage.itertuples(index=False)):
        table = suppression.Table()
        with_baseline = table.cell(row.n_with_baseline)
        without = table.cell(row.n_without_baseline)
        table.line([with_baseline, without], table.cell(row.n_with_baseline + row.n_without_baseline, published=False))
        parts = [table.cell(getattr(row, reason)) for reason in reasons]
        if parts:
            table.line(parts, without)
        hidden = table.protect(min_cell)
        for column, cell in zip(columns, [with_baseline, without, *parts]):
            if hidden[cell]:
                shown.iloc[position, shown.columns.get_loc(column)] = pd.NA
    return shown


def suppressed_completion(completion: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """`coverage.completion_by_infusion` for an analyst: small counts and their share blanked.

    Parameters
    ----------
    completion : pandas.DataFrame
        The answer of `pipelines.analytics.coverage.completion_by_infusion`.
    min_cell : int
        The smallest count that may be shown (`settings.privacy.min_cell_size`, 11).

    Returns
    -------
    pandas.DataFrame
        The same columns; counts as nullable integers (<NA> when blanked), `share` and its
        interval NaN when either of its counts is blanked.

    Notes
    -----
    Each patient has at most one infusion of each number, so the counts are counts of
    patients: per infusion number, with a score + without one (not printed) = infusions
    given. A blanked count blanks the share too (share x n gives the count back).

    References
    ----------
    CMS, "Cell size suppression policy" (2020).
    """
    shown = completion.copy()
    for column in ("n_infusions", "n_with_score"):
        shown[column] = shown[column].astype("Int64")
    for column in ("share", "share_low", "share_high"):
        shown[column] = shown[column].astype(float)
    for position, row in enumerate(completion.itertuples(index=False)):
        table = suppression.Table()
        given, scored = table.cell(row.n_infusions), table.cell(row.n_with_score)
        table.line([scored, table.cell(row.n_infusions - row.n_with_score, published=False)], given)
        hidden = table.protect(min_cell)
        for column, cell in (("n_infusions", given), ("n_with_score", scored)):
            if hidden[cell]:
                shown.iloc[position, shown.columns.get_loc(column)] = pd.NA
        if hidden[given] or hidden[scored]:
            for column in ("share", "share_low", "share_high"):
                shown.iloc[position, shown.columns.get_loc(column)] = np.nan
    return shown


def suppressed_missing(missing: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """`completeness.missing_by_field` for an analyst: small counts of patients blanked.

    Parameters
    ----------
    missing : pandas.DataFrame
        The answer of `pipelines.analytics.completeness.missing_by_field`.
    min_cell : int
        The smallest count that may be shown (`settings.privacy.min_cell_size`, 11).

    Returns
    -------
    pandas.DataFrame
        The same columns; `n_patients` (and, for patients' own fields, `n_missing`, which is the
        same count, and `share`) blanked where the patients missing the field, or the patients
        having it, number 1 to min_cell - 1.

    Notes
    -----
    The record count of each kind is published (Data quality, "What the database holds"), so
    a count of patients missing a field gives back the patients having it: both must be safe.
    Infusion counts (`n_missing` of session fields) are infusions, not patients, and stay.

    References
    ----------
    CMS, "Cell size suppression policy" (2020).
    """
    shown = missing.copy()
    shown["n_patients"] = shown["n_patients"].astype("Int64")
    shown["n_missing"] = shown["n_missing"].astype("Int64")
    patients = shown["kind"].eq("patients").to_numpy()
    hidden_patients = suppression.small(missing["n_patients"], min_cell)
    hidden_records = patients & (suppression.small(missing["n_missing"], min_cell)
                                 | suppression.small(missing["n_records"] - missing["n_missing"], min_cell))
    shown.loc[hidden_patients | hidden_records, "n_patients"] = pd.NA
    shown.loc[hidden_records, "n_missing"] = pd.NA
    shown.loc[hidden_records, "share"] = np.nan
    return shown
