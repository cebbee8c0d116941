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

__all__ = ["DEFAULT_MIN_CELL", "CHANGE_STATISTICS", "cell_size", "label", "small", "blank", "shown_counts",
           "suppress_counts", "suppress_small_groups", "thin_risk_table"]

# The statistics of a row's patients (change from baseline), blanked when the row is.
CHANGE_STATISTICS = tuple(CHANGE_COLUMNS)


def cell_size(settings, min_cell: int | None = None) -> int:
    """The smallest count that may be published: `min_cell` when given (tests), else the
    clinic's `settings.privacy.min_cell_size`."""
    return settings.privacy.min_cell_size if min_cell is None else int(min_cell)


def label(min_cell: int) -> str:
    """What a table prints in place of a suppressed count."""
    return f"fewer than {min_cell}"


def shown_counts(counts, hidden, min_cell: int) -> np.ndarray:
    """The counts as text (a table's `n_shown` column), `label(min_cell)` where `hidden`."""
    shown = pd.Series(counts).astype("Int64").astype("string").astype(object).to_numpy(copy=True)
    shown[np.asarray(hidden, dtype=bool)] = label(min_cell)
    return shown


def blank(frame: pd.DataFrame, hidden, counts=(), values=()) -> pd.DataFrame:
    """A copy of `frame` with the rows `hidden` blanked: `counts` become <NA> (nullable integers),
    `values` (rates, intervals, statistics computed from them) NaN. Every table of
    `pipelines.reports` blanks its cells through this."""
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
    """Suppress a table of rows with a denominator count and event counts (each a subset of the
    denominator), such as outcomes by clinician or retention.

    Cells per row: `denominator`, each event count k and its complement n - k (unpublished:
    it is what a reader gets by subtraction), and `companions`, other counts of the row's
    patients (`n_patients` next to `n_evaluable`). `nested` pairs (outer, inner) of events where
    the inner is a subset of the outer (maintenance of completed induction) add outer - inner.
    `totals`: when the rows partition a whole whose counts are published elsewhere (the
    cohort's n and event counts in the headline), {column: value}; each column of the table then
    adds up to its total (fixed). `fixed_denominators`: every row's denominator is published
    elsewhere (the cohort's infusions on every safety row).

    A row is suppressed whole when its denominator is blanked, which happens when it or a
    companion is small or as a complement; its companions and `row_values` (statistics of the
    row's patients, such as the median change) go with it. An event count is blanked on its own
    when it or n - k is small, or as a complement; `derived` maps each event to the columns
    computed from it (default `<name>_rate`, `_low`, `_high` for an event `<name>_n`), blanked
    (NaN) with it. Adds `suppressed` and `n_shown` (the denominator as text, or "fewer than 11")
    after `group` (first without it). Returns the frame and which totals are blanked.
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
    """`frame` (one row per group, as `cohort_outcomes` gives it) with small cells blanked
    (`suppress_counts`): a group whose `n_column` or other patient count (`n_*`) is
    1 to min_cell - 1 is suppressed whole (counts <NA>, rates, intervals and change statistics
    NaN); an outcome count (`*_n`) of 1 to min_cell - 1, or leaving that many without the
    outcome, is blanked with its rate and interval. Complementary suppression: the groups are
    taken to partition a whole whose totals are published (the page's headline): `totals`
    ({column: value}), by default the column sums; a column with one blank gets a second.

    Adds `suppressed` and `n_shown` (the n as text, or "fewer than 11") after `group`. The
    group's label stays, so the table can say a group exists without saying how big it is.
    With `with_totals`, returns `(frame, {column: whether the whole's total is blanked})`.
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
    published: a per-day risk table is made of small cells (most days see 1 to 10 responses or
    censorings, and the drop in "patients still followed" from one row to the next gives them
    back), so

    - the curve stops at the last time at which at least `min_cell` patients are still followed
      (beyond it every step describes fewer than min_cell patients; truncating a curve where
      the number at risk is small is also the usual reading advice for Kaplan-Meier plots);
    - of the remaining times, a row is kept only when the number at risk has fallen by at least
      `min_cell` since the previous kept row (the first is kept), so the difference between two
      consecutive rows is never a small cell; the estimate at a kept time is the exact Kaplan-Meier value
      there (drawn as a coarser step);
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
