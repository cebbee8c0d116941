"""How a chart reads a published frame (`pipelines.reports`): blanked counts and rates, rates
as percentages, intervals and group values in words. Shared by the Clinic outcomes page's
chart modules (`clinic`, `treatment`), so a suppressed cell reads the same in every hover.

Small cells arrive already suppressed (`pipelines.reports.suppression`): a blanked count is
<NA> and its rate NaN, and rows may carry `suppressed`.
"""

from __future__ import annotations

import math

import pandas as pd

from ..suppressed import count_text
from ..theme import INDICATION_WORDS


def pct(value) -> float:
    """A proportion as a percentage; NaN where it is blanked or missing."""
    return math.nan if value is None or pd.isna(value) else 100.0 * float(value)


def interval_text(low, high, digits: int = 0) -> str:
    """A 95% interval in words ("95% CI low to high"), or that it is not available."""
    if pd.isna(low) or pd.isna(high):
        return "interval not available"
    return f"95% CI {low:.{digits}f} to {high:.{digits}f}"


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows not suppressed (all of them when the frame has no `suppressed` column)."""
    return frame[~frame["suppressed"].astype(bool)] if "suppressed" in frame.columns else frame


def count(value, min_cell: int | None = None) -> str:
    """A count for a hover: "suppressed" where it is blanked (`dashboard.suppressed`)."""
    return count_text(value, min_cell)


def readable(value) -> str:
    """A group value in words: underscores read as spaces, a missing value "unknown"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "unknown"
    return INDICATION_WORDS.get(str(value), str(value).replace("_", " "))  # "PTSD", not "ptsd"
