"""The Clinic outcomes page's sections on denominators (dashboard/views/clinic_bases.py), run for
real with AppTest on the sample: the rates on each basis with their denominators, the basis
choice, unipolar depression apart from the other indications, the cumulative incidence beside
Kaplan-Meier, and durability (on the Time to response tab), each equal to what pipelines.reports returns."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import only_row
from dashboard import theme
from pipelines.reports.headline import headline_by_indication, headline_rates
from pipelines.reports.response_course import durability
from pipelines.settings import Settings
from test_page_clinic import metrics, open_clinic, percent, rerun

SETTINGS = Settings()


@pytest.fixture(scope="module")
def page(sample_database):
    """The page with its like-with-like expander opened (lazy: its table is sent when opened)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        app = open_clinic(sample_database, monkeypatch)
        app.session_state["clinic_like_with_like"] = True
        yield rerun(app)


def metric(app, label):
    return next(m for m in app.metric if m.label == label)


def test_completers_and_itt_side_by_side_with_their_denominators(page, sample):
    rates = headline_rates(sample, SETTINGS, "PHQ-9", timepoint="latest").set_index("basis")
    shown = metrics(page)
    assert shown["Response (Completers)"] == percent(rates.loc["completers", "response_rate"])
    assert shown["Response (ITT)"] == percent(rates.loc["itt", "response_rate"])
    assert shown["Remission (ITT)"] == percent(rates.loc["itt", "remission_rate"])
    itt = rates.loc["itt"]
    # e.g. "ITT: 119 of 276 who started with PHQ-9 ≥ 10"
    captions = [c.value for c in page.caption]
    assert f"ITT: {itt.responders} of {itt.n} who started with PHQ-9 ≥ 10" in captions
    completers = rates.loc["completers"]
    assert (f"Completers: {completers.responders} of {completers.n} who started with PHQ-9 ≥ 10 and had a "
            "later score") in captions
    assert metric(page, "Response (ITT)").proto.delta == \
        f"95% CI {100 * itt.response_low:.1f}–{100 * itt.response_high:.1f}%"
    assert any("Why the figures differ" in m.value for m in page.markdown)


def test_the_basis_choice_shows_last_observation_carried_forward(sample_database, sample, monkeypatch):
    app = open_clinic(sample_database, monkeypatch)
    app.radio(key="clinic_timepoint").set_value("after_induction")
    app.radio(key="clinic_basis").set_value("all")
    shown = metrics(rerun(app))
    rates = headline_rates(sample, SETTINGS, "PHQ-9", timepoint="after_induction",
                           basis=("completers", "itt", "locf")).set_index("basis")
    for basis, short in (("completers", "Completers"), ("itt", "ITT"), ("locf", "LOCF")):
        assert shown[f"Response ({short})"] == percent(rates.loc[basis, "response_rate"])
    # after induction on the sample: 56.9% of completers, 44.9% ITT (115 of 256: 20 of the 276
    # are still in induction without a score, not yet due), 48.4% LOCF
    assert shown["Response (Completers)"] == "56.9%" and shown["Response (ITT)"] == "44.9%"
    captions = [c.value for c in app.caption]
    assert "ITT: 115 of 256 who started with PHQ-9 ≥ 10; 20 not yet due (still in induction)" in captions


def test_depression_is_shown_apart_from_other_indications(page, sample):
    table = next(d.value for d in page.dataframe if "Indication" in d.value.columns)
    expected = headline_by_indication(sample, SETTINGS, "PHQ-9")
    assert list(table["Indication"].unique()) == ["Unipolar depression", "Other indications"]
    shown = pd.to_numeric(table["Response rate (%)"], errors="coerce")  # a blanked rate reads "suppressed"
    assert shown.tolist() == pytest.approx((100 * expected["response_rate"]).round(1).tolist(), nan_ok=True)
    # at the latest score 9 unipolar-depression patients have no score: the ITT rows are hidden
    # (their n beside the completers' would tell), and the table says why
    hidden = table[table["Note"] != ""]
    assert len(hidden) == 2 and (hidden["Response rate (%)"] == "suppressed").all()
    assert (hidden["Basis"] == "Intention to treat").all()


def test_cumulative_incidence_and_durability_in_the_time_to_response_tab(sample_database, sample, monkeypatch):
    page = open_clinic(sample_database, monkeypatch)
    assert not any(m.label.startswith("Still responding") for m in page.metric)  # not on the first tab
    page.session_state["clinic_tab"] = "Time to response"
    rerun(page)
    assert not page.get("plotly_chart")  # the tab loads no Plotly (its script is 4.7 MB)
    specs = [json.loads(c.proto.spec) for c in page.get("vega_lite_chart")]
    name = theme.scale_name("PHQ-9")
    assert [spec["title"] for spec in specs] == [f"Time to response, {name}",
                                                 f"Time to response with stopping treatment, {name}"]
    assert any("Cumulative incidence" in m.value and "Kaplan-Meier" in m.value for m in page.markdown)
    four = only_row(durability(sample, SETTINGS).query("weeks == 4"))
    card = metric(page, "Still responding at 4 weeks")
    # blanked ("—") when fewer than 11 responders are followed to 4 weeks or lost by then
    assert card.value == ("—" if pd.isna(four.still_responding) else f"{100 * four.still_responding:.0f}%")
    assert f"n = {four.responders} responders" in card.proto.delta


@pytest.fixture
def downloads(monkeypatch):
    """Every CSV the page hands to st.download_button: {file name: text}."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    captured = {}
    original = MediaFileManager.add

    def record(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name and isinstance(path_or_data, bytes):
            captured[file_name] = path_or_data.decode("utf-8")
        return original(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", record)
    return captured


@pytest.mark.parametrize("sites", [[], ["Riverside"]])
def test_new_csvs_hold_no_small_count(sample_database, monkeypatch, downloads, sites):
    import io

    import pandas as pd
    app = open_clinic(sample_database, monkeypatch)
    app.multiselect(key="filter_sites").set_value(sites)
    app.session_state["clinic_tab"] = "Time to response"  # where the cumulative incidence is
    app.session_state["clinic_like_with_like"] = True  # the expander of the indication groups' table
    rerun(app)
    groups = pd.read_csv(io.StringIO(downloads["outcomes_by_indication_group.csv"]))
    counts = pd.concat([pd.to_numeric(groups[c], errors="coerce")
                        for c in ("Patients counted", "Responded", "Remitted")])
    assert not ((counts >= 1) & (counts < 11)).any()
    if "cumulative_incidence_of_response.csv" in downloads:
        curve = pd.read_csv(io.StringIO(downloads["cumulative_incidence_of_response.csv"]))
        followed = curve["Patients still followed"]
        assert (followed >= 11).all() and (followed.diff().dropna() <= -11).all()
