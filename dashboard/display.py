"""How an aggregate page shows a published answer: a rate as a percentage, a KPI's interval and
n, a table with clinical column names and the same table as CSV, rates and their intervals as
percentages in tables. Used by the Clinic outcomes page; the numbers arrive published
(`pipelines.reports`, small cells already blanked), these helpers only word them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from .data import settings
from .suppressed import show_legend, table_cells
from .widgets import download_csv


def percent(value, digits: int = 1) -> str:
    """A proportion as a KPI's percentage; "—" where it is blanked or missing."""
    return "—" if value is None or pd.isna(value) else f"{100 * value:.{digits}f}%"


def interval(low, high, n, unit: str = "patients") -> str:
    """The KPI's second line: its 95% interval and n."""
    if pd.isna(low) or pd.isna(high):
        return f"n = {n} {unit}"
    return f"95% CI {100 * low:.1f}–{100 * high:.1f}%, n = {n} {unit}"


# A text column with a value longer than this is drawn wide: the grid's own sizing cut the
# Safety table's "BP excursion (peak ≥ 180/110 mmHg)" to "BP excursion (peak ≥ 180/110 m" (seen
# in the browser), and a director copying the figure needs the whole label.
LONG_TEXT = 24


def wide_text_columns(shown: pd.DataFrame) -> dict[str, st.column_config.Column]:
    """A wide column for each text column holding a value longer than LONG_TEXT characters."""
    text = [name for name in shown.columns
            if not pd.api.types.is_numeric_dtype(shown[name]) and not pd.api.types.is_datetime64_any_dtype(shown[name])]
    return {name: st.column_config.TextColumn(width="large") for name in text
            if shown[name].dropna().astype(str).str.len().max() > LONG_TEXT}


@st.cache_data(max_entries=256, show_spinner=False)
def _dataframe(shown: pd.DataFrame) -> None:
    st.dataframe(shown, hide_index=True, column_config=wide_text_columns(shown))


def table(frame: pd.DataFrame, columns: dict[str, str], filename: str, label: str) -> None:
    """Show `frame` with clinical column names and offer the same table as CSV; suppressed cells
    (counts and their rates) read "suppressed" in both (`suppressed.table_cells`), and the table
    says once under it what that means (`suppressed.legend`)."""
    min_cell = settings().privacy.min_cell_size
    shown = table_cells(frame, min_cell)[list(columns)].rename(columns=columns)
    _dataframe(shown)  # drawn from the cache when unchanged, like the charts
    show_legend(shown, min_cell)
    download_csv(shown, filename, f"Download {label} (CSV)", key=f"download_{filename}")


def rate_columns(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """Rates and their interval bounds as percentages with one decimal (tables and CSVs)."""
    frame = frame.copy()
    for name in names:
        for suffix in ("rate", "low", "high"):
            frame[f"{name}_{suffix}"] = (100 * frame[f"{name}_{suffix}"].astype(float)).round(1)
    return frame


def rate_names(name: str, word: str) -> dict[str, str]:
    """Clinical column names for a count, its rate and its interval (as `rate_columns` shows them)."""
    return {f"{name}_n": f"{word} (patients)", f"{name}_rate": f"{word} rate (%)",
            f"{name}_low": f"{word} 95% CI low (%)", f"{name}_high": f"{word} 95% CI high (%)"}
