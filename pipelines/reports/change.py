"""The per-patient pictures of change as they may be published: the waterfall and the severity
transitions of the Clinic outcomes page (`analytics.change`), with small cells blanked by
`suppression` (docs/analytics.md, "Small-cell suppression").

Why apart from the other tables: these two draw patients one by one or cell by cell, so each has
a rule of its own - a waterfall of a handful of patients is not drawn at all, and a transitions
grid is a cross-tab whose margins could give a blanked cell back (`complementary`).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..analytics import change as change_module
from ..analytics.change import WATERFALL_MAX_BARS
from ..analytics.cohorts import CohortFilter
from ..settings import Settings
from .complementary import suppress_cross_tab
from .suppression import blank, cell_size, shown_counts, small


def waterfall(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
              cohort: CohortFilter = CohortFilter(), timepoint: str = "latest",
              max_bars: int = WATERFALL_MAX_BARS, min_cell: int | None = None) -> pd.DataFrame:
    """`change.waterfall` as it may be published.

    Parameters
    ----------
    con, settings, scale, cohort, timepoint, max_bars
        As in `analytics.change.waterfall`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        `change.waterfall`'s bars with attributes `response_pct`, `n` and `suppressed`.

    Notes
    -----
    The waterfall draws patients one by one, so for a cohort of fewer than min_cell evaluable
    patients it is not drawn at all: the frame is empty with the attribute `suppressed` True and
    `n` None. Above the threshold each bar is still one patient (that is what a waterfall is);
    only its rank, change and outcome are shown. A bar of several patients blanks (<NA>) a
    responder or remitter count of 1 to min_cell - 1 or one leaving 1 to min_cell - 1 without
    (its `outcome`, the majority, stays).

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    frame = change_module.waterfall(con, settings, scale, cohort, timepoint, max_bars)
    response_pct, n = frame.attrs["response_pct"], frame.attrs["n"]
    min_cell = cell_size(settings, min_cell)
    if (frame.n_patients > 1).any():
        # bars of several patients: their responder and remitter counts are cells like any other
        for column in ("n_response", "n_remission"):
            hidden = small(frame[column], min_cell) | small(frame.n_patients - frame[column], min_cell)
            frame = blank(frame, hidden, counts=(column,))
    frame.attrs.update(response_pct=response_pct, n=n, suppressed=False)
    if small([n], min_cell)[0]:
        frame = frame.iloc[0:0].copy()
        frame.attrs.update(response_pct=response_pct, n=None, suppressed=True)
    return frame


def severity_transitions(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                         cohort: CohortFilter = CohortFilter(), min_cell: int | None = None) -> pd.DataFrame:
    """`change.severity_transitions` as it may be published.

    Parameters
    ----------
    con, settings, scale, cohort
        As in `analytics.change.severity_transitions`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        One row per pair of bands: `baseline_band`, `baseline_order`, `after_band`,
        `after_order`, `n_patients` (<NA> when suppressed), then `suppressed`, `n_shown` (the
        count as text, or "suppressed"), `baseline_total` and `after_total` (the patients of
        the row's baseline band and of the column's band after induction, the cross-tab's
        margins, <NA> when suppressed). Attribute `n`: every patient of the grid (None when
        suppressed), `has_patients`: whether anyone is in it, to tell "nobody yet" from "too few
        to show".

    Notes
    -----
    `complementary.suppress_cross_tab`: a cell or margin of 1 to min_cell - 1 patients is
    blanked, then complementary cells in its row and column (and margins) until no row or
    column gives a blanked count back; the grand total is treated as known.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    frame = change_module.severity_transitions(con, settings, scale, cohort)
    return _suppress_transitions(frame, cell_size(settings, min_cell))


def _suppress_transitions(frame: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The long transitions frame with the cross-tab's suppression applied (see above)."""
    n_all = int(frame.n_patients.sum())
    if frame.empty:
        frame = frame.assign(suppressed=pd.Series(dtype=bool), n_shown=pd.Series(dtype=object),
                             baseline_total=pd.Series(dtype="Int64"), after_total=pd.Series(dtype="Int64"))
        frame.attrs.update(n=0, has_patients=False)
        return frame
    grid = frame.pivot(index="baseline_order", columns="after_order", values="n_patients").sort_index()
    grid = grid.reindex(columns=sorted(grid.columns)).fillna(0)
    mask = suppress_cross_tab(grid.to_numpy(), min_cell)
    rows = {order: i for i, order in enumerate(grid.index)}
    columns = {order: j for j, order in enumerate(grid.columns)}
    r = frame.baseline_order.map(rows).to_numpy()
    c = frame.after_order.map(columns).to_numpy()
    hidden = mask.cells[r, c]
    shown = shown_counts(frame["n_patients"], hidden, min_cell)
    frame = blank(frame, hidden, counts=("n_patients",))
    frame["suppressed"] = hidden
    frame["n_shown"] = shown
    row_totals = grid.sum(axis=1).to_numpy()
    column_totals = grid.sum(axis=0).to_numpy()
    frame["baseline_total"] = pd.array(np.where(mask.row_totals[r], None, row_totals[r].astype(int).astype(object)),
                                       dtype="Int64")
    frame["after_total"] = pd.array(np.where(mask.column_totals[c], None,
                                             column_totals[c].astype(int).astype(object)), dtype="Int64")
    frame.attrs.update(n=None if mask.total else n_all, has_patients=n_all > 0)
    return frame
