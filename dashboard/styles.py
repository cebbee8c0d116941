"""The dashboard's own CSS, and the one place that hands Streamlit HTML.

Why it is kept apart: pages never render HTML (a patient id or a site name is always shown as
text: tests/test_hostile_text.py), but two things Streamlit offers no setting for need a few
lines of CSS. Each style here is a constant written in this file, never built from data, with
nothing fetched (no url(), no @import: the dashboard makes no request outside its own server),
and `apply` is the only `st.html` call in the dashboard, which the test checks.
"""

from __future__ import annotations

import streamlit as st

# Streamlit cuts a metric's delta and label to one line with an ellipsis, which hid the n and the
# interval of a KPI card ("95% CI 2…", "n = 1992…", seen in the browser): they wrap instead.
PAGE_CSS = """<style>
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] *, [data-testid="stMetricLabel"] *,
[data-testid="stMetricDelta"] .stMarkdownEllipsis, [data-testid="stMetricLabel"] .stMarkdownEllipsis {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important; max-height: none !important; }
[data-testid="stMetricDelta"] { height: auto !important; }
</style>"""

# The patient check-in on a tablet: answer buttons large enough to touch (at least 44 px), the
# questions' text larger, and no toolbar for a patient to wander off with.
TOUCH_CSS = """<style>
[data-testid="stButtonGroup"] button { min-height: 3.4rem; font-size: 1.05rem; padding: 0.4rem 0.9rem; }
[data-testid="stButtonGroup"] [data-testid="stWidgetLabel"] p { font-size: 1.15rem; line-height: 1.4; }
[data-testid="stToolbar"] { display: none; }
</style>"""

STYLES = {"page": PAGE_CSS, "touch": TOUCH_CSS}


def apply(name: str) -> None:
    """Add the style `name` of STYLES to the page."""
    st.html(STYLES[name])
