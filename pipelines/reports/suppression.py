"""Small-cell suppression: the numbers of an aggregate table as they may be published, with
every count of 1 to `min_cell` - 1 patients blanked, and every number that would give one back.

Why a module of its own: every aggregate a director or analyst sees (the Clinic outcomes page,
its CSV downloads) must follow one policy, applied the same way everywhere. The analytics
(`pipelines.analytics`) return raw counts; `pipelines.reports.clinic` and any other report pass
them through the functions here. Which cells must be blanked so that none can be worked out
from the rest of the table (complementary suppression) is decided by `complementary`.

The policy (CMS cell-size suppression policy: "no cell (e.g. admittances, discharges, patients,
services) 10 or less may be displayed", and no percentage or other formula may be shown if it
lets a reader derive such a cell; the threshold is `settings.privacy.min_cell_size`, 11): a count
of 1 to min_cell - 1 is blanked (zero is shown), with the cells that would give it back; rates,
intervals and any statistic computed from a blanked count are blanked with it (rate x n gives
the count back). docs/analytics.md, "Small-cell suppression".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analytics.stats import CHANGE_COLUMNS
from .complementary import DEFAULT_MIN_CELL, Table, small
from .marks import SUPPRESSED, legend

__all__ = ["DEFAULT_MIN_CELL", "CHANGE_STATISTICS", "SUPPRESSED", "cell_size", "label", "legend", "small", "blank",
           "shown_counts", "suppress_counts", "suppress_small_groups", "thin_risk_table"]

# The statistics of a row's patients (change from baseline), blanked when the row is.
CHANGE_STATISTICS = tuple(CHANGE_COLUMNS)


def cell_size(settings, min_cell: int | None = None) -> int:
    """The smallest count that may be published.

    Parameters
    ----------
    settings : Settings
        The clinic's settings (`settings.privacy.min_cell_size`, 11 by default).
    min_cell : int, optional
        Given: used instead (tests).

    Returns
    -------
    int
    """
    return settings.privacy.min_cell_size if min_cell is None else int(min_cell)


def label(min_cell: int) -> str:
    """What a table prints in place of a suppressed count: "suppressed", for a small cell and a
    complementary one alike (`legend` says what it means). `min_cell` is kept so callers need
    not change when the wording does."""
    return SUPPRESSED


def shown_counts(counts, hidden, min_cell: int) -> np.ndarray:
    """The counts as a table prints them (its `n_shown` column).

    Parameters
    ----------
    counts : array-like
        The counts, before blanking.
    hidden : array-like of bool
        Which are suppressed.
    min_cell : int
        The smallest count that may be published.

    Returns
    -------
    numpy.ndarray of object
        Each count as text, `label(min_cell)` where hidden.
    """
    shown = pd.Series(counts).astype("Int64").astype("string").astype(object).to_numpy(copy=True)
    shown[np.asarray(hidden, dtype=bool)] = label(min_cell)
    return shown


def blank(frame: pd.DataFrame, hidden, counts=(), values=()) -> pd.DataFrame:
    """Blank the rows `hidden` of a frame: the one blanking step every table of
    `pipelines.reports` goes through.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    hidden : array-like of bool
        One per row: True = blank the row's `counts` and `values`.
    counts : iterable of str
        Count columns: made nullable integers, <NA> where hidden.
    values : iterable of str
        Columns computed from the counts (rates, intervals, statistics): made float, NaN where
        hidden (rate x n gives the count back).

    Returns
    -------
    pandas.DataFrame
        A copy; the other columns are untouched.
    """
    frame = frame.copy()
    for column in counts:
        frame[column] = frame[column].astype("Int64")
        frame.loc[hidden, column] = pd.NA
    for column in values:
        frame[column] = frame[column].astype(float)
        frame.loc[hidden, column] = np.nan
    return frame


# --- Tables of counts with rates ------------------------------------------------------------------

def suppress_counts(frame: pd.DataFrame, min_cell: int, denominator: str, events: tuple[str, ...] = (),
                    companions: tuple[str, ...] = (), totals: dict | None = None,
                    nested: tuple[tuple[str, str], ...] = (), derived: dict[str, list[str]] | None = None,
                    row_values: tuple[str, ...] = (), fixed_denominators: bool = False,
                    ) -> tuple[pd.DataFrame, dict[str, bool]]:
    """Suppress a table of rows with a denominator count and event counts (each a subset of
    the denominator), such as outcomes by clinician or retention.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per group (or one row).
    min_cell : int
        The smallest count that may be published.
    denominator : str
        The row's n (e.g. `n_evaluable`).
    events : tuple of str
        Event counts k, each a subset of the denominator.
    companions : tuple of str
        Other counts of the row's patients (`n_patients` next to `n_evaluable`).
    totals : dict, optional
        When the rows partition a whole whose counts are published elsewhere (the cohort's n
        and event counts in the headline), {column: value}; each column of the table then adds
        up to its total (fixed).
    nested : tuple of (str, str)
        Pairs (outer, inner) of events where the inner is a subset of the outer (maintenance of
        completed induction): outer - inner is a cell too.
    derived : dict, optional
        Each event's computed columns, blanked (NaN) with it; default `<name>_rate`, `_low`,
        `_high` for an event `<name>_n`.
    row_values : tuple of str
        Statistics of the row's patients (the median change), blanked with the row.
    fixed_denominators : bool
        Every row's denominator is published elsewhere (the cohort's infusions on every safety
        row).

    Returns
    -------
    tuple
        `(frame, hidden_totals)`: the frame with `suppressed` and `n_shown` (the denominator as
        text, or "suppressed") added after `group` (first without it), and {total column:
        whether the whole's total is blanked}.

    Notes
    -----
    Cells per row: the denominator, each event count k and its complement n - k (unpublished:
    it is what a reader gets by subtraction), and the companions. A row is suppressed whole
    when its denominator is blanked, which happens when it or a companion is small or as a
    complement; its companions and `row_values` go with it. An event count is blanked on its
    own when it or n - k is small, or as a complement (`complementary.protect`).
    """
    frame = frame.reset_index(drop=True).copy()
    table = Table(min_cell=min_cell)
    rows = []
    for _, row in frame.iterrows():
        companion_small = bool(small([row[c] for c in companions], min_cell).any()) if companions else False
        cells = {denominator: table.cell(row[denominator], fixed=fixed_denominators, forced=companion_small)}
        cells.update({c: table.cell(row[c]) for c in companions})
        _add_events(table, cells, row, denominator, events, nested)
        rows.append(cells)
    total_cells = {}
    if totals is not None:
        total_cells = {denominator: table.cell(totals[denominator], fixed=True)}
        total_cells.update({c: table.cell(totals[c], fixed=True) for c in companions})
        _add_events(table, total_cells, totals, denominator, events, nested, fixed=True)
        for column in total_cells:
            table.line([cells[column] for cells in rows], total_cells[column])
    # a row is shown or blanked whole: its companions and its denominator go together, and its
    # event counts go with them
    for cells in rows:
        for c in companions:
            table.tie(cells[c], cells[denominator])
            table.tie(cells[denominator], cells[c])
        for event in events:
            table.tie(cells[event], cells[denominator])
    hidden = table.protect(min_cell)

    def mask(column):
        return np.array([bool(hidden[cells[column]]) for cells in rows], dtype=bool)

    blank_rows = mask(denominator) if rows else np.zeros(0, dtype=bool)
    derived = derived or {event: [f"{event.removesuffix('_n')}_{s}" for s in ("rate", "low", "high")]
                          for event in events}
    shown = shown_counts(frame[denominator], blank_rows, min_cell)
    frame = blank(frame, blank_rows, counts=(denominator, *companions))
    for event in events:
        hidden_event = blank_rows | mask(event) if rows else blank_rows
        frame = blank(frame, hidden_event, counts=(event,),
                      values=[c for c in derived.get(event, []) if c in frame.columns])
    frame = blank(frame, blank_rows, values=row_values)
    position = frame.columns.get_loc("group") + 1 if "group" in frame.columns else 0
    frame.insert(position, "suppressed", blank_rows)
    frame.insert(position + 1, "n_shown", shown)
    return frame, {column: bool(hidden[index]) for column, index in total_cells.items()}


def suppress_small_groups(frame: pd.DataFrame, min_cell: int = DEFAULT_MIN_CELL, n_column: str = "n_evaluable",
                          totals: dict | None = None, with_totals: bool = False):
    """A table of groups (one row per group, as `cohort_outcomes` gives it) with small cells
    blanked.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per group, with patient counts `n_*`, outcome counts `*_n` and their rates.
    min_cell : int
        The smallest count that may be published.
    n_column : str
        The groups' n.
    totals : dict, optional
        The whole's published totals {column: value}; by default the column sums.
    with_totals : bool
        Also return which of the whole's totals are blanked.

    Returns
    -------
    pandas.DataFrame or tuple
        The frame with `suppressed` and `n_shown` (the n as text, or "suppressed") after
        `group`; with `with_totals`, `(frame, {column: whether the whole's total is blanked})`.
        The group's label stays, so the table can say a group exists without saying how big it
        is.

    Notes
    -----
    `suppress_counts`: a group whose `n_column` or other patient count is 1 to min_cell - 1 is
    suppressed whole (counts <NA>, rates, intervals and change statistics NaN); an outcome count
    of 1 to min_cell - 1, or leaving that many without the outcome, is blanked with its rate and
    interval. Complementary suppression: the groups are taken to partition a whole whose totals
    are published (the page's headline); a column with one blank gets a second.
    """
    companions = tuple(c for c in frame.columns if c.startswith("n_") and c != n_column)
    events = tuple(c for c in frame.columns if c.endswith("_n"))
    totals = totals if totals is not None else {c: frame[c].sum(min_count=1) for c in (n_column, *companions, *events)}
    row_values = tuple(c for c in frame.columns if c in CHANGE_STATISTICS)
    shown, hidden_totals = suppress_counts(frame, min_cell, n_column, events, companions=companions, totals=totals,
                                           row_values=row_values)
    return (shown, hidden_totals) if with_totals else shown


def _add_events(table: Table, cells: dict, row, denominator: str, events, nested, fixed: bool = False) -> None:
    """A row's event cells, their unpublished complements and the lines tying them to n."""
    n = row[denominator]
    for event in events:
        k = row[event]
        defined = not (k is None or pd.isna(k))
        # a published total is blanked where it is published when it leaves 1..min_cell - 1
        # without the event: forced here too, so both places agree
        leaves_small = defined and not pd.isna(n) and fixed and table.is_small(n - k)
        cells[event] = table.cell(k if defined else 0, fixed=fixed, forced=leaves_small)
        if defined and not pd.isna(n):
            rest = table.cell(n - k, published=False)
            table.line([cells[event], rest], cells[denominator])
    for outer, inner in nested:
        if not (pd.isna(row[outer]) or pd.isna(row[inner])):
            difference = table.cell(row[outer] - row[inner], published=False)
            table.line([cells[inner], difference], cells[outer])


# --- Kaplan-Meier risk tables ------------------------------------------------------------------------

def thin_risk_table(curve: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The rows of a Kaplan-Meier curve (`survival.time_to_response`'s `curve`) that may be
    published.

    Parameters
    ----------
    curve : pandas.DataFrame
        The curve with `at_risk`, `events` and `censored` per time.
    min_cell : int
        The smallest count that may be published.

    Returns
    -------
    pandas.DataFrame
        The kept rows without `events` and `censored`.

    Notes
    -----
    A per-day risk table is made of small cells (most days see 1 to 10 responses or
    censorings, and the drop in "patients still followed" from one row to the next gives them
    back), so

    - the curve stops at the last time at which at least `min_cell` patients are still followed
      (beyond it every step describes fewer than min_cell patients; truncating a curve where
      the number at risk is small is also the usual reading advice for Kaplan-Meier plots);
    - of the remaining times, a row is kept only when the number at risk has fallen by at least
      `min_cell` since the previous kept row (the first is kept), so the difference between two
      consecutive rows is never a small cell; the estimate at a kept time is the exact
      Kaplan-Meier value there (drawn as a coarser step);
    - the per-day `events` and `censored` columns are dropped.
    """
    columns = [c for c in curve.columns if c not in ("events", "censored")]
    if curve.empty:
        return curve[columns].copy()
    followed = curve[curve["at_risk"] >= min_cell]
    keep, last = [], None
    for index, at_risk in zip(followed.index, followed["at_risk"]):
        if last is None or last - at_risk >= min_cell:
            keep.append(index)
            last = at_risk
    return curve.loc[keep, columns].reset_index(drop=True)
