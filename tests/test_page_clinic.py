"""The Clinic outcomes page (dashboard/views/clinic.py) run for real with AppTest on the sample
clinic: it renders, its KPI cards show what the analytics return for the same filter, a site
filter moves them as `cohort_outcomes` says, small groups are suppressed, every table can be
downloaded, a cohort of fewer than 11 patients shows no figure, and a filter matching nobody or
an empty database gives a plain message. (Recovering suppressed counts from the page's tables and
CSVs is attacked in test_suppression.py on a clinic built for it.)"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from conftest import APP, only_row
from dashboard.display import LONG_TEXT
from pipelines.analytics.activity import activity
from pipelines.analytics.coverage import assessment_completion
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.outcomes import cohort_outcomes
from pipelines.settings import Settings

SETTINGS = Settings()
RIVERSIDE = CohortFilter(sites=("Riverside",))


def open_clinic(db, monkeypatch) -> AppTest:
    """The real app switched straight to the clinic page (skipping the default page's run)."""
    monkeypatch.setenv("OUTCOMES_DB", str(db))
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.switch_page("views/clinic.py")
    return rerun(app)


def rerun(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def percent(value) -> str:
    return f"{100 * value:.1f}%"


@pytest.fixture(scope="module")
def page(sample_database):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield open_clinic(sample_database, monkeypatch)


def test_page_renders_every_section(page):
    assert page.title[0].value == "Clinic outcomes"
    assert not page.error and not page.info, [i.value for i in page.info]
    assert set(metrics(page)) == {"Active patients", "New starts", "Infusions delivered", "PHQ-9 (depression) before infusion",
                                  "Response rate", "Remission rate", "Median change",
                                  # the rates on two bases (tests/test_page_clinic_bases.py)
                                  "Response (Completers)", "Remission (Completers)", "Response (ITT)",
                                  "Remission (ITT)"}
    assert len(page.tabs) == 7
    # the page opens on one figure, the trajectory, in Vega-Lite (no Plotly figure: its script is
    # 4.7 MB, docs/scaling.md): the others are drawn when their tab is opened
    [course] = page.get("vega_lite_chart")
    assert not page.get("plotly_chart")
    assert '"PHQ-9 (depression) by infusion"' in course.proto.spec
    assert course.proto.alt.startswith("Mean PHQ-9 (depression) score before each infusion")  # its accessible name
    # and on no data grid: the tables of its first view are in expanders that run when opened
    assert not page.dataframe
    assert page.selectbox(key="clinic_scale").value == "PHQ-9"


def test_kpis_are_the_analytics_numbers(page, sample):
    shown = metrics(page)
    busy = only_row(activity(sample, SETTINGS))
    outcome = only_row(cohort_outcomes(sample, SETTINGS, "PHQ-9"))
    completion = only_row(assessment_completion(sample, SETTINGS, "PHQ-9"))
    assert shown["Active patients"] == str(busy.active_patients)
    assert shown["New starts"] == str(busy.new_starts)
    assert shown["Infusions delivered"] == f"{busy.infusions:,}"
    assert shown["PHQ-9 (depression) before infusion"] == percent(completion.rate)
    assert shown["Response rate"] == percent(outcome.response_rate)
    assert shown["Remission rate"] == percent(outcome.remission_rate)
    assert shown["Median change"] == f"{outcome.median_change:+.1f} points"
    response = next(m for m in page.metric if m.label == "Response rate")
    assert f"n = {outcome.n_evaluable} patients" in response.proto.delta
    assert f"{100 * outcome.response_low:.1f}–{100 * outcome.response_high:.1f}%" in response.proto.delta


OPENED_EXPANDERS = ("clinic_like_with_like", "clinic_trajectory_table")
TABS = ["Course", "Time to response", "Change per patient", "Clinicians and sites", "Trend by start month",
        "Retention", "Safety"]


def test_every_table_can_be_downloaded(page):
    """Tabs are lazy (only the open one runs), so each tab is opened in turn."""
    labels, tables, buttons = set(), 0, 0
    for expander in OPENED_EXPANDERS:  # lazy expanders: their tables are sent when opened
        page.session_state[expander] = True
    for tab in TABS:
        page.session_state["clinic_tab"] = tab
        page.run()
        assert not page.exception, [e.value for e in page.exception]
        labels |= {b.label for b in page.download_button}
        tables += len(page.dataframe)
        buttons += sum(1 for b in page.download_button if not b.label.startswith("One-page report"))  # not tables
    page.session_state["clinic_tab"] = TABS[0]
    for expander in OPENED_EXPANDERS:
        page.session_state[expander] = False
    page.run()
    # the sample's months are too small to show a rate: the trend is by start quarter
    for table in ("outcomes by clinician", "outcomes by site", "outcomes by start quarter", "waterfall",
                  "severity transitions", "trajectory", "depression and other indications", "time to response",
                  "retention", "infusions per patient",
                  "safety", "CADSS by infusion"):
        assert f"Download {table} (CSV)" in labels
    assert tables == buttons


def test_a_long_label_gets_a_wide_column(page):
    """The Safety table's BP excursion row names its thresholds; the grid's own sizing cut it
    short in the browser, so a text column holding a long value is drawn wide, and only such a
    column: the table's numbers, and its cells reading "suppressed", keep the grid's sizing."""
    page.session_state["clinic_tab"] = "Safety"
    page.run()
    safety = next(d for d in page.dataframe if "Event" in d.value.columns)
    label = next(e for e in safety.value["Event"] if e.startswith("BP excursion"))
    assert len(label) > LONG_TEXT
    config = json.loads(safety.proto.columns)
    assert config["Event"]["width"] == "large"
    assert set(config) - {"_index"} == {"Event"}, config
    page.session_state["clinic_tab"] = TABS[0]
    page.run()


def test_site_filter_changes_the_numbers_as_cohort_outcomes_says(sample_database, sample, monkeypatch):
    app = open_clinic(sample_database, monkeypatch)
    everyone = metrics(app)
    app.multiselect(key="filter_sites").set_value(["Riverside"])
    river = metrics(rerun(app))
    expected = only_row(cohort_outcomes(sample, SETTINGS, "PHQ-9", cohort=RIVERSIDE))
    busy = only_row(activity(sample, SETTINGS, RIVERSIDE))
    assert river["Response rate"] == percent(expected.response_rate) != everyone["Response rate"]
    assert river["Remission rate"] == percent(expected.remission_rate)
    assert river["Infusions delivered"] == f"{busy.infusions:,}" != everyone["Infusions delivered"]
    # Riverside's patients of Dr. Okafor, Dr. Reyes and Dr. Natarajan are fewer than 11: their
    # rows say so and show no numbers
    app.session_state["clinic_tab"] = "Clinicians and sites"
    rerun(app)
    table = next(d.value for d in app.dataframe if "Clinician" in d.value.columns)
    small = table[table["Patients evaluated"] == "suppressed"]
    assert set(small["Clinician"]) == {"Dr. Amara Okafor", "Dr. Daniel Reyes", "Dr. Priya Natarajan"}
    assert (small["Response rate (%)"] == "suppressed").all() and (small["Response (patients)"] == "suppressed").all()
    shown = table[table["Patients evaluated"] != "suppressed"]
    assert len(shown) == 2 and (shown["Response rate (%)"].notna()).all()


def test_a_cohort_of_fewer_than_eleven_shows_no_figure(sample_database, sample, monkeypatch):
    # a site and clinician pair of the sample with 1 to 10 treated patients
    site, clinician, n = sample.execute("""
        SELECT site, clinician, count(*) AS n FROM patient_cohorts GROUP BY ALL
        HAVING count(*) BETWEEN 1 AND 10 ORDER BY n, site, clinician LIMIT 1""").fetchone()
    app = open_clinic(sample_database, monkeypatch)
    app.multiselect(key="filter_sites").set_value([site])
    app.multiselect(key="filter_clinicians").set_value([clinician])
    rerun(app)
    assert any("Fewer than 11 patients in this cohort" in info.value for info in app.info)
    assert not app.metric and not app.dataframe and not app.download_button
    assert not any(str(n) in caption.value for caption in app.caption)


def test_a_filter_matching_nobody_says_so(sample_database, sample, monkeypatch):
    # a day in the sample's range on which no patient had a first infusion
    [(day,)] = sample.execute("""
        SELECT min(d)::DATE FROM range((SELECT min(first_session_at)::DATE FROM patient_cohorts)::TIMESTAMP,
                                      (SELECT max(first_session_at)::DATE FROM patient_cohorts)::TIMESTAMP,
                                      INTERVAL 1 DAY) AS t(d)
        WHERE d::DATE NOT IN (SELECT first_session_at::DATE FROM patient_cohorts)""").fetchall()
    app = open_clinic(sample_database, monkeypatch)
    app.date_input(key="filter_dates").set_value((day, day))
    rerun(app)
    assert "No treated patient matches this filter" in app.info[0].value
    assert not app.metric and not app.error


def test_a_scale_without_data_in_the_cohort_is_not_offered(sample_database, sample, monkeypatch):
    app = open_clinic(sample_database, monkeypatch)
    app.multiselect(key="filter_indications").set_value(["chronic_pain"])
    rerun(app)
    [(with_gad7,)] = sample.execute("""
        SELECT count(*) FROM patient_outcomes o JOIN patient_cohorts c USING (patient_id)
        WHERE o.instrument = 'GAD-7' AND c.primary_indication = 'chronic_pain'""").fetchall()
    assert ("GAD-7" in app.selectbox(key="clinic_scale").options) == (with_gad7 > 0)
    app.selectbox(key="clinic_scale").set_value("PAIN-NRS")
    rerun(app)
    assert metrics(app)["Remission rate"] == "—"  # pain has no remission
    assert not app.error


def test_an_empty_database_shows_a_message(empty_database, monkeypatch):
    app = open_clinic(empty_database, monkeypatch)
    assert app.info and "No patient has had an infusion yet" in app.info[0].value
    assert not app.metric


def test_after_induction_and_a_trajectory_comparison(sample_database, sample, monkeypatch):
    app = open_clinic(sample_database, monkeypatch)
    app.radio(key="clinic_timepoint").set_value("after_induction")
    app.selectbox(key="clinic_trajectory_group").set_value("site")
    app.session_state["clinic_trajectory_table"] = True  # the lazy expander of the trajectory's table
    rerun(app)
    expected = only_row(cohort_outcomes(sample, SETTINGS, "PHQ-9", timepoint="after_induction"))
    assert metrics(app)["Response rate"] == percent(expected.response_rate)
    trajectory = next(d.value for d in app.dataframe if "Score before infusion" in d.value.columns)
    assert set(trajectory["Site"]) == {"Northside", "Riverside"}
