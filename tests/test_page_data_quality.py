"""The Data quality page (dashboard/views/data_quality.py) run for real with AppTest: the latest
run's counts and the table counts on the sample clinic, the quarantined rows of the messy
synthetic export (checked against its answer key) with the rule filter, the baseline gaps, the
completion by infusion, and plain messages for a database without any ingest run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from conftest import SAMPLE, open_page
from pipelines.analytics import coverage as measurement, ingest_log
from pipelines.ingest import ingest
from pipelines.settings import Settings

PAGE = "views/data_quality.py"
SETTINGS = Settings()
MESSY = SAMPLE / "messy"


def table_with(app, column: str):
    """The first table on the page that has `column`."""
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def chart_values(chart) -> pd.DataFrame:
    """The inline data of a drawn Vega-Lite chart: Streamlit takes a specification's
    `data.values` out of it and sends them as Arrow."""
    return pa.ipc.open_stream(chart.proto.data.data).read_pandas()


def open_tab(app, tab: str):
    """The page's tabs run only when opened: open `tab` as a click would."""
    app.session_state["quality_tab"] = tab
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.fixture(scope="module")
def sample_page(sample_database):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield open_page(sample_database, PAGE, monkeypatch)


@pytest.fixture(scope="module")
def messy_database(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("messy-page") / "outcomes.duckdb"
    ingest(db, [MESSY], Settings())
    return db


@pytest.fixture(scope="module")
def messy_page(messy_database):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield open_page(messy_database, PAGE, monkeypatch)


@pytest.fixture(scope="module")
def manifest() -> list[dict]:
    with open(MESSY / "messy_manifest.tsv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_the_latest_runs_counts_are_those_recorded_in_ingest_runs(sample_page, sample):
    [(rows_in, inserted, updated, unchanged, quarantined)] = sample.execute(
        "SELECT rows_in, inserted, updated, unchanged, quarantined FROM ingest_runs ORDER BY run_id DESC LIMIT 1"
    ).fetchall()
    shown = metrics(open_tab(sample_page, "Ingest runs"))
    assert (shown["Rows in"], shown["Inserted"], shown["Updated"], shown["Unchanged"], shown["Quarantined"]) == (
        f"{rows_in:,}", f"{inserted:,}", f"{updated:,}", f"{unchanged:,}", f"{quarantined:,}")
    assert rows_in == 6348  # the sample's four files (11 bookings), every row new


def test_the_table_counts_show_what_the_database_holds(sample_page):
    counts = dict(table_with(open_tab(sample_page, "Ingest runs"), "what")[["what", "rows"]].values)
    assert counts["Patients"] == 300
    assert counts["Planned infusions (bookings)"] == 11  # data/sample/appointments.csv
    assert counts["Quarantined rows"] == 0
    assert counts["Ingest runs"] == 1


def test_a_clean_export_says_nothing_was_quarantined(sample_page):
    open_tab(sample_page, "Quarantine")
    assert any("No row has been quarantined" in info.value for info in sample_page.info)


def test_baseline_gaps_and_completion_match_the_analytics(sample_page, sample):
    coverage = measurement.baseline_coverage(sample, SETTINGS)
    open_tab(sample_page, "Baselines")
    shown = table_with(sample_page, "n_without_baseline")
    assert shown["n_without_baseline"].tolist() == coverage["n_without_baseline"].tolist()
    assert shown["scale"].iloc[0] == "PHQ-9 (depression)"
    gaps = table_with(sample_page, "reason_text")
    assert len(gaps) == coverage["n_without_baseline"].sum()
    assert set(gaps["reason_text"]) <= set(measurement.BASELINE_GAP_REASONS.values())
    completion = table_with(open_tab(sample_page, "Completion by infusion"), "n_with_score")
    assert completion["infusion"].tolist() == list(range(1, 13))
    assert completion["n_infusions"].iloc[0] == 300


def test_the_baseline_list_narrows_to_one_scale(sample_database, monkeypatch, sample):
    app = open_tab(open_page(sample_database, PAGE, monkeypatch), "Baselines")
    app.selectbox(key="baseline_scale").select("PHQ-9").run()
    gaps = table_with(app, "reason_text")
    assert set(gaps["instrument"]) == {"PHQ-9"}
    assert len(gaps) == len(measurement.patients_without_baseline(sample, SETTINGS, scale="PHQ-9")) > 0


def test_the_messy_exports_quarantined_rows_are_listed_with_file_row_and_reason(messy_page, manifest):
    app = messy_page
    quarantined = metrics(open_tab(app, "Ingest runs"))["Quarantined"]
    rows = table_with(open_tab(app, "Quarantine"), "raw_values")
    listed = {(Path(file).name, int(row)) for file, row in zip(rows["source_file"], rows["source_row"])}
    assert {(m["file"], int(m["row"])) for m in manifest if m["fault"] != "exact_duplicate"} <= listed
    assert rows["reason"].str.len().gt(0).all() and rows["raw_values"].str.len().gt(0).all()
    assert quarantined == f"{len(rows):,}"
    by_rule = table_with(app, "example_reason")
    assert by_rule["n_rows"].sum() >= len(rows)  # a row can break several rules


def test_the_rule_filter_narrows_the_quarantined_rows(messy_database, manifest, monkeypatch):
    app = open_tab(open_page(messy_database, PAGE, monkeypatch), "Quarantine")
    app.multiselect(key="quarantine_rules").select("unknown_patient").run()
    rows = table_with(app, "raw_values")
    expected = {(m["file"], int(m["row"])) for m in manifest if m["fault"] == "unknown_patient"}
    assert {(Path(file).name, int(row)) for file, row in zip(rows["source_file"], rows["source_row"])} == expected
    assert rows["rules"].str.contains("unknown_patient").all()


def test_conflicting_duplicates_are_listed_with_the_updates_per_run(messy_page, manifest):
    app = open_tab(messy_page, "Duplicates and updates")
    updates = table_with(app, "versions_kept")
    conflicting = [m for m in manifest if m["fault"] == "conflicting_duplicate"]
    assert updates["conflicting_rows"].sum() == len(conflicting)
    duplicates = [frame.value for frame in app.dataframe if "raw_values" in frame.value.columns][-1]
    assert {(Path(f).name, int(r)) for f, r in zip(duplicates["source_file"], duplicates["source_row"])} == {
        (m["file"], int(m["row"])) for m in conflicting}


def test_a_database_without_any_ingest_says_so(empty_database, monkeypatch):
    app = open_page(empty_database, PAGE, monkeypatch)
    assert not app.dataframe and not app.metric
    assert "No ingest has run" in app.info[0].value


@pytest.fixture(scope="module")
def two_runs_database(tmp_path_factory) -> Path:
    """The messy export ingested twice: two runs, as every clinic that ingests again has."""
    db = tmp_path_factory.mktemp("two-runs-page") / "outcomes.duckdb"
    ingest(db, [MESSY], Settings())
    ingest(db, [MESSY], Settings())
    return db


def test_the_runs_chart_is_vega_lite_with_each_runs_counts(two_runs_database, monkeypatch):
    """With more than one run the first tab draws every run's rows as a Vega-Lite chart, never a
    Plotly figure (its 4.7 MB script made a new session of the page a second slower)."""
    app = open_tab(open_page(two_runs_database, PAGE, monkeypatch), "Ingest runs")
    assert not app.get("plotly_chart")
    [chart] = app.get("vega_lite_chart")
    assert chart.proto.alt.startswith("Rows read by each of 2 ingest runs")
    assert json.loads(chart.proto.spec)["encoding"]["y"]["title"] == "Rows read"
    drawn = {(v.run, v.outcome.split(" (")[0].lower()): v.rows for v in chart_values(chart).itertuples()}
    with duckdb.connect(str(two_runs_database), read_only=True) as con:
        recorded = ingest_log.ingest_runs(con)
    assert len(recorded) == 2
    for run in recorded.itertuples():
        for outcome in ("inserted", "updated", "unchanged", "quarantined"):
            assert drawn[(f"Run {run.run_id}", outcome)] == getattr(run, outcome)
    second = recorded.sort_values("run_id").iloc[1]
    assert second["inserted"] == 0 and second["unchanged"] > 0  # the same export again: nothing new


def test_the_quarantine_chart_is_vega_lite_with_each_rules_count(two_runs_database, monkeypatch):
    app = open_tab(open_page(two_runs_database, PAGE, monkeypatch), "Quarantine")
    assert not app.get("plotly_chart")
    [chart] = app.get("vega_lite_chart")
    by_rule = table_with(app, "n_rows")
    drawn = [(v.rule, v.rows) for v in chart_values(chart).itertuples()]
    assert '"Quarantined rows"' in chart.proto.spec
    assert drawn == [(rule.replace("_", " "), rows) for rule, rows in zip(by_rule["rule"], by_rule["n_rows"])]


def test_one_run_draws_no_runs_chart(sample_page):
    app = open_tab(sample_page, "Ingest runs")
    assert not app.get("vega_lite_chart") and not app.get("plotly_chart")
