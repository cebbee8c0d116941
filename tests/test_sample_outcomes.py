"""docs/sample-outcomes.md must show what the analytics module computes on data/sample/."""

from __future__ import annotations

from conftest import REPO, SAMPLE
from pipelines.analytics import outcomes, retention, survival
from pipelines.analytics.snapshot import open_snapshot
from pipelines.reports.headline import headline_rates
from pipelines.ingest import ingest
from pipelines.settings import Settings


def test_sample_headline_numbers_match_the_document(tmp_path):
    settings = Settings()
    db = tmp_path / "o.duckdb"
    ingest(db, [SAMPLE], settings)
    con = open_snapshot(db)
    after = outcomes.cohort_outcomes(con, settings, "PHQ-9", timepoint="after_induction").iloc[0]
    latest = outcomes.cohort_outcomes(con, settings, "PHQ-9").iloc[0]
    time = survival.time_to_response(con, settings, "PHQ-9")["summary"].iloc[0]
    kept = retention.retention(con, settings).iloc[0]
    itt = headline_rates(con, settings, "PHQ-9", timepoint="after_induction", basis="itt").iloc[0]
    doc = " ".join((REPO / "docs" / "sample-outcomes.md").read_text(encoding="utf-8").split())  # lines joined

    def pct(value):
        return f"{100 * value:.1f}"

    expected_cells = [
        f"| {int(after.n_evaluable)} |",
        f"{pct(after.response_rate)}% (95% CI {pct(after.response_low)}–{pct(after.response_high)})",
        f"{pct(after.remission_rate)}% ({pct(after.remission_low)}–{pct(after.remission_high)})",
        f"{pct(latest.response_rate)}% of {int(latest.n_evaluable)}",
        f"| {pct(latest.remission_rate)}% |",
        f"| {time.median_days:g} ({time.median_low:g}–{time.median_high:g}) |",
        f"| {pct(kept.completed_induction_rate)}% |",
        f"| {pct(kept.any_maintenance_rate)}% |",
        f"| {pct(itt.response_rate)}% ({pct(itt.response_low)}–{pct(itt.response_high)}) of {int(itt.n)} |",
        f"| {pct(itt.remission_rate)}% ({pct(itt.remission_low)}–{pct(itt.remission_high)}) |",
        # the text: the population's remission (27.1%, 200,000 patients) outside the sample's interval
        f"27.1% lies below the sample's interval of {pct(after.remission_low)}–{pct(after.remission_high)}",
        f"The sample's {int(after.remission_n)} remitters of {int(after.n_evaluable)}",
        f"over all {int(itt.n)} (a missing score counting as no response), response after induction is "
        f"{pct(itt.response_rate)}%",
    ]
    for cell in expected_cells:
        assert cell in doc, f"docs/sample-outcomes.md is stale: expected {cell!r}"
