"""Small-cell suppression: which numbers of an aggregate table may be published, and which must
be blanked so that no count of 1 to `min_cell` - 1 patients can be read or worked out.

Why a module of its own: every aggregate a director or analyst sees (the Clinic outcomes page,
its CSV downloads) must follow one policy, and the policy is easy to get subtly wrong: hiding a
small cell is useless when the table's total minus the cells still shown gives it back. This
module only decides what to blank; the analytics functions build their tables and apply it.

The policy (CMS cell-size suppression policy: "no cell (e.g. admittances, discharges, patients,
services) 10 or less may be displayed", and no percentage or other formula may be shown if it
lets a reader derive such a cell; the threshold is `settings.privacy.min_cell_size`, 11):

- **Primary suppression.** A count of 1 to min_cell - 1 is a small cell and is blanked. Zero is
  shown: CMS allows it, and "nobody" describes no patient. Counts the table never prints but
  that follow from two printed ones (the non-responders n - k next to a responder count k,
  patients who stopped before the end of induction next to the ones who completed it) are
  cells too: if one of them is small, a printed number is blanked so that it cannot be derived.
- **Complementary suppression.** Tables are described as *lines*: a set of parts that add up to
  a total (the groups of a partition and the cohort's total; a row or a column of a cross-tab
  and its margin). A line with exactly one unknown gives it back by subtraction, so another
  member of the line is blanked too: the smallest non-zero one still shown (the least
  information lost), else a zero, else the line's total. This is repeated over every line until
  nothing changes (a cross-tab's rows and columns in turn, since a cell blanked for its row may
  leave its column with one unknown).
- **Chains.** "No line with exactly one unknown" is not enough on its own: two lines can each
  hold two unknowns and together still pin one down (a cross-tab's cell blanked in a row and a
  column that share nothing else). So after the line rule the table's equations are solved as
  a reader would (linear algebra over every line at once), and while a small cell is still
  determined by them, the smallest further number whose blanking frees it is blanked.
- Totals published elsewhere at their true value (the cohort size in the page's headline) are
  `fixed`: they cannot be hidden here, only used. A fixed total that is itself small is hidden
  here, as the headline hides it by the same rule.

Rates, intervals and any statistic computed from a blanked count are blanked with it (rate x n
gives the count back); the analytics functions do that with the masks returned here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# CMS cell-size suppression policy: no cell of 1-10 beneficiaries is published (CMS, "Cell size
# suppression policy", 2020). The default of settings.privacy.min_cell_size.
DEFAULT_MIN_CELL = 11
# A unit vector inside the row space of the equations has norm 1 after projection: anything
# this close is "determined" (float round-off of the SVD).
_DETERMINED = 1e-9


def cell_size(settings, min_cell: int | None = None) -> int:
    """The smallest count that may be published: `min_cell` when given (tests), else the
    clinic's `settings.privacy.min_cell_size`."""
    return settings.privacy.min_cell_size if min_cell is None else int(min_cell)


def label(min_cell: int) -> str:
    """What a table prints in place of a suppressed count."""
    return f"fewer than {min_cell}"


def small(values, min_cell: int) -> np.ndarray:
    """True where a count is a small cell: 1 to min_cell - 1 (0 and missing are not)."""
    numbers = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return (numbers >= 1) & (numbers < min_cell)


@dataclass
class Table:
    """A table's counts as one flat list of cells and the lines (sums) that tie them together.

    `published`: cells the table prints (the others are derived counts such as n - k, which
    are protected but never shown). `fixed`: cells published elsewhere at their true value,
    never blanked here unless small."""

    values: list[float] = field(default_factory=list)
    published: list[bool] = field(default_factory=list)
    fixed: list[bool] = field(default_factory=list)
    lines: list[tuple[list[int], int]] = field(default_factory=list)
    forced: list[bool] = field(default_factory=list)
    ties: list[tuple[int, int]] = field(default_factory=list)
    min_cell: int = DEFAULT_MIN_CELL

    def is_small(self, value) -> bool:
        return bool(small([value], self.min_cell)[0])

    def cell(self, value, published: bool = True, fixed: bool = False, forced: bool = False) -> int:
        """Add a cell and return its index (a missing value counts as 0: nothing to protect).
        `forced`: blank it whatever its value (a row suppressed for another of its cells)."""
        self.values.append(0.0 if value is None or pd.isna(value) else float(value))
        self.published.append(published)
        self.fixed.append(fixed)
        self.forced.append(forced)
        return len(self.values) - 1

    def tie(self, follower: int, leader: int) -> None:
        """`follower` is blanked whenever `leader` is (the other counts of a suppressed row)."""
        self.ties.append((follower, leader))

    def line(self, parts: list[int], total: int) -> None:
        """Declare that the cells `parts` add up to the cell `total`."""
        self.lines.append((list(parts), total))

    def protect(self, min_cell: int) -> np.ndarray:
        """The cells to blank (True), primary and complementary; see the module docstring."""
        return protect(self, min_cell)


def protect(table: Table, min_cell: int) -> np.ndarray:
    """Primary suppression, then the line rule and the chain check until nothing changes.
    Returns a mask over `table.values`: True = blank it (unpublished cells are always True)."""
    values = np.asarray(table.values, dtype=float)
    published = np.asarray(table.published, dtype=bool)
    fixed = np.asarray(table.fixed, dtype=bool)
    sensitive = small(values, min_cell) | np.asarray(table.forced, dtype=bool)
    hidden = sensitive | ~published
    if min_cell <= 1 or not sensitive.any():
        return hidden
    while True:
        changed = _follow_ties(table, hidden)
        changed |= _line_rule(table, values, published, fixed, sensitive, hidden)
        changed |= _chain_rule(table, values, published, fixed, sensitive, hidden)
        if not changed:
            return hidden


def _follow_ties(table, hidden) -> bool:
    changed = False
    for follower, leader in table.ties:
        if hidden[leader] and not hidden[follower]:
            hidden[follower] = changed = True
    return changed


def _candidates(members, values, published, fixed, hidden) -> list[int]:
    """Cells that may still be blanked, best first: the smallest non-zero, then zeros."""
    free = [m for m in members if published[m] and not fixed[m] and not hidden[m]]
    return sorted(free, key=lambda m: (values[m] == 0, values[m], m))


def _line_rule(table, values, published, fixed, sensitive, hidden) -> bool:
    changed = False
    again = True
    while again:
        again = False
        for parts, total in table.lines:
            members = [*parts, total]
            unknown = [m for m in members if hidden[m]]
            # one unknown gives itself away; it only matters if it is protected (a small cell,
            # or a cell blanked to protect one), not a large derived count nobody prints
            if len(unknown) != 1 or not (sensitive[unknown[0]] or published[unknown[0]]):
                continue
            choice = _candidates(members, values, published, fixed, hidden)
            if choice:
                hidden[choice[0]] = True
                changed = again = True
    return changed


def _determined(matrix: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """For each cell, whether the lines fix its value given every shown cell: an unknown is
    determined exactly when its unit vector lies in the row space of the equations restricted to
    the unknowns."""
    result = ~hidden.copy()
    unknown = np.flatnonzero(hidden)
    if len(unknown) == 0 or matrix.shape[0] == 0:
        return result
    sub = matrix[:, unknown]
    _, singular, right = np.linalg.svd(sub, full_matrices=False)
    rank = int((singular > 1e-9 * max(1.0, singular.max(initial=0))).sum())
    basis = right[:rank]  # orthonormal rows spanning the row space
    norms = (basis ** 2).sum(axis=0) if rank else np.zeros(len(unknown))
    result[unknown] = norms > 1 - _DETERMINED
    return result


def equations(table: Table) -> np.ndarray:
    """The lines as a matrix: one row per line, +1 for each part, -1 for the total (= 0)."""
    matrix = np.zeros((len(table.lines), len(table.values)))
    for row, (parts, total) in enumerate(table.lines):
        for part in parts:
            matrix[row, part] += 1
        matrix[row, total] -= 1
    return matrix


def _chain_rule(table, values, published, fixed, sensitive, hidden) -> bool:
    matrix = equations(table)
    # a cell given back by the fixed totals alone cannot be protected here: the page that
    # publishes those totals blanks them by the same rule (`fixed` cells are forced then)
    beyond_reach = _determined(matrix, hidden | (published & ~fixed))
    exposed = np.flatnonzero(sensitive & _determined(matrix, hidden) & ~beyond_reach)
    if len(exposed) == 0:
        return False
    target = exposed[0]
    sharing = {m for parts, total in table.lines if target in parts or target == total for m in (*parts, total)}
    everyone = range(len(values))
    ordered = (_candidates(sorted(sharing), values, published, fixed, hidden)
               + [m for m in _candidates(everyone, values, published, fixed, hidden) if m not in sharing])
    if not ordered:
        return False  # only fixed totals are left: the caller's headline hides them by the same rule
    for choice in ordered:
        trial = hidden.copy()
        trial[choice] = True
        if not _determined(matrix, trial)[target]:
            hidden[choice] = True
            return True
    hidden[ordered[0]] = True  # no single cell frees it: blank the best candidate and look again
    return True


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
    shown = frame[denominator].astype("Int64").astype("string").astype(object)
    shown[blank_rows] = label(min_cell)
    for column in (denominator, *companions):
        frame[column] = frame[column].astype("Int64")
        frame.loc[blank_rows, column] = pd.NA
    for event in events:
        blank = blank_rows | mask(event) if rows else blank_rows
        frame[event] = frame[event].astype("Int64")
        frame.loc[blank, event] = pd.NA
        for column in derived.get(event, []):
            if column in frame.columns:
                frame[column] = frame[column].astype(float)
                frame.loc[blank, column] = np.nan
    for column in row_values:
        frame[column] = frame[column].astype(float)
        frame.loc[blank_rows, column] = np.nan
    position = frame.columns.get_loc("group") + 1 if "group" in frame.columns else 0
    frame.insert(position, "suppressed", blank_rows)
    frame.insert(position + 1, "n_shown", shown.to_numpy())
    return frame, {column: bool(hidden[index]) for column, index in total_cells.items()}


CHANGE_STATISTICS = ("mean_change", "mean_change_low", "mean_change_high", "median_change", "median_change_low",
                     "median_change_high", "wilcoxon_statistic", "wilcoxon_p", "effect_size_r")


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


def suppress_partition(counts, totals_fixed: bool, total, min_cell: int) -> np.ndarray:
    """Which of `counts` (parts of one whole, e.g. the groups at one point) to blank, the whole
    being `total` (published elsewhere when `totals_fixed`). A one-line `Table`."""
    table = Table()
    parts = [table.cell(c) for c in counts]
    whole = table.cell(total, fixed=totals_fixed)
    table.line(parts, whole)
    return table.protect(min_cell)[parts]


@dataclass(frozen=True)
class CrossTabMask:
    """What to blank in a cross-tab with its margins (True = blank)."""

    cells: np.ndarray  # rows x columns
    row_totals: np.ndarray
    column_totals: np.ndarray
    total: bool


def suppress_cross_tab(grid, min_cell: int) -> CrossTabMask:
    """A rows x columns table of counts with its row and column totals and grand total: each
    row adds up to its row total, each column to its column total, the totals to the grand
    total (treated as published elsewhere: fixed)."""
    grid = np.asarray(grid, dtype=float)
    n_rows, n_columns = grid.shape
    table = Table()
    cells = np.array([[table.cell(grid[r, c]) for c in range(n_columns)] for r in range(n_rows)], dtype=int)
    row_totals = [table.cell(grid[r].sum()) for r in range(n_rows)]
    column_totals = [table.cell(grid[:, c].sum()) for c in range(n_columns)]
    grand = table.cell(grid.sum(), fixed=True)
    for r in range(n_rows):
        table.line(list(cells[r]), row_totals[r])
    for c in range(n_columns):
        table.line(list(cells[:, c]), column_totals[c])
    table.line(row_totals, grand)
    table.line(column_totals, grand)
    hidden = table.protect(min_cell)
    return CrossTabMask(cells=hidden[cells], row_totals=hidden[row_totals], column_totals=hidden[column_totals],
                        total=bool(hidden[grand]))


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
