"""Quarantine what is wrong, load what is incomplete (issue 14).

A blank indication, intake date, birth year, route or dose is a gap in the record, not an error:
the row loads with the value unknown, the patient counts in every outcome, and the infusion
counts as an infusion. A value that is there and wrong is still quarantined (tests/test_quarantine.py).
"""

from __future__ import annotations

from conftest import assessment, patient, phq9_items, session


def test_a_patient_without_indication_intake_or_birth_year_loads_and_counts_in_outcomes(clinic):
    clinic.patients = [patient(indication="", intake="", birth_year="")]
    clinic.sessions = [session(f"S{k}", f"2025-01-{k + 5:02d}T09:00:00") for k in range(1, 7)]
    # baseline 18 before infusion 1, then 8 after infusion 6: a 56% drop (>= 50%: response;
    # Kroenke 2001 / clinical reference "Response"), not below 5 (no remission)
    clinic.assessments = [assessment("A1", "2025-01-06T08:30:00", "PHQ-9", phq9_items(18)),
                          assessment("A2", "2025-01-12T08:30:00", "PHQ-9", phq9_items(8))]
    run = clinic.load()
    assert run.totals.quarantined == 0
    loaded = clinic.one("SELECT primary_indication, intake_date, birth_year FROM patients")
    assert (loaded.primary_indication, loaded.intake_date, loaded.birth_year) == (None, None, None)
    outcome = clinic.one("SELECT baseline_score, latest_score, response, remission FROM patient_outcomes "
                         "WHERE instrument = 'PHQ-9'")
    assert (outcome.baseline_score, outcome.latest_score, outcome.response, outcome.remission) == (18, 8, True, False)
    cohort = clinic.one("SELECT primary_indication, age_band, n_sessions FROM patient_cohorts")
    assert (cohort.primary_indication, cohort.age_band, cohort.n_sessions) == (None, None, 6)


def test_an_infusion_without_dose_or_route_loads_and_counts_as_an_infusion(clinic):
    clinic.sessions = [session("S1", "2025-01-06T09:00:00", dose=35, weight=70),
                       session("S2", "2025-01-08T09:00:00", dose="", route=""),
                       session("S3", "2025-01-10T09:00:00", dose=42, weight=70)]
    run = clinic.load()
    assert run.totals.quarantined == 0
    rows = clinic.rows("SELECT session_id, route, dose_mg FROM sessions ORDER BY session_id")
    assert [(r.session_id, r.route, r.dose_mg) for r in rows] == [("S1", "iv", 35), ("S2", None, None),
                                                                  ("S3", "iv", 42)]
    cohort = clinic.one("SELECT n_sessions, mean_dose_mg_per_kg FROM patient_cohorts")
    # the mean dose leaves the infusion without a dose out: (35/70 + 42/70) / 2 = 0.55 mg/kg
    assert cohort.n_sessions == 3 and cohort.mean_dose_mg_per_kg == 0.55


def test_without_intake_date_the_first_infusion_stands_in_for_the_before_intake_check(clinic):
    clinic.patients = [patient(intake="")]
    clinic.sessions = [session("S1", "2025-01-06T09:00:00")]
    # 2023-12-01 is 402 days before the first infusion (2025-01-06): more than 365
    clinic.assessments = [assessment("A1", "2025-01-06T08:30:00", "PHQ-9", phq9_items(18)),
                          assessment("A2", "2023-12-01T10:00:00", "PHQ-9", phq9_items(10)),
                          assessment("A3", "2024-02-01T10:00:00", "PHQ-9", phq9_items(10))]
    run = clinic.load()
    assert run.totals.quarantined == 1
    row = clinic.one("SELECT source_row, rules, reason FROM quarantine")
    assert row.source_row == 2 and row.rules == ["before_intake"]
    assert "more than 365 days before the first infusion on 2025-01-06" in row.reason


def test_a_value_that_is_there_and_wrong_is_still_quarantined(clinic):
    clinic.patients = [patient(), patient(pid="002", indication="flu", intake="")]
    clinic.sessions = [session("S1", "2025-01-06T09:00:00"), session("S2", "2025-01-07T09:00:00", route="oral", dose="")]
    run = clinic.load()
    rules = sorted(rule for r in clinic.rows("SELECT rules FROM quarantine") for rule in r.rules)
    assert rules == ["unknown_code", "unknown_code"] and run.totals.quarantined == 2


# --- the gap, made visible -----------------------------------------------------------------------

def clinic_with_gaps(clinic):
    """24 patients with one infusion each: P01-P12 without an indication (P01 without intake date
    too), P13-P24 with one; P13's infusion has no dose and P14's no route or weight."""
    clinic.patients = [patient(pid=f"P{k:02d}", indication="" if k <= 12 else "depression",
                               intake="" if k == 1 else "2025-01-02") for k in range(1, 25)]
    clinic.sessions = [session(f"S{k:02d}", "2025-01-06T09:00:00", pid=f"P{k:02d}",
                               dose="" if k == 13 else 35, route="" if k == 14 else "iv",
                               weight="" if k == 14 else 70) for k in range(1, 25)]
    clinic.load()
    return clinic


def test_missing_values_are_counted_by_field_and_listed_with_their_source_row(clinic):
    from pipelines.analytics import completeness

    con = clinic_with_gaps(clinic).connect()
    counts = completeness.missing_by_field(con).set_index(["kind", "field"])
    # 24 patients: 12 without indication, 1 without intake date; 24 infusions: one without a
    # dose (S13), one without route and weight (S14)
    assert counts.loc[("patients", "primary_indication"), ["n_records", "n_missing", "n_patients"]].tolist() == [24, 12, 12]
    assert counts.loc[("patients", "primary_indication"), "share"] == 0.5
    assert counts.loc[("patients", "intake_date"), "n_missing"] == 1
    assert counts.loc[("patients", "birth_year"), "n_missing"] == 0
    assert counts.loc[("sessions", "dose_mg"), ["n_records", "n_missing"]].tolist() == [24, 1]
    assert counts.loc[("sessions", "route"), "n_missing"] == 1 and counts.loc[("sessions", "weight_kg"), "n_missing"] == 1
    records = completeness.incomplete_records(con, fields=("dose_mg", "route"))
    assert [(r.record_key, r.field, r.source_row) for r in records.itertuples()] == [("S13", "dose_mg", 13),
                                                                                     ("S14", "route", 14)]


def test_an_analyst_sees_counts_of_patients_missing_a_field_only_when_not_small():
    import pandas as pd

    from pipelines.reports.quality import suppressed_missing

    missing = pd.DataFrame({"kind": ["patients", "patients", "patients", "sessions"],
                            "field": ["primary_indication", "intake_date", "site", "dose_mg"],
                            "n_records": [24, 24, 24, 300], "n_missing": [12, 3, 20, 4], "n_patients": [12, 3, 20, 4],
                            "share": [0.5, 0.125, 20 / 24, 4 / 300], "effect": [""] * 4})
    shown = suppressed_missing(missing, min_cell=11)
    # 12 of 24: both 12 and the 12 others are safe; 3 is small; 20 missing leaves 4 having it:
    # small by subtraction; 4 infusions are not patients, but the 4 patients concerned are
    assert list(shown.n_missing.isna()) == [False, True, True, False]
    assert list(shown.n_patients.isna()) == [False, True, True, True]
    assert shown.n_missing.iloc[3] == 4 and shown.share.isna().tolist() == [False, True, True, False]


def test_the_clinic_page_says_how_many_patients_have_no_indication(clinic, monkeypatch):
    from conftest import open_page

    clinic_with_gaps(clinic)
    app = open_page(clinic.db, "views/clinic.py", monkeypatch)
    captions = " ".join(caption.value for caption in app.caption)
    assert "24 treated patients · 12 with the indication not recorded" in captions


def test_the_data_quality_page_lists_incomplete_records_by_field(clinic, monkeypatch):
    from conftest import open_page

    clinic_with_gaps(clinic)
    app = open_page(clinic.db, "views/data_quality.py", monkeypatch)
    app.session_state["quality_tab"] = "Incomplete records"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    by_field = next(frame.value for frame in app.dataframe if "effect" in frame.value.columns)
    assert by_field.set_index("field").loc["primary_indication", "n_missing"] == 12
    rows = next(frame.value for frame in app.dataframe if "record_key" in frame.value.columns)
    assert len(rows) == 12 + 1 + 1 + 2  # indication x12, intake, dose, route + weight


def test_the_patient_page_says_the_first_infusion_stands_in_for_a_missing_intake_date(clinic, monkeypatch):
    from conftest import open_page

    clinic_with_gaps(clinic)
    app = open_page(clinic.db, "views/patient.py", monkeypatch, query={"patient": "P01"})
    text = " ".join(t.value for t in app.text)  # the header's facts are plain text
    assert "Primary indication: not recorded" in text
    assert "Intake: not recorded (first infusion 6 Jan 2025 stands in)" in text
