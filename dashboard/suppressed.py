"""How a suppressed cell reads, everywhere the dashboard shows a published number: a table, its
CSV download and a chart's hover.

Why one helper: `pipelines.reports` blanks a count under the smallest publishable size
(`[privacy] min_cell_size`, 11 by default) as <NA>, and the rates and statistics it would give
back as NaN. Left as they are, a table prints them "None" and a download leaves them empty,
which read as zero ("Adverse event (any): None", seen in the browser). A blanked count, and a
rate, interval or statistic blanked with it, is written "suppressed", never a number: one neutral
mark, because a count blanked as a complement can be large (so "<11" would be false for it) and a
mark kept for the small cells alone would tell readers which cells those are. Where it is shown,
`legend` (or the hover's own `hover_text`) says once what it means. Values missing for another
reason (an interval that cannot be computed) stay empty.
"""

from __future__ import annotations

import re

import pandas as pd

from pipelines.reports.marks import SUPPRESSED, legend

__all__ = ["SUPPRESSED", "legend", "mark", "hover_text", "count_text", "table_cells", "text_config", "has_mark",
           "show_legend"]
# A rate and its interval (`<name>_rate`, `_low`, `_high`) are blanked with their count `<name>_n`;
# the safety rates (`per_100`, `_low`, `_high`) with `n_affected_infusions`.
RATE = re.compile(r"^(?P<name>.+)_(rate|low|high)$")
PER_100_COUNT = "n_affected_infusions"


def mark(min_cell: int | None = None) -> str:
    """A blanked count as it is printed: "suppressed", small or complementary alike."""
    return SUPPRESSED


def hover_text(min_cell: int | None) -> str:
    """A blanked value in a chart's hover, with its legend: a hover is read on its own."""
    if min_cell is None:
        return SUPPRESSED
    return (f"{SUPPRESSED} (fewer than {int(min_cell)} patients, or a number that would give such a count "
            "back)")


def count_text(value, min_cell: int | None) -> str:
    """A count for a hover or a card: its digits, or "suppressed" where it is blanked."""
    if value is None or pd.isna(value):
        return mark(min_cell)
    return f"{int(value)}"


def has_mark(frame: pd.DataFrame) -> bool:
    """Whether a shown table (after `table_cells`) holds a suppressed cell: then it needs `legend`."""
    return bool(frame.isin([SUPPRESSED]).any().any())


def show_legend(frame: pd.DataFrame, min_cell: int) -> None:
    """Under a shown table: the legend of its "suppressed" cells, when it has any."""
    import streamlit as st  # only pages call this

    if has_mark(frame):
        st.caption(legend(min_cell))


def table_cells(frame: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """A published frame as a table and its CSV show it: blanked counts, and the rates,
    intervals and statistics blanked with them, "suppressed" (the reports' `n_shown` already
    says so); everything else as it is.

    A count is a nullable integer column (how the reports keep counts, <NA> = blanked); a cell
    of another column is blanked with its row when the row is `suppressed`, or with its count
    (`<name>_n` for `<name>_rate` / `_low` / `_high`, `n_affected_infusions` for `per_100*`, any
    blanked count of the row for `share*`).
    """
    original = frame
    frame = frame.copy()
    hidden_rows = original["suppressed"].astype(bool) if "suppressed" in original.columns else \
        pd.Series(False, index=original.index)
    counts = [c for c in original.columns if isinstance(original[c].dtype, pd.Int64Dtype | pd.Int32Dtype)]
    for column in original.columns:
        values = original[column]
        if column in counts:
            if values.isna().any():
                frame[column] = _as_text(values).where(values.notna(), mark(min_cell))
        elif pd.api.types.is_float_dtype(values):
            match = RATE.match(column)
            count = PER_100_COUNT if column.startswith("per_100") else f"{match['name']}_n" if match else None
            blanked = hidden_rows | (original[count].isna() if count in counts else False)
            if column.startswith("share") and counts:  # a share is blanked with the row's count
                blanked |= original[counts].isna().any(axis=1)
            blanked &= values.isna()
            if blanked.any():
                frame[column] = _as_text(values).where(~blanked, SUPPRESSED)
    return frame


def _as_text(values: pd.Series) -> pd.Series:
    """A numeric column as text, for a column that also holds "suppressed" (a table
    column has one type): whole numbers without decimals, others as rounded by the page
    ("45.6"), missing values empty."""
    def text(value) -> str:
        if value is None or pd.isna(value):
            return ""
        return f"{int(value)}" if float(value).is_integer() and not isinstance(value, float) else f"{float(value):.10g}"
    return pd.Series([text(v) for v in values], index=values.index, dtype=object)


def text_config(columns: dict, frame: pd.DataFrame) -> dict:
    """`st.column_config` entries for `frame` after `table_cells`: a number (or progress) column that now
    holds "suppressed" becomes a text column with the same label and help (a number column would show
    the text as empty, which reads as zero)."""
    import streamlit as st  # only pages call this; the rest of the module needs no Streamlit

    shown = {}
    for name, config in columns.items():
        if name in frame.columns and frame[name].dtype == object and \
                (config.get("type_config") or {}).get("type") in ("number", "progress"):
            config = st.column_config.TextColumn(config.get("label"), help=config.get("help"))
        shown[name] = config
    return shown
