"""Counts drawn as bars without Plotly, for pages whose only chart is a handful of bars.

Why: the first Plotly figure of a browser session makes the browser load and start Plotly's
bundle (several MB of JavaScript), about a second of its main thread on a 2-core machine
(profiled in Chromium; docs/scaling.md, "Browser"), before the page counts as drawn. The
Worklist's one chart, patients per reason, needs none of Plotly's features: Streamlit's own
progress bars show the same counts at once.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
import streamlit as st


def count_bars(counts: pd.DataFrame, label: str = "label", value: str = "patients",
               flagged: Collection[str] = (), key: str = "reason", empty: str = "Nobody to count.") -> None:
    """One bar per row of `counts`: its `label` and `value`, the bar's length the value as a
    share of the largest; rows whose `key` is in `flagged` get a warning mark (the safety
    reasons, which the old chart drew in the alert colour)."""
    if counts.empty or counts[value].sum() == 0:
        st.caption(empty)
        return
    largest = int(counts[value].max())
    for row in counts.itertuples(index=False):
        number = int(getattr(row, value))
        mark = ":material/warning: " if getattr(row, key) in flagged else ""
        st.progress(number / largest, text=f"{mark}{getattr(row, label)}: **{number:,}**")
