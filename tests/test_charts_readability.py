"""Defects seen in the browser (issue 16), each checked on the figure a page draws from the
sample clinic's published answers (`pipelines.reports.clinic` on a snapshot of the real
ingest): the x axis of a grouped course in infusion order, rate axes from zero, suppressed
cells written as "suppressed" in hovers, with their legend."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.charts import clinic as charts
from dashboard.charts import clinic_course as course
from pipelines.analytics.cohorts import GROUPABLE
from pipelines.analytics.snapshot import open_snapshot
from pipelines.reports import clinic as published
from pipelines.settings import Settings

SETTINGS = Settings()


@pytest.fixture(scope="module")
def snapshot(sample_database):
    con = open_snapshot(sample_database)
    yield con
    con.close()


@pytest.mark.parametrize("by", GROUPABLE)
def test_course_by_infusion_keeps_infusion_order_for_every_comparison(snapshot, by):
    """Seen compared by indication: "... 4, 6, 7, 5, 8 ..." (a group with infusion 5 suppressed drew
    first). The axis lists infusions 1..n in order, then maintenance, whatever the grouping."""
    path = published.trajectory(snapshot, SETTINGS, "PHQ-9", group_by=(by,))
    spec = course.trajectory_chart(path, "PHQ-9", by)
    numbers = sorted(int(label) for label in path["label"].unique() if label != "maintenance")
    expected = [f"before infusion {n}" for n in numbers] + (["maintenance"] if (path["label"] == "maintenance").any()
                                                          else [])
    x = spec["encoding"]["x"]
    assert x["type"] == "ordinal" and x["sort"] == expected and x["scale"]["domain"] == expected
    # and the lines and bands are drawn in that order (Vega-Lite orders a path by the x sort array)
    assert all("order" not in layer["encoding"] for layer in spec["layer"])
    for name in {row["series"] for row in spec["data"]["values"]}:  # each group's rows in that order too
        positions = [expected.index(row["point"]) for row in spec["data"]["values"] if row["series"] == name]
        assert positions == sorted(positions)


def test_course_order_when_the_first_group_misses_a_point():
    """Hand-made: North's infusion 2 is suppressed, so the first trace has 1, 3 and River's 2
    would be placed after 3 without a fixed order."""
    frame = pd.DataFrame({"site": ["North"] * 3 + ["River"] * 3, "infusion": [1, 2, 3] * 2,
                          "label": ["1", "2", "3"] * 2, "n": [20, None, 15, 30, 25, 20],
                          "suppressed": [False, True, False, False, False, False],
                          "mean": [18.0, None, 12.0, 17.0, 15.0, 13.0], "mean_low": [16.0, None, 10.0, 15, 13, 11],
                          "mean_high": [20.0, None, 14.0, 19, 17, 15]})
    spec = course.trajectory_chart(frame, "PHQ-9", "site")
    assert spec["encoding"]["x"]["sort"] == ["before infusion 1", "before infusion 2", "before infusion 3"]
    north = [row["point"] for row in spec["data"]["values"] if row["series"] == "North"]
    assert north == ["before infusion 1", "before infusion 3"]  # the suppressed point is not drawn


# --- Trend by start month: quarters when months are too small --------------------------------------

def test_trend_falls_back_to_quarters_on_the_sample(snapshot):
    """The sample starts about a dozen patients a month, so no month has 11 responders and 11
    without a response: the trend is by quarter, and most quarters show a response rate."""
    months = published.monthly_outcomes(snapshot, SETTINGS, "PHQ-9")
    assert months["response_rate"].notna().sum() < len(months) / 2
    trend = published.outcomes_by_start(snapshot, SETTINGS, "PHQ-9")
    assert trend.attrs["period"] == "quarter" and trend["response_rate"].notna().sum() >= len(trend) / 2
    figure = charts.monthly_trend_chart(trend, "PHQ-9", 11)
    response = next(t for t in figure.data if t.name == "Response")
    assert response.x[0].endswith("Q4") and "2025 Q1" in response.x
    assert list(figure.layout.yaxis.range) == [0, 100]


def test_a_quarter_counts_its_patients_as_a_cohort_of_that_quarter_would(snapshot):
    """Hand-worked check by a second path: the 2025 Q1 row equals `cohort_outcomes` for the
    patients whose first infusion was 1 Jan to 31 Mar 2025, and its rate is k / n with the
    Wilson interval as scipy computes it (Wilson 1927)."""
    import datetime as dt

    from scipy.stats import binomtest

    from pipelines.analytics.cohorts import CohortFilter
    from pipelines.analytics.outcomes import cohort_outcomes
    from pipelines.analytics.start_quarters import quarterly_outcomes

    quarters = quarterly_outcomes(snapshot, SETTINGS, "PHQ-9").set_index("group")
    q1 = quarters.loc["2025 Q1"]
    direct = cohort_outcomes(snapshot, SETTINGS, "PHQ-9",
                             cohort=CohortFilter(start_from=dt.date(2025, 1, 1), start_to=dt.date(2025, 3, 31))).iloc[0]
    assert (q1.n_evaluable, q1.response_n, q1.remission_n) == (direct.n_evaluable, direct.response_n,
                                                                direct.remission_n)
    interval = binomtest(int(q1.response_n), int(q1.n_evaluable)).proportion_ci(method="wilson")
    assert q1.response_rate == pytest.approx(q1.response_n / q1.n_evaluable)
    assert (q1.response_low, q1.response_high) == pytest.approx((interval.low, interval.high))


# --- Suppressed cells read "suppressed" ----------------------------------------------------------------

def test_suppressed_cells_read_less_than_the_cell_size_in_tables_hovers_and_csv(snapshot):
    """"Adverse event (any): None" read as zero events. The sample has fewer than 11 infusions
    with an adverse event: the table, its CSV and the hover say "suppressed"."""
    from dashboard.charts import treatment
    from dashboard.suppressed import table_cells
    from pipelines.safe_csv import csv_bytes

    rates = published.safety_rates(snapshot, SETTINGS)
    effects = rates["effects"]
    row = effects[effects["effect"] == "adverse event (any)"]
    assert row["n_affected_infusions"].isna().all()  # blanked by the reports
    shown = table_cells(effects, 11)
    cells = shown[shown["effect"] == "adverse event (any)"].iloc[0]
    assert cells["n_affected_infusions"] == "suppressed" and cells["per_100"] == "suppressed"
    assert shown.loc[shown["effect"] == "nausea", "n_affected_infusions"].iloc[0] == "324"  # as it is, as text
    text = csv_bytes(shown).decode()
    assert "adverse event (any),1992,suppressed,suppressed" in text and "None" not in text
    figure = treatment.safety_chart(effects, rates["bp"], 180, 110, 11)
    bar = figure.data[0]
    index = list(bar.y).index("Adverse event (any)")
    assert bar.hovertext[index].startswith("Adverse event (any): infusions suppressed (fewer than 11 patients, or a number")
    assert bar.text[index] == "infusions suppressed"
    assert figure.layout.xaxis.rangemode == "tozero"


def test_a_blanked_count_other_than_11_uses_the_configured_size(snapshot):
    """`[privacy] min_cell_size` = 20: the blanked counts read "suppressed" and the legend names 20."""
    from dashboard.suppressed import has_mark, legend, table_cells

    trend = published.outcomes_by_start(snapshot, SETTINGS, "PHQ-9", min_cell=20)
    shown = table_cells(trend, 20)
    assert set(shown.loc[trend["response_n"].isna(), "response_n"]) == {"suppressed"}
    assert set(shown.loc[trend["suppressed"], "n_shown"]) <= {"suppressed"}
    assert has_mark(shown) and legend(20).startswith("suppressed: fewer than 20 patients ([privacy] min_cell_size)")


# --- Labels and axes -------------------------------------------------------------------------------

def test_funnel_names_of_near_neighbours_do_not_share_a_height(snapshot):
    """The sample's five clinicians have 42-59 evaluable patients at similar rates: names were
    drawn on top of each other. Each name is an annotation with a leader line; within a run of
    similar sizes no two names have the same offset, and the x axis leaves room right of the
    largest group."""
    result = published.outcomes_by_group(snapshot, SETTINGS, "PHQ-9", "clinician")
    figure = charts.funnel_chart(result["groups"], result["limits"], result["overall"], "clinician")
    points = figure.data[-1]
    names = {a.text: (a.x, a.ay) for a in figure.layout.annotations}
    assert set(names) == set(result["groups"]["group"]) and len(names) == 5
    xs = sorted(x for x, _ in names.values())
    assert all(b - a < 0.25 * max(xs) for a, b in zip(xs, xs[1:]))  # one run: every name at its own height
    assert len({ay for _, ay in names.values()}) == 5
    assert figure.layout.xaxis.range[1] >= 1.15 * max(points.x) and points.mode == "markers"


def test_label_offsets_start_a_new_run_far_away():
    sizes = pd.Series([20, 22, 24, 100, 101])
    assert charts.label_offsets(sizes) == [-28, 28, -52, -28, 28]


def test_every_rate_axis_starts_at_zero(snapshot):
    """Rates (time to response, funnel, trend, safety per 100 infusions) and mean scores are
    drawn from 0, so a difference is not magnified by a cut axis."""
    from dashboard.charts import treatment

    km = published.time_to_response(snapshot, SETTINGS, "PHQ-9")
    groups = published.outcomes_by_group(snapshot, SETTINGS, "PHQ-9", "site")
    rates = published.safety_rates(snapshot, SETTINGS)
    vertical = [charts.funnel_chart(groups["groups"], groups["limits"], groups["overall"], "site"),
                charts.monthly_trend_chart(published.outcomes_by_start(snapshot, SETTINGS, "PHQ-9"), "PHQ-9", 11)]
    for figure in vertical:
        assert figure.layout.yaxis.range[0] == 0, figure.layout.title.text
    assert treatment.cadss_chart(published.cadss_points(snapshot, SETTINGS)).layout.yaxis.rangemode == "tozero"
    response = course.time_to_response_chart(km["curve"], km["summary"], "PHQ-9")
    assert all(layer["encoding"]["y"]["scale"]["domain"] == [0, 100] for layer in response["layer"][:3])
    course_spec = course.trajectory_chart(published.trajectory(snapshot, SETTINGS, "PHQ-9"), "PHQ-9")
    assert all(layer["encoding"]["y"]["scale"]["zero"] is True for layer in course_spec["layer"])
    assert treatment.safety_chart(rates["effects"], rates["bp"], 180, 110, 11).layout.xaxis.rangemode == "tozero"


def test_sentence_case_keeps_names_and_codes():
    from dashboard import theme

    assert theme.sentence("site: Riverside") == "Site: Riverside"
    assert theme.sentence("bP excursion") == "BP excursion" and theme.sentence("") == ""


def test_a_ptsd_patients_course_starts_with_the_pcl5_panel(snapshot):
    """The Patient page's course follows the scales table: the indication's own scale first."""
    from dashboard.charts.patient import trajectory_figure
    from pipelines.analytics.patient import patient_record, scale_bands
    from pipelines.instruments import scale_order

    patient_id = snapshot.execute("""SELECT p.patient_id FROM patients p JOIN scores s USING (patient_id)
                                     WHERE p.primary_indication = 'ptsd' AND s.total IS NOT NULL GROUP BY ALL
                                     HAVING count(DISTINCT s.instrument) >= 2 ORDER BY 1 LIMIT 1""").fetchone()[0]
    record = patient_record(snapshot, SETTINGS, patient_id)
    figure = trajectory_figure(record["scores"], record["sessions"], record["scales"], scale_bands(snapshot),
                               scale_order=scale_order("ptsd"))
    assert figure["vconcat"][0]["title"] == "PCL-5 (PTSD)"
    default = trajectory_figure(record["scores"], record["sessions"], record["scales"], scale_bands(snapshot))
    assert default["vconcat"][0]["title"] == "PHQ-9 (depression)"


def test_the_analysts_coverage_and_completion_tables_read_less_than_eleven(snapshot):
    """Data quality for a role without patient-level access (`reports.quality`): blanked counts
    "suppressed", a blanked share "suppressed", and a number column holding them shown as text."""
    import streamlit as st

    from dashboard.suppressed import table_cells, text_config
    from pipelines.analytics import coverage
    from pipelines.reports.quality import suppressed_completion, suppressed_coverage

    counted = coverage.baseline_coverage(snapshot, SETTINGS)
    shown = table_cells(suppressed_coverage(counted, 11), 11)
    phq9 = shown[shown["instrument"] == "PHQ-9"].iloc[0]
    assert counted.loc[counted["instrument"] == "PHQ-9", "n_without_baseline"].iloc[0] < 11  # why it is blanked
    assert phq9["n_without_baseline"] == "suppressed" and phq9["none_before_start"] == 0
    config = text_config({"n_without_baseline": st.column_config.NumberColumn("Without"),
                          "none_before_start": st.column_config.NumberColumn("None before")}, shown)
    assert config["n_without_baseline"]["type_config"]["type"] == "text"
    assert config["none_before_start"]["type_config"]["type"] == "number"
    completion = suppressed_completion(coverage.completion_by_infusion(snapshot, SETTINGS, scale="GAD-7",
                                                                       max_infusion=12), 11)
    cells = table_cells(completion, 11)
    blanked = completion["n_with_score"].isna()
    assert blanked.any() and (cells.loc[blanked, "n_with_score"] == "suppressed").all()
    assert (cells.loc[blanked, "share"] == "suppressed").all()


def test_blanked_baseline_gaps_are_not_reported_as_none(snapshot):
    """A blanked count (<NA>) is not zero: with every gap on the sample blanked or 0, the chart
    does not say "Every patient has a baseline"."""
    from dashboard.charts.quality import baseline_gaps_chart
    from pipelines.analytics import coverage
    from pipelines.reports.quality import suppressed_coverage

    shown = suppressed_coverage(coverage.baseline_coverage(snapshot, SETTINGS), 11)
    numbers = shown.astype({c: "float64" for c in shown.columns if str(shown[c].dtype) == "Int64"})
    text = baseline_gaps_chart(numbers).layout.annotations[0].text
    assert "too few to show" in text and "Every patient" not in text


def test_hovers_write_blanked_counts_as_suppressed(snapshot):
    """Severity transitions, infusions per patient and retention on the sample: where a count is
    blanked the hover says "suppressed" with its legend, never "None" or nothing."""
    from dashboard.charts import treatment

    moves = published.severity_transitions(snapshot, SETTINGS, "PHQ-9")
    heat = charts.transitions_chart(moves, "PHQ-9", 11).data[0]
    hovers = [h for row in heat.hovertext for h in row]
    blanked = int(moves["n_patients"].isna().sum())
    assert blanked and sum(": patients suppressed (fewer than 11 patients, or a number" in h for h in hovers) == blanked
    counts = published.infusions_distribution(snapshot, SETTINGS)
    bars = treatment.infusions_chart(counts, 6, 11).data[0]
    assert sum("patients suppressed (fewer than 11 patients" in h for h in bars.hovertext) == int(counts["n_patients"].isna().sum()) > 0
    assert not any("None" in h for h in list(bars.hovertext) + hovers)


def test_indications_read_as_words_in_a_comparison(snapshot):
    """Compared by indication, the legend says "PTSD" and "Bipolar depression", not "ptsd"."""
    path = published.trajectory(snapshot, SETTINGS, "PHQ-9", group_by=("primary_indication",))
    spec = course.trajectory_chart(path, "PHQ-9", "primary_indication")
    names = set(spec["encoding"]["color"]["scale"]["domain"])
    assert names == {row["series"] for row in spec["data"]["values"]}
    assert {"PTSD", "Bipolar depression", "Chronic pain", "Depression"} <= names and "ptsd" not in names
