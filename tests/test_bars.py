"""The Worklist's patients per reason, drawn as Streamlit bars (dashboard/bars.py) instead of a
Plotly figure: every reason with its count, the longest bar the largest count."""

from __future__ import annotations

import datetime as dt

from conftest import SAMPLE_TODAY, open_page
from dashboard.charts.quality import reason_counts
from pipelines.analytics.cohorts import IN_TREATMENT, CohortFilter, status_filter
from pipelines.analytics.snapshot import open_snapshot
from pipelines.analytics.worklist import SAFETY_REASONS, worklist
from pipelines.settings import Settings


def test_the_worklist_shows_every_reason_count_as_a_bar(sample_database, monkeypatch):
    app = open_page(sample_database, "views/worklist.py", monkeypatch)
    bars = [(element.proto.text, element.proto.value) for element in app.get("progress")]
    today = dt.date.fromisoformat(SAMPLE_TODAY)  # the page's today, and its default: patients in treatment
    settings = Settings()
    in_treatment = status_filter(CohortFilter(), settings, today, IN_TREATMENT)
    counts = reason_counts(worklist(open_snapshot(sample_database), settings, as_of=today, cohort=in_treatment))
    assert counts["patients"].sum() > 0  # the sample has patients on the list: the check means something
    assert [text.split(": **")[0].replace(":material/warning: ", "") for text, _ in bars] == counts["label"].tolist()
    assert [int(text.split("**")[1].replace(",", "")) for text, _ in bars] == counts["patients"].tolist()
    largest = counts["patients"].max()
    # st.progress sends the share as a whole percent
    assert [value for _, value in bars] == [int(n / largest * 100) for n in counts["patients"]]
    marked = [text.startswith(":material/warning:") for text, _ in bars]
    assert marked == [reason in SAFETY_REASONS for reason in counts["reason"]] and any(marked)
    assert not app.get("plotly_chart"), "no Plotly on the Worklist (its bundle costs a new session ~1 s)"
