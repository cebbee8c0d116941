"""The Worklist page (dashboard/views/worklist.py) run for real with AppTest on the sample clinic:
it shows exactly the worklist's patients in its order, each with a link to the Patient page,
narrows by reason and site, says what "as of" means, and says so when nobody matches."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from conftest import SAMPLE_TODAY, open_page, patient, session
from pipelines.analytics.alerts import acknowledged_alerts, alert_events, open_worklist, raised_alerts
from pipelines.analytics.cohorts import IN_TREATMENT, CohortFilter, status_filter
from pipelines.analytics.worklist import REASON_COLUMNS, worklist
from pipelines.settings import Settings

PAGE = "views/worklist.py"
SETTINGS = Settings()
NO_ACKS = pd.DataFrame(columns=["patient_id", "reason", "event_key", "action", "note", "acknowledged_by", "role",
                                "acknowledged_at"])


def as_ordered(sample, frame):
    """The worklist as the page orders it with no alert acknowledged (item 9 first:
    pipelines.analytics.alerts.open_worklist; acknowledging is tests/test_page_acknowledge.py's)."""
    return open_worklist(frame, acknowledged_alerts(raised_alerts(frame, alert_events(sample, SETTINGS)), NO_ACKS))
TODAY = dt.date.fromisoformat(SAMPLE_TODAY)  # the pages are opened the morning after the sample ends


def in_treatment(cohort: CohortFilter = CohortFilter()) -> CohortFilter:
    """The page's default: patients in induction or maintenance today."""
    return status_filter(cohort, SETTINGS, TODAY, IN_TREATMENT)


@pytest.fixture(scope="module")
def expected(sample):
    return as_ordered(sample, worklist(sample, SETTINGS, as_of=TODAY, cohort=in_treatment()))


@pytest.fixture(scope="module")
def page(sample_database):
    """The page as it first opens (read-only checks share one run)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield open_page(sample_database, PAGE, monkeypatch)


def shown(app):
    return app.dataframe[0].value


def column_config(app) -> dict:
    return json.loads(app.dataframe[0].proto.columns)


def test_the_page_lists_every_patient_of_the_worklist_most_urgent_first(page, expected):
    app = page
    table = shown(app)
    assert len(table) == len(expected) > 0
    assert table["n_reasons"].tolist() == expected["n_reasons"].tolist()
    assert table["reasons_text"].tolist() == ["; ".join(reasons) for reasons in expected["reasons"]]
    assert app.metric[0].value == f"{len(expected):,}"
    assert app.get("download_button")[0].label == "Download the list (CSV)"


def test_each_patient_links_to_the_patient_page_with_the_id_as_query_parameter(page, expected):
    app = page
    links = shown(app)["patient"].tolist()
    assert links == [f"patient?patient={pid}" for pid in expected["patient_id"]]
    config = column_config(app)["patient"]
    assert config["type_config"]["type"] == "link"
    # the cell shows the id: the display pattern's group picks it out of the URL
    pattern = config["type_config"]["display_text"]
    assert [re.search(pattern, link).group(1) for link in links[:5]] == expected["patient_id"].head(5).tolist()


def test_headers_are_clinical_words_not_column_names(page):
    app = page
    config = {name: column for name, column in column_config(app).items() if name != "_index"}
    assert list(config) == shown(app).columns.tolist()  # every column shown has a header
    labels = [column["label"] for column in config.values()]
    assert labels[:5] == ["Patient", "Reasons", "Latest PHQ-9", "PHQ-9 taken", "Why"]  # the score before the long text
    assert not any("_" in label for label in labels)


def test_the_as_of_date_is_shown_with_what_it_means(page, expected):
    as_of = expected.attrs["as_of"]
    app = page
    caption = next(c.value for c in app.caption if "as of" in c.value.lower() or f"{as_of.year}" in c.value)
    assert f"{as_of:%A} {as_of.day} {as_of:%B %Y}" in caption
    assert "today at the clinic" in caption and "PHQ-9 overdue" in caption


def test_the_reason_filter_narrows_to_patients_with_any_chosen_reason(sample_database, monkeypatch, expected):
    app = open_page(sample_database, PAGE, monkeypatch)
    app.multiselect(key="worklist_reasons").select("item9_positive").run()
    table = shown(app)
    assert len(table) == int(expected["item9_positive"].sum()) > 0
    assert all(text.startswith("item 9 positive") for text in table["reasons_text"])
    # a second reason that adds patients (among those in treatment the morning after the sample ends)
    second = next(r for r in REASON_COLUMNS[1:] if (expected[r] & ~expected["item9_positive"]).any())
    app.multiselect(key="worklist_reasons").select(second).run()
    either = expected["item9_positive"] | expected[second]
    assert len(shown(app)) == int(either.sum()) > int(expected["item9_positive"].sum())


def test_the_site_filter_gives_that_sites_worklist(sample_database, monkeypatch, sample):
    riverside = as_ordered(sample, worklist(sample, SETTINGS, as_of=TODAY, cohort=in_treatment(CohortFilter(sites=("Riverside",)))))
    app = open_page(sample_database, PAGE, monkeypatch)
    app.multiselect(key="filter_sites").select("Riverside").run()
    table = shown(app)
    assert table["patient"].tolist() == [f"patient?patient={pid}" for pid in riverside["patient_id"]]
    assert set(table["site"]) == {"Riverside"}


def test_a_filter_that_matches_nobody_says_so(sample_database, monkeypatch, expected):
    site, reason = next((site, reason) for site in ("Northside", "Riverside") for reason in REASON_COLUMNS
                        if not (expected.loc[expected["site"] == site, reason]).any())
    app = open_page(sample_database, PAGE, monkeypatch)
    app.multiselect(key="filter_sites").select(site).run()
    app.multiselect(key="worklist_reasons").select(reason).run()
    assert not app.exception
    assert not app.dataframe
    assert "Nobody matches" in app.info[0].value


def test_an_empty_database_says_nobody_is_on_the_worklist(empty_database, monkeypatch):
    app = open_page(empty_database, PAGE, monkeypatch)
    assert not app.dataframe
    assert "No infusions are loaded yet" in app.info[0].value


def test_following_a_link_opens_the_patient_page_on_that_patient(page, sample_database, monkeypatch):
    link = shown(page)["patient"].iloc[0]
    parts = urlsplit(link)
    assert parts.path == "patient"  # relative: the browser resolves it next to …/worklist
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    app = open_page(sample_database, "views/patient.py", monkeypatch, query=query)
    headings = [element.value for element in (*app.title, *app.header, *app.subheader)]
    assert any(query["patient"] in heading for heading in headings), headings


def test_ids_that_need_it_are_url_encoded_in_the_link(clinic, monkeypatch):
    # One treated patient without any PHQ-9 (on the list: no baseline), whose id holds "/", "&"
    # and a space: unencoded, "&" would end the query parameter.
    odd = "07/A&B 1"
    clinic.patients = [patient(odd)]
    clinic.sessions = [session("S1", "2025-03-03T09:00:00", pid=odd)]
    clinic.load()
    app = open_page(clinic.db, PAGE, monkeypatch, today="2025-03-04")  # in induction the day after
    [link] = shown(app)["patient"].tolist()
    assert link == "patient?patient=07%2FA%26B%201"
    assert parse_qs(urlsplit(link).query) == {"patient": [odd]}


# --- who is listed: patients in treatment by default, everyone with the switch -------------


def test_the_list_holds_patients_in_treatment_by_default_and_says_so(page, sample):
    everyone = as_ordered(sample, worklist(sample, SETTINGS, as_of=TODAY))
    assert len(shown(page)) < len(everyone)  # the sample holds many patients whose treatment ended
    assert any("patients in treatment" in c.value for c in page.caption)
    assert page.toggle(key="worklist_everyone").value is False


def test_the_switch_shows_everyone_and_says_so(sample_database, monkeypatch, sample):
    everyone = as_ordered(sample, worklist(sample, SETTINGS, as_of=TODAY))
    app = open_page(sample_database, PAGE, monkeypatch)
    app.toggle(key="worklist_everyone").set_value(True).run()
    assert shown(app)["patient"].tolist() == [f"patient?patient={pid}" for pid in everyone["patient_id"]]
    assert any("everyone ever treated" in c.value for c in app.caption)
