"""One patient's record (pipelines/analytics/patient.py) on a hand-made clinic, with every
expected number worked by hand below; the same answers through a snapshot with the lookup
indexes; and the not-on-track wiring to the expected-trajectory module.

Infusions at 09:00, PHQ-9s at 08:30 before them (so a score on an infusion day counts for that
infusion: k = infusions before + 1). Defaults: 35 mg at 70 kg = 0.5 mg/kg, BP 120/80 -> 140/88.

| patient   | course                                                                             |
|-----------|------------------------------------------------------------------------------------|
| P1        | infusions 6, 8, 10 Apr 2026; the 8 Apr peak 185/100 (excursion: systolic >= 180);  |
|           | the 10 Apr one has an adverse event. PHQ-9 20 (item 9 = 1) -> 14 -> 9 (item 9 = 1):|
|           | change -11 = -55.0%: response (9 <= 10), not remission (9 >= 5); item 9 positive   |
|           | at the latest and ever, first 6 Apr, 2 times. GAD-7 total-only 10 -> 14: +4 =       |
|           | reliable deterioration (GAD-7 threshold 4). PCL-5 given once, 5 of 20 items:       |
|           | incomplete, no valid score. 4 days in treatment (6 -> 10 Apr).                     |
| ONE       | PHQ-9 15 on 5 Apr, one infusion 6 Apr: a baseline only, no follow-up yet           |
| NONE      | one infusion, no assessment at all                                                 |
| UNK       | PHQ-9 16 (item 9 = 0) then 8 Apr item 9 blank (8 items of 2: prorated 18):         |
|           | item 9 unknown at the latest, never positive                                       |
| NOBASE    | infusion 6 Apr, first PHQ-9 on 8 Apr (after treatment start): no baseline          |
| UNTREATED | no infusion, one PHQ-9                                                             |
| P10, XP1  | for the search order (one infusion each)                                          |
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from conftest import Clinic, assessment, patient, phq9_items, session
from pipelines.analytics import progress as progress_module
from pipelines.analytics.expected import patient_expected
from pipelines.analytics.patient import (PHQ9_ITEM_LABELS, find_patients, patient_record, patient_scores,
                                         patient_sessions, patient_summary, phq9_item_history, scale_bands)
from pipelines.analytics.progress import patient_expected_course, scale_status
from pipelines.analytics.snapshot import ensure_patient_lookup, open_snapshot
from pipelines.settings import Settings

SETTINGS = Settings()
IDS = ["P1", "ONE", "NONE", "UNK", "NOBASE", "UNTREATED", "P10", "XP1"]


def phq9(pid, when, total, item9=0, aid=None):
    return assessment(aid or f"{pid}-{when}", when, "PHQ-9", phq9_items(total, item9), pid=pid)


def build_clinic(folder) -> Clinic:
    clinic = Clinic(folder)
    clinic.patients = [patient(pid, indication="ptsd" if pid == "ONE" else "depression",
                               site="Riverside" if pid == "P1" else "Northside") for pid in IDS]
    clinic.sessions = [
        session("P1-1", "2026-04-06T09:00:00", pid="P1", side_effects="dissociation;nausea"),
        session("P1-2", "2026-04-08T09:00:00", pid="P1", bp_peak_sys=185, bp_peak_dia=100, cadss_total=30),
        session("P1-3", "2026-04-10T09:00:00", pid="P1", adverse_event="vasovagal episode, recovered"),
        session("ONE-1", "2026-04-06T09:00:00", pid="ONE"),
        session("NONE-1", "2026-04-06T09:00:00", pid="NONE"),
        session("UNK-1", "2026-04-06T09:00:00", pid="UNK"),
        session("UNK-2", "2026-04-08T09:00:00", pid="UNK"),
        session("NOBASE-1", "2026-04-06T09:00:00", pid="NOBASE"),
        session("P10-1", "2026-04-06T09:00:00", pid="P10"),
        session("XP1-1", "2026-04-06T09:00:00", pid="XP1"),
    ]
    clinic.assessments = [
        phq9("P1", "2026-04-06T08:30:00", 20, item9=1),
        phq9("P1", "2026-04-08T08:30:00", 14),
        phq9("P1", "2026-04-10T08:30:00", 9, item9=1),
        assessment("P1-G1", "2026-04-06T08:30:00", "GAD-7", [], 10, pid="P1"),
        assessment("P1-G2", "2026-04-10T08:30:00", "GAD-7", [], 14, pid="P1"),
        assessment("P1-PCL", "2026-04-06T08:30:00", "PCL-5", [2, 2, 2, 2, 2], pid="P1"),
        phq9("ONE", "2026-04-05T10:00:00", 15),
        phq9("UNK", "2026-04-06T08:30:00", 16),
        assessment("UNK-last", "2026-04-08T08:30:00", "PHQ-9", [2, 2, 2, 2, 2, 2, 2, 2, None], pid="UNK"),
        phq9("NOBASE", "2026-04-08T08:30:00", 12),
        phq9("UNTREATED", "2026-04-08T08:30:00", 12),
    ]
    clinic.load()
    return clinic


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    return build_clinic(tmp_path_factory.mktemp("patient"))


@pytest.fixture(scope="module")
def con(clinic):
    connection = clinic.connect()
    yield connection
    connection.close()


def by_scale(frame):
    return {row.instrument: row for row in frame.itertuples()}


# --- search --------------------------------------------------------------------------------

def test_search_puts_the_exact_id_first_then_prefixes_then_other_matches(con):
    found = find_patients(con, "p1", 10)
    assert found.patient_id.tolist() == ["P1", "P10", "XP1"]
    assert found.match_rank.tolist() == [0, 1, 2]
    p1 = found.iloc[0]
    assert (p1.primary_indication, p1.site, p1.clinician, p1.n_infusions) == ("depression", "Riverside", "Dr. Okafor", 3)


def test_search_returns_at_most_the_limit_and_counts_untreated_patients_as_zero_infusions(con):
    assert len(find_patients(con, "", 3)) == 3
    untreated = find_patients(con, "untreated", 5)
    assert untreated.patient_id.tolist() == ["UNTREATED"] and untreated.n_infusions.tolist() == [0]


def test_search_treats_like_wildcards_as_plain_characters(con):
    assert find_patients(con, "%", 10).empty
    assert find_patients(con, "_", 10).empty


# --- header and safety ---------------------------------------------------------------------

def test_summary_header_facts(con):
    row = patient_summary(con, SETTINGS, "P1").iloc[0]
    assert (row.primary_indication, row.site, row.clinician) == ("depression", "Riverside", "Dr. Okafor")
    assert row.n_infusions == 3
    assert (str(row.first_infusion_at), str(row.latest_infusion_at)) == ("2026-04-06 09:00:00", "2026-04-10 09:00:00")
    assert row.days_in_treatment == 4  # 6 Apr -> 10 Apr


def test_item9_positive_at_the_latest_and_ever_with_dates(con):
    row = patient_summary(con, SETTINGS, "P1").iloc[0]
    assert row.item9_status_latest == "positive"
    assert bool(row.item9_positive_latest) and bool(row.item9_positive_ever)
    assert str(row.item9_first_positive_at) == "2026-04-06 08:30:00"
    assert str(row.item9_last_positive_at) == "2026-04-10 08:30:00"
    assert (row.item9_n_positive, row.n_phq9) == (2, 3)


def test_item9_unanswered_at_the_latest_is_unknown_never_negative(con):
    row = patient_summary(con, SETTINGS, "UNK").iloc[0]
    assert row.item9_status_latest == "unknown"
    assert pd.isna(row.item9_positive_latest)
    assert row.item9_positive_ever == False  # noqa: E712 - answered once, negative
    assert row.item9_n_unknown == 1
    none = patient_summary(con, SETTINGS, "NONE").iloc[0]
    assert none.item9_status_latest == "no PHQ-9" and pd.isna(none.item9_positive_ever)


def test_bp_excursion_185_over_100_is_flagged_with_its_date(con):
    row = patient_summary(con, SETTINGS, "P1").iloc[0]
    assert (row.n_bp_excursions, row.n_infusions_with_bp) == (1, 3)
    assert str(row.first_bp_excursion_at) == str(row.last_bp_excursion_at) == "2026-04-08 09:00:00"
    assert (row.max_bp_peak_sys, row.max_bp_peak_dia) == (185, 100)
    # the latest infusion (10 Apr) peaked at 140/88: no excursion there
    assert not row.bp_excursion_last_infusion
    assert (row.last_infusion_bp_peak_sys, row.last_infusion_bp_peak_dia) == (140, 88)


def test_bp_thresholds_come_from_the_settings(con):
    strict = Settings(thresholds=dataclasses.replace(SETTINGS.thresholds, bp_excursion_systolic=140))
    row = patient_summary(con, strict, "P1").iloc[0]
    assert row.n_bp_excursions == 3 and row.bp_excursion_last_infusion  # 140 >= 140 at every infusion


def test_reliable_deterioration_names_the_scale(con):
    row = patient_summary(con, SETTINGS, "P1").iloc[0]
    assert row.reliable_deterioration and list(row.deteriorated_scales) == ["GAD-7"]
    assert not patient_summary(con, SETTINGS, "ONE").iloc[0].reliable_deterioration


def test_untreated_patient_has_no_infusions_and_no_days_in_treatment(con):
    row = patient_summary(con, SETTINGS, "UNTREATED").iloc[0]
    assert row.n_infusions == 0 and pd.isna(row.days_in_treatment) and pd.isna(row.first_infusion_at)


def test_unknown_patient_gives_no_row_anywhere(con):
    assert patient_summary(con, SETTINGS, "NOPE").empty
    assert scale_status(con, SETTINGS, "NOPE").empty
    assert patient_scores(con, "NOPE").empty
    assert patient_sessions(con, SETTINGS, "NOPE").empty
    assert phq9_item_history(con, "NOPE").empty


# --- scales --------------------------------------------------------------------------------

def test_phq9_20_14_9_is_a_responder_not_a_remitter(con):
    phq = by_scale(scale_status(con, SETTINGS, "P1"))["PHQ-9"]
    assert (phq.baseline_score, phq.latest_score, phq.change, phq.pct_change) == (20, 9, -11, -55.0)
    assert (phq.baseline_band, phq.latest_band) == ("severe", "mild")
    assert phq.response == True and phq.remission == False  # noqa: E712
    assert (phq.n_scores, phq.n_followups, phq.latest_k) == (3, 2, 3)
    assert phq.status == "responder"


def test_a_scale_given_but_never_scored_is_listed_with_no_valid_score(con):
    scales = by_scale(scale_status(con, SETTINGS, "P1"))
    assert sorted(scales) == ["GAD-7", "PCL-5", "PHQ-9"]
    pcl = scales["PCL-5"]
    assert (pcl.n_administrations, pcl.n_scores, pcl.status) == (1, 0, "no valid score")
    assert pd.isna(pcl.baseline_score)


def test_gad7_rise_of_4_is_not_yet_without_a_clinic_reference(con):
    gad = by_scale(scale_status(con, SETTINGS, "P1"))["GAD-7"]
    assert (gad.change, gad.reliable_deterioration, gad.response) == (4, True, False)
    # 2 patients with GAD-7 are far fewer than 20: no reference, so no verdict
    assert pd.isna(gad.on_track) and gad.not_judged_reason == "too few similar patients for a reference"
    assert gad.status == "not yet"


def test_baseline_only_no_baseline_and_no_scores(con):
    assert by_scale(scale_status(con, SETTINGS, "ONE"))["PHQ-9"].status == "no follow-up yet"
    assert by_scale(scale_status(con, SETTINGS, "NOBASE"))["PHQ-9"].status == "no baseline"
    assert scale_status(con, SETTINGS, "NONE").empty


def test_not_on_track_is_the_expected_modules_verdict_at_the_latest_score(con, monkeypatch):
    def expected(con, settings, patient_id, scale):
        # the latest GAD-7 (10 Apr 08:30, k = 3) judged behind the clinic's 25th percentile
        return pd.DataFrame({"k": [1, 3], "administered_at": pd.to_datetime(["2026-04-06 08:30", "2026-04-10 08:30"]),
                             "on_track": pd.array([pd.NA, False], dtype="boolean"), "threshold": [None, -20.0]})
    monkeypatch.setattr(progress_module, "patient_expected", expected)
    scales = by_scale(scale_status(con, SETTINGS, "P1"))
    assert scales["GAD-7"].status == "not on track" and scales["GAD-7"].expected_threshold == -20.0
    # a responder stays a responder whatever the expected course says
    assert scales["PHQ-9"].status == "responder" and scales["PHQ-9"].on_track == False  # noqa: E712


def test_latest_score_beyond_the_reference_is_not_judged(con, monkeypatch):
    monkeypatch.setattr(progress_module, "patient_expected", lambda con, settings, patient_id, scale: pd.DataFrame(
        {"k": [1], "administered_at": pd.to_datetime(["2026-04-06 08:30"]), "on_track": pd.array([pd.NA], dtype="boolean"),
         "threshold": [None]}))
    gad = by_scale(scale_status(con, SETTINGS, "P1"))["GAD-7"]
    assert pd.isna(gad.on_track) and gad.not_judged_reason.startswith("latest score after infusion 12")
    assert gad.status == "not yet"


# --- scores, sessions, items, bands --------------------------------------------------------

def test_scores_carry_the_infusion_number_and_the_baseline(con):
    scores = patient_scores(con, "P1")
    phq = scores[scores.instrument == "PHQ-9"]
    assert phq.total.tolist() == [20, 14, 9]
    assert phq.k.tolist() == [1, 2, 3]
    assert phq.is_baseline.tolist() == [True, False, False]
    assert phq.severity.tolist() == ["severe", "moderate", "mild"]
    # the incomplete PCL-5 has no total and is not a score
    assert set(scores.instrument) == {"PHQ-9", "GAD-7"}


def test_sessions_in_order_with_dose_per_kg_and_the_excursion(con):
    sessions = patient_sessions(con, SETTINGS, "P1")
    assert sessions.session_number.tolist() == [1, 2, 3]
    assert sessions.dose_mg_per_kg.tolist() == [0.5, 0.5, 0.5]  # 35 mg / 70 kg
    assert sessions.bp_excursion.tolist() == [False, True, False]
    assert (sessions.bp_peak_sys[1], sessions.bp_peak_dia[1], sessions.cadss_total[1]) == (185, 100, 30)
    assert sessions.side_effects[0] == "dissociation, nausea"
    assert pd.isna(sessions.adverse_event[0]) and sessions.adverse_event[2] == "vasovagal episode, recovered"


def test_phq9_items_over_time_with_clinical_names(con):
    items = phq9_item_history(con, "P1")
    assert len(items) == 27  # 3 administrations x 9 items
    item9 = items[items.item == 9]
    assert item9.answer.tolist() == [1, 0, 1]
    assert set(item9.item_label) == {"Thoughts of death or self-harm"}
    assert items.k.unique().tolist() == [1, 2, 3]
    # phq9_items(20, 1): items 1-6 = 3, item 7 = 1, item 8 = 0
    first = items[items.administered_at == items.administered_at.min()]
    assert first.answer.tolist() == [3, 3, 3, 3, 3, 3, 1, 0, 1]
    assert items.drop_duplicates("item").item_label.tolist() == list(PHQ9_ITEM_LABELS)


def test_unanswered_item_is_missing_not_zero(con):
    items = phq9_item_history(con, "UNK")
    latest = items[items.administered_at == items.administered_at.max()]
    assert latest.answer.isna().tolist() == [False] * 8 + [True]
    assert latest.total.iloc[0] == 18  # 8 answers of 2, prorated: 16 / 8 x 9


def test_bands_come_from_the_instrument_registry(con):
    bands = scale_bands(con)
    phq = bands[bands.instrument == "PHQ-9"]
    assert list(zip(phq.low, phq.high, phq.label)) == [
        (0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 19, "moderately severe"), (20, 27, "severe")]


def test_expected_course_covers_every_scale_with_a_baseline(con):
    course = patient_expected_course(con, SETTINGS, "P1")
    assert sorted(course.instrument.unique()) == ["GAD-7", "PHQ-9"]  # PCL-5 has no baseline
    phq = course[course.instrument == "PHQ-9"].reset_index(drop=True)
    pd.testing.assert_frame_equal(phq, patient_expected(con, SETTINGS, "P1", "PHQ-9"))
    assert patient_expected_course(con, SETTINGS, "NOBASE").empty


def test_the_record_is_every_answer_of_the_patient_in_one_call(con):
    record = patient_record(con, SETTINGS, "P1")
    pd.testing.assert_frame_equal(record["summary"], patient_summary(con, SETTINGS, "P1"))
    pd.testing.assert_frame_equal(record["scales"], scale_status(con, SETTINGS, "P1"))
    pd.testing.assert_frame_equal(record["scores"], patient_scores(con, "P1"))
    pd.testing.assert_frame_equal(record["sessions"], patient_sessions(con, SETTINGS, "P1"))
    assert "items" not in record  # fetched by the page's items tab when opened
    assert record["expected"].instrument.tolist().count("PHQ-9") == SETTINGS.thresholds.trajectory_max_infusion
    unknown = patient_record(con, SETTINGS, "NOPE")
    assert all(frame.empty for frame in unknown.values())


# --- through a snapshot --------------------------------------------------------------------

def test_snapshot_answers_are_the_same_and_read_the_sorted_copy(clinic, con):
    snapshot = open_snapshot(clinic.db)
    try:
        for pid in ["P1", "UNK", "ONE", "NONE"]:
            pd.testing.assert_frame_equal(patient_summary(snapshot, SETTINGS, pid), patient_summary(con, SETTINGS, pid))
            pd.testing.assert_frame_equal(scale_status(snapshot, SETTINGS, pid), scale_status(con, SETTINGS, pid))
            pd.testing.assert_frame_equal(patient_scores(snapshot, pid), patient_scores(con, pid))
            pd.testing.assert_frame_equal(patient_sessions(snapshot, SETTINGS, pid), patient_sessions(con, SETTINGS, pid))
            pd.testing.assert_frame_equal(phq9_item_history(snapshot, pid), phq9_item_history(con, pid))
        assert ensure_patient_lookup(snapshot) == "patient_assessments"
    finally:
        snapshot.close()


def test_a_plain_connection_reads_assessments(con):
    assert ensure_patient_lookup(con) == "assessments"
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]
