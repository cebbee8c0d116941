"""How a suppressed cell is written, and the one line that explains it.

Why a module of its own: the word is shared by every report (`suppression`, the one-page report's
`board_text`) and by the dashboard, which may not import the small-cell rule's internals
(`.importlinter`, contract "published"). One neutral word for every blanked cell: complementary
suppression blanks numbers that would give a small count back, and those can be large (on the
sample, a group of 90 evaluable patients), so "<11" or "fewer than 11" would be false for them;
a mark kept for the small cells alone would tell readers which cells those are.
docs/analytics.md, "Small-cell suppression".
"""

from __future__ import annotations

__all__ = ["SUPPRESSED", "legend"]

SUPPRESSED = "suppressed"


def legend(min_cell: int) -> str:
    """The one-line explanation shown once beside a table, chart or report with suppressed cells."""
    return (f"{SUPPRESSED}: fewer than {int(min_cell)} patients ([privacy] min_cell_size), or a number that "
            "would give such a count back")
