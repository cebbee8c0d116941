"""Defects seen in the browser (issue 16), checked on the real pages (Streamlit's AppTest on the
sample clinic through the real ingest): names keep their capitals, scales are named, not coded,
suppressed cells read "suppressed", the Worklist shows the latest PHQ-9 before its long "Why" text,
and a patient's page lists the indication's own scale first and doses in their unit."""

from __future__ import annotations

import pytest

from conftest import open_page

CLINIC, WORKLIST, PATIENT = "views/clinic.py", "views/worklist.py", "views/patient.py"


def rerun(app):
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_site_names_keep_their_capitals_in_the_caption(sample_database, monkeypatch):
    """str.capitalize lowered "Riverside" in "Site: riverside"."""
    app = open_page(sample_database, CLINIC, monkeypatch, timeout=120)
    app.multiselect(key="filter_sites").set_value(["Riverside"])
    caption = " ".join(c.value for c in rerun(app).caption)
    assert "Riverside" in caption and "riverside" not in caption


def test_a_scale_is_named_not_coded(sample_database, monkeypatch):
    """Pain is "Pain (0-10)" on the cards and in messages, never the code PAIN-NRS."""
    app = open_page(sample_database, CLINIC, monkeypatch, timeout=120)
    app.selectbox(key="clinic_scale").set_value("PAIN-NRS")
    rerun(app)
    labels = [m.label for m in app.metric]
    assert "Pain (0-10) before infusion" in labels
    texts = [m.label for m in app.metric] + [i.value for i in app.info] + [c.value for c in app.caption]
    assert not any("PAIN-NRS" in text for text in texts)


def test_the_safety_table_writes_a_suppressed_count_as_less_than_eleven(sample_database, monkeypatch):
    """The sample has fewer than 11 infusions with an adverse event: "suppressed", not None."""
    app = open_page(sample_database, CLINIC, monkeypatch, timeout=120)
    app.session_state["clinic_tab"] = "Safety"
    rerun(app)
    table = next(d.value for d in app.dataframe if "Event" in d.value.columns)
    row = table[table["Event"] == "Adverse event (any)"].iloc[0]
    assert row["Infusions affected"] == "suppressed" and row["Per 100 infusions"] == "suppressed"
    assert "BP excursion (peak ≥ 180/110 mmHg)" in set(table["Event"])  # "BP" not lowered to "Bp"


def test_the_trend_tab_shows_quarters_with_rates(sample_database, monkeypatch):
    app = open_page(sample_database, CLINIC, monkeypatch, timeout=120)
    app.session_state["clinic_tab"] = "Trend by start month"
    rerun(app)
    table = next(d.value for d in app.dataframe if "Quarter of first infusion" in d.value.columns)
    assert "2025 Q1" in set(table["Quarter of first infusion"])
    rates = table["Response rate (%)"]
    assert (rates != "suppressed").sum() >= len(table) / 2 and rates[rates != "suppressed"].astype(float).between(0, 100).all()
    assert not table.isna().any().any()  # every cell says something: a number or "suppressed"


def test_the_worklist_shows_the_latest_phq9_before_the_reasons(sample_database, monkeypatch):
    app = open_page(sample_database, WORKLIST, monkeypatch, timeout=120)
    columns = list(app.dataframe[0].value.columns)
    assert columns.index("latest_phq9_score") < columns.index("reasons_text")


@pytest.mark.parametrize("indication, first", [("ptsd", "PCL-5 (PTSD)"), ("anxiety", "GAD-7 (anxiety)"),
                                               ("depression", "PHQ-9 (depression)")])
def test_the_patient_scales_table_starts_with_the_indications_own_scale(sample_database, sample, monkeypatch,
                                                                       indication, first):
    patient_id = sample.execute("""
        SELECT p.patient_id FROM patients p JOIN scores s USING (patient_id)
        WHERE p.primary_indication = ? AND s.total IS NOT NULL GROUP BY ALL
        HAVING count(DISTINCT s.instrument) >= 2 ORDER BY 1 LIMIT 1""", [indication]).fetchone()[0]
    app = open_page(sample_database, PATIENT, monkeypatch, query={"patient": patient_id}, timeout=120)
    table = next(d.value for d in app.dataframe if "Scale" in d.value.columns)
    assert table["Scale"].iloc[0] == first


def test_intranasal_doses_show_in_mg_on_the_infusions_tab(sample_database, sample, monkeypatch):
    patient_id, mg = sample.execute("""SELECT patient_id, any_value(dose_mg) FROM sessions WHERE route = 'intranasal'
                                       GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1""").fetchone()
    app = open_page(sample_database, PATIENT, monkeypatch, query={"patient": patient_id}, timeout=120)
    app.session_state["patient_tab"] = "Infusions"
    rerun(app)
    table = next(d.value for d in app.dataframe if "Dose" in d.value.columns)
    nasal = table[table["Route"] == "Intranasal (esketamine)"]
    assert len(nasal) and nasal["Dose"].str.fullmatch(r"\d+ mg").all() and f"{mg:g} mg" in set(nasal["Dose"])
