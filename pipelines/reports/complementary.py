"""Complementary suppression: given a table's counts and the sums that tie them together, which
cells to blank so that no small cell (1 to `min_cell` - 1) can be read or worked out.

Why a module of its own: hiding a small cell is useless when the table's total minus the cells
still shown gives it back, and finding the cells that must go with it is a small solver of its
own. This module only decides what to blank, over a `Table` of numbers; `suppression` applies
the policy to the frames of `pipelines.reports` with it.

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

References: CMS, "Cell size suppression policy" (2020); the line and chain rules are the
classical complementary cell suppression of statistical disclosure control (Hundepool A et al.
(2012), Statistical Disclosure Control, Wiley).
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


def small(values, min_cell: int) -> np.ndarray:
    """Where a count is a small cell.

    Parameters
    ----------
    values : array-like
        Counts; missing values and non-numbers are allowed.
    min_cell : int
        The smallest count that may be published.

    Returns
    -------
    numpy.ndarray of bool
        True for 1 <= value < min_cell; 0 and missing are not small ("nobody" describes no
        patient).
    """
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
    """Which cells of `table` to blank: primary suppression, then the line rule and the chain
    check until nothing changes (module docstring).

    Parameters
    ----------
    table : Table
        The cells, the lines tying them and the ties between them.
    min_cell : int
        The smallest count that may be published; 1 or less blanks nothing but the unpublished.

    Returns
    -------
    numpy.ndarray of bool
        A mask over `table.values`: True = blank it (unpublished cells are always True).
    """
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
    """The table's lines as linear equations.

    Parameters
    ----------
    table : Table
        The cells and their lines.

    Returns
    -------
    numpy.ndarray
        One row per line, one column per cell: +1 for each part, -1 for the total (each row
        times the cell values = 0). A cell is determined by the shown cells exactly when its
        unit vector lies in the row space of this matrix restricted to the blanked cells.
    """
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


def suppress_partition(counts, totals_fixed: bool, total, min_cell: int) -> np.ndarray:
    """Which parts of one whole to blank (a one-line `Table`).

    Parameters
    ----------
    counts : array-like
        The parts, e.g. the groups at one point of a trajectory.
    totals_fixed : bool
        Whether the whole is published elsewhere at its true value.
    total : float
        The whole.
    min_cell : int
        The smallest count that may be published.

    Returns
    -------
    numpy.ndarray of bool
        One per part: True = blank it (a small part, and a complement where the whole minus the
        shown parts would give it back).
    """
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
    """What to blank in a cross-tab of counts with its margins.

    Parameters
    ----------
    grid : array-like
        A rows x columns table of counts.
    min_cell : int
        The smallest count that may be published.

    Returns
    -------
    CrossTabMask
        Masks (True = blank) of the cells, the row totals, the column totals and the grand
        total.

    Notes
    -----
    Each row adds up to its row total, each column to its column total, the totals to the
    grand total (treated as published elsewhere: fixed); `protect` solves over all of these
    lines at once.
    """
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
