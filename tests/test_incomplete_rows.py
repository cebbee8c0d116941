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
