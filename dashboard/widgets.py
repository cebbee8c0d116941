"""Small building blocks every page uses the same way: the database guard, CSV downloads and
Vega-Lite charts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines.safe_csv import csv_bytes

from .auditing import auditor
from .data import NoDatabase, current_version


def require_database() -> None:
    """Stop the page with a plain message when there is no database to show."""
    try:
        current_version()
    except NoDatabase as missing:
        st.info(str(missing))
        st.stop()


def download_csv(frame: pd.DataFrame, filename: str, label: str = "Download CSV", key: str | None = None,
                 audited_page: str | None = None) -> None:
    """A download button for `frame` as spreadsheet-safe CSV (`pipelines.safe_csv`: UTF-8, no
    index, text that would run as a formula prefixed with a quote). `audited_page`: the frame
    holds rows about patients, so the file is built only when clicked, after an audit log entry
    (docs/access.md); aggregates need none."""
    if audited_page is None:
        data = csv_bytes(frame)
    else:
        trail = auditor()

        def data() -> bytes:
            trail.export(audited_page, None, f"{filename}, {len(frame):,} rows")
            return csv_bytes(frame)
    st.download_button(label, data, file_name=filename, mime="text/csv", key=key or f"download_{filename}",
                       icon=":material/download:", on_click="ignore")


def vega_chart(spec: dict, key: str) -> None:
    """A Vega-Lite specification (`dashboard/charts/vega.py`) drawn across the page's width.

    Its description becomes the chart's accessible name (`alt`; Streamlit warns when a
    specification has both), taken from a shallow copy: a specification may be cached and
    shared by every session, so it is never changed."""
    body = dict(spec)
    st.vega_lite_chart(body, width="stretch", key=key, alt=body.pop("description"))
