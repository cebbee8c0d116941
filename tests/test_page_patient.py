"""The Patient page (dashboard/views/patient.py) run for real with AppTest: search, opening on
`?patient=<id>`, the header against the database, the printable summary download, and every
empty case with its plain message. Also the summary document itself (dashboard/summary.py).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from conftest import Clinic, assessment, open_page, patient, phq9_items, session
from dashboard.summary import indication, progress_summary_html, safety_flags, sessions_table
from pipelines.analytics.patient import patient_scores, patient_sessions, patient_summary, scale_bands
from pipelines.analytics.progress import scale_status
from pipelines.settings import Settings
from test_analytics_patient import build_clinic

PAGE = "views/patient.py"
ODD_ID = "<b>P&1</b>"


@pytest.fixture
def downloads(monkeypatch):
    """The data callables of deferred downloads (st.download_button(data=callable)), as the
    page registers them: calling one gives the bytes a click would download."""
    registered = []
    original = MediaFileManager.add_deferred

    def record(self, data_callable, *args, **kwargs):
        registered.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return registered


@pytest.fixture(scope="module")
def small_clinic(tmp_path_factory) -> Clinic:
    return build_clinic(tmp_path_factory.mktemp("patient-page"))


@pytest.fixture(scope="module")
def odd_clinic(tmp_path_factory) -> Clinic:
    """One patient whose id is markup: every place it is shown must escape it."""
    clinic = Clinic(tmp_path_factory.mktemp("odd-id"))
    clinic.patients = [patient(ODD_ID)]
    clinic.sessions = [session("S1", "2026-04-06T09:00:00", pid=ODD_ID), session("S2", "2026-04-08T09:00:00", pid=ODD_ID)]
    clinic.assessments = [
        assessment("A1", "2026-04-06T08:30:00", "PHQ-9", phq9_items(18), pid=ODD_ID),
        assessment("A2", "2026-04-08T08:30:00", "PHQ-9", phq9_items(12), pid=ODD_ID),
    ]
    clinic.load()
    return clinic


def infos(app) -> list[str]:
    return [info.value for info in app.info]


def markdown(app) -> str:
    return "\n".join(element.value for element in app.markdown)


def header_line(app) -> str:
    """The patient's facts under the header: plain text (st.text), never Markdown."""
    return "\n".join(element.value for element in app.text)


def record_tables(app) -> list:
    """The record's tables, without the alert history (tests/test_page_acknowledge.py's)."""
    return [table for table in app.dataframe if "Alert" not in table.value.columns]


def metrics(app) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def a_treated_patient(sample) -> tuple[str, str, int]:
    """(id, primary indication, infusions) of the sample patient with the most scales."""
    return sample.execute("""
        SELECT p.patient_id, p.primary_indication, (SELECT count(*) FROM sessions s WHERE s.patient_id = p.patient_id)
        FROM patients AS p
        ORDER BY (SELECT count(DISTINCT instrument) FROM scores s WHERE s.patient_id = p.patient_id) DESC, p.patient_id
        LIMIT 1
    """).fetchall()[0]


# --- the sample clinic ---------------------------------------------------------------------

def test_search_finds_a_patient_and_puts_it_in_the_url(sample_database, sample, monkeypatch):
    patient_id, _, _ = a_treated_patient(sample)
    app = open_page(sample_database, PAGE, monkeypatch)
    assert "Search for a patient" in infos(app)[0]
    app.text_input(key="patient_search").set_value(patient_id[:-1]).run()
    choices = app.selectbox[0]
    assert any(option.startswith(patient_id) for option in choices.options)
    assert len(choices.options) <= 20  # a short list, never the whole clinic
    choices.select(patient_id).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.query_params["patient"] in (patient_id, [patient_id])
    assert app.header[0].value == f"Patient {patient_id}"


def test_query_parameter_opens_the_patient_with_header_facts_from_the_database(sample_database, sample, monkeypatch,
                                                                                downloads):
    patient_id, primary_indication, n_infusions = a_treated_patient(sample)
    app = open_page(sample_database, PAGE, monkeypatch, query={"patient": patient_id})
    shown = metrics(app)
    assert f"Primary indication: {indication(primary_indication)}" in header_line(app)
    assert shown["Infusions so far"] == str(n_infusions)
    assert "Days in treatment" in shown
    assert not app.error and len(record_tables(app)) == 1  # the scales (the infusions are a closed tab)
    # the course: a Vega-Lite chart (no Plotly on the page), a panel per scale in the scales table's order
    (course,) = app.get("vega_lite_chart")
    spec = json.loads(course.proto.spec)
    table = record_tables(app)[0].value
    assert [view["title"] for view in spec["vconcat"]] == table.loc[table["Scores"] > 0, "Scale"].tolist()
    assert not app.get("plotly_chart") and course.proto.alt.startswith("Scores by infusion number")
    # the printable summary, generated as a click would
    document = downloads[-1]().decode("utf-8")
    # the lazy tabs run when opened: the infusions table lists every infusion
    app.session_state["patient_tab"] = "Infusions"
    app.run()
    assert not app.exception and len(record_tables(app)) == 2 and len(record_tables(app)[1].value) == n_infusions
    app.session_state["patient_tab"] = "PHQ-9 items over time"
    app.run()
    assert not app.exception and len(app.get("vega_lite_chart")) == 1 and not app.get("plotly_chart")
    items = json.loads(app.get("vega_lite_chart")[0].proto.spec)
    assert [layer["name"] for layer in items["layer"]][0] == "answers"
    assert app.get("vega_lite_chart")[0].proto.alt.startswith("PHQ-9 answers")
    assert f"Patient <strong>{patient_id}</strong>" in document
    assert "@media print" in document and document.count("<table>") == 2


def test_unknown_patient_id_says_so(sample_database, monkeypatch):
    app = open_page(sample_database, PAGE, monkeypatch, query={"patient": "no-such-patient"})
    assert any("No patient with id" in text for text in infos(app))
    assert not app.header


# --- empty cases ---------------------------------------------------------------------------

def test_empty_database_says_no_patients_are_loaded(empty_database, monkeypatch):
    app = open_page(empty_database, PAGE, monkeypatch, query={"patient": "P1"})
    assert "No patients are loaded yet" in infos(app)[0]


def test_patient_with_one_score_has_no_follow_up_yet(small_clinic, monkeypatch):
    app = open_page(small_clinic.db, PAGE, monkeypatch, query={"patient": "ONE"})
    assert any("Only a baseline so far" in text for text in infos(app))
    assert "Primary indication: PTSD · Site: Northside · Clinician: Dr. Okafor" in header_line(app)


def test_patient_without_scores_says_so(small_clinic, monkeypatch):
    app = open_page(small_clinic.db, PAGE, monkeypatch, query={"patient": "NONE"})
    messages = infos(app)
    assert any("No scores recorded yet" in text for text in messages)
    assert metrics(app)["Infusions so far"] == "1"
    app.session_state["patient_tab"] = "PHQ-9 items over time"
    app.run()
    assert any("No PHQ-9 answers recorded" in text for text in infos(app))


def test_scale_without_a_valid_score_and_a_patient_without_baseline(small_clinic, monkeypatch):
    app = open_page(small_clinic.db, PAGE, monkeypatch, query={"patient": "P1"})
    assert any("never with enough items answered" in text for text in infos(app))  # the incomplete PCL-5
    assert metrics(app)["Infusions so far"] == "3" and metrics(app)["Days in treatment"] == "4"
    app = open_page(small_clinic.db, PAGE, monkeypatch, query={"patient": "NOBASE"})
    assert any("no baseline" in text for text in infos(app))


# --- escaping ------------------------------------------------------------------------------

def test_an_id_written_as_markup_is_escaped_on_the_page_and_in_the_summary(odd_clinic, monkeypatch, downloads):
    app = open_page(odd_clinic.db, PAGE, monkeypatch, query={"patient": ODD_ID})
    assert app.header[0].value == r"Patient \<b\>P\&1\</b\>"  # Markdown shows it literally
    document = downloads[-1]().decode("utf-8")
    assert "&lt;b&gt;P&amp;1&lt;/b&gt;" in document
    assert ODD_ID not in document


# --- the summary document ------------------------------------------------------------------

def test_summary_document_escapes_every_data_value(small_clinic):
    con = small_clinic.connect()
    settings = Settings()
    try:
        summary = patient_summary(con, settings, "P1").iloc[0].copy()
        scales, sessions = scale_status(con, settings, "P1"), patient_sessions(con, settings, "P1")
        scores, bands = patient_scores(con, "P1"), scale_bands(con)
    finally:
        con.close()
    summary["clinician"] = "Dr. <script>alert(1)</script>"
    sessions.loc[2, "adverse_event"] = "<img src=x onerror=alert(1)>"
    document = progress_summary_html(summary, scales, sessions, scores, bands, settings,
                                     dt.datetime(2026, 4, 11, 9, 0))
    assert "<script>" not in document and "<img" not in document
    assert "Dr. &lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&lt;img src=x onerror=alert(1)&gt;" in document
    assert "prepared 11 Apr 2026 09:00" in document
    assert "<td>Response</td>" in document and "185/100" in document  # the responder and the BP excursion


def test_safety_flags_in_words(small_clinic):
    con = small_clinic.connect()
    try:
        p1 = patient_summary(con, Settings(), "P1").iloc[0]
        unknown = patient_summary(con, Settings(), "UNK").iloc[0]
    finally:
        con.close()
    flags = safety_flags(p1, Settings())
    assert ("alert", "Item 9 positive at latest PHQ-9 (thoughts of death or self-harm), 10 Apr 2026") in flags
    assert ("alert", "Reliable deterioration since baseline: GAD-7 (anxiety)") in flags
    assert ("alert", "BP excursion (peak at or above 180/110 mmHg) at 1 of 3 infusions, 8 Apr 2026") in flags
    assert safety_flags(unknown, Settings())[0] == (
        "unknown", "Item 9 unanswered at latest PHQ-9 (safety status unknown), 8 Apr 2026")


def test_sessions_table_has_clinical_column_names(small_clinic):
    con = small_clinic.connect()
    try:
        table = sessions_table(patient_sessions(con, Settings(), "P1"))
    finally:
        con.close()
    assert list(table.columns) == ["Date", "Infusion", "Route", "Dose", "BP before (mmHg)", "BP peak (mmHg)",
                                   "BP excursion", "CADSS", "Side effects", "Adverse event"]
    assert table["BP peak (mmHg)"].tolist() == ["140/88", "185/100", "140/88"]
    assert table["Route"].tolist() == ["IV infusion"] * 3
    assert isinstance(table["Date"].dtype, pd.DatetimeTZDtype) or str(table["Date"].dtype).startswith("datetime64")
