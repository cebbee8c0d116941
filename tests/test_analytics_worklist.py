"""The worklist (pipelines/analytics/worklist.py): each reason alone, several together, patients
without a reason left out, the sort order and the `as_of` windows, on one hand-made clinic; the
not-on-track reason against the expected-trajectory module; properties on the sample data.

The clinic, seen as of Friday 29 May 2026 (thresholds: active = an infusion within 28 days,
PHQ-9 due every 14 days, BP excursion 180 / 110, induction = 6 infusions, "upcoming" = last
infusion within 7 days). The standard course: infusions at 09:00 on 6, 8, 10, 13, 15, 17 Apr and
20 May 2026, a PHQ-9 at 08:30 before each (18 16 14 12 10 9 8, item 9 = 0), so the baseline is
6 Apr and the latest PHQ-9 20 May (9 days before 29 May).

| patient    | differs from the standard course                                   | reasons                      |
|------------|--------------------------------------------------------------------|------------------------------|
| H          | BP 190/100 at the 2nd infusion, not the last                       | none                         |
| EVER       | item 9 = 1 on 10 Apr only                                          | none (negative at latest)    |
| I9         | an incomplete PHQ-9 (item 9 = 2) at 08:40 on 20 May, the latest    | item 9                       |
| I9UNK      | the latest PHQ-9 (20 May) leaves item 9 blank                      | item 9 unknown               |
| DET        | PHQ-9 10 11 12 13 14 15 16: +6 from baseline                       | reliable deterioration       |
| BP         | 182/95 at the last infusion                                        | BP excursion                 |
| NOBASE     | no PHQ-9 on 6 Apr: the first comes after the first infusion        | no baseline                  |
| OVERDUE    | latest PHQ-9 on 14 May instead of 20 May: 15 days before           | PHQ-9 overdue                |
| EDGE14     | latest PHQ-9 on 15 May: exactly 14 days before                     | none                         |
| ACTIVE28   | last infusion 1 May (exactly 28 days before), PHQ-9s to 17 Apr     | PHQ-9 overdue                |
| INACTIVE29 | last infusion 30 Apr (29 days before), PHQ-9s to 17 Apr            | none (not in active treatment)|
| MID        | infusions 25, 27, 29 May (Riverside), PHQ-9 before each (the last | no PHQ-9 since last infusion |
|            | at 09:00 on 29 May: at that infusion's start, so not after it)     |                              |
| MIDOK      | infusions 22, 25, 27 May, PHQ-9s 22, 25 May 08:30 and 28 May        | none                         |
| MIDOLD     | infusions 18, 20, 21 May (last 8 days before), PHQ-9 before each   | none                         |
| MANY       | no PHQ-9 at all; 181/100 at the last infusion                      | no baseline, overdue, BP     |
| SEVERAL    | item 9 = 1 at the latest; 185/100 at the last; GAD-7 8 -> 12 (+4)  | item 9, deterioration, BP    |
| UNTREATED  | never infused; PHQ-9 with item 9 = 3                               | not a treated patient        |
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import Clinic, assessment, patient, phq9_items, session
from pipelines.analytics import worklist as worklist_module
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.safety import item9_flags, reliable_deterioration
from pipelines.analytics.expected import patients_not_on_track
from pipelines.analytics.worklist import REASON_COLUMNS, worklist
from pipelines.settings import Settings

SETTINGS = Settings()
AS_OF = dt.date(2026, 5, 29)
COURSE_DAYS = ["2026-04-06", "2026-04-08", "2026-04-10", "2026-04-13", "2026-04-15", "2026-04-17", "2026-05-20"]
SCORES = [18, 16, 14, 12, 10, 9, 8]


def phq9(pid, when, total, item9=0):
    return assessment(f"{pid}-{when}", when, "PHQ-9", phq9_items(total, item9), pid=pid)


def course(pid, days=COURSE_DAYS, last_bp=None, bp_at=None):
    """Infusions at 09:00 on `days`; `last_bp` at the last one, `bp_at` = {index: (sys, dia)}."""
    peaks = dict(bp_at or {})
    if last_bp:
        peaks[len(days) - 1] = last_bp
    return [session(f"{pid}-S{k}", f"{day}T09:00:00", pid=pid,
                    **({"bp_peak_sys": peaks[k][0], "bp_peak_dia": peaks[k][1]} if k in peaks else {}))
            for k, day in enumerate(days)]


def scores(pid, days=COURSE_DAYS, totals=SCORES, item9=None):
    item9 = item9 or [0] * len(days)
    return [phq9(pid, f"{day}T08:30:00", total, i9) for day, total, i9 in zip(days, totals, item9)]


def build_clinic(folder):
    clinic = Clinic(folder)
    ids = ["H", "EVER", "I9", "I9UNK", "DET", "BP", "NOBASE", "OVERDUE", "EDGE14", "ACTIVE28", "INACTIVE29",
           "MID", "MIDOK", "MIDOLD", "MANY", "SEVERAL", "UNTREATED"]
    clinic.patients = [patient(pid, site="Riverside" if pid == "MID" else "Northside") for pid in ids]
    standard = ["H", "EVER", "I9", "I9UNK", "DET", "BP", "NOBASE", "OVERDUE", "EDGE14", "MANY", "SEVERAL"]
    clinic.sessions = [
        *[s for pid in standard if pid not in ("H", "BP", "MANY", "SEVERAL") for s in course(pid)],
        *course("H", bp_at={1: (190, 100)}),
        *course("BP", last_bp=(182, 95)),
        *course("MANY", last_bp=(181, 100)),
        *course("SEVERAL", last_bp=(185, 100)),
        *course("ACTIVE28", days=[*COURSE_DAYS[:6], "2026-05-01"]),
        *course("INACTIVE29", days=[*COURSE_DAYS[:6], "2026-04-30"]),
        *course("MID", days=["2026-05-25", "2026-05-27", "2026-05-29"]),
        *course("MIDOK", days=["2026-05-22", "2026-05-25", "2026-05-27"]),
        *course("MIDOLD", days=["2026-05-18", "2026-05-20", "2026-05-21"]),
    ]
    clinic.assessments = [
        *scores("H"),
        *scores("EVER", item9=[0, 0, 1, 0, 0, 0, 0]),
        *scores("I9"),
        assessment("I9-incomplete", "2026-05-20T08:40:00", "PHQ-9", [3, 3, 3, 3, 3, None, None, None, 2], pid="I9"),
        *scores("I9UNK")[:-1],
        # latest PHQ-9: item 9 left blank (8 of 9 answered, prorated): safety status unknown
        assessment("I9UNK-last", "2026-05-20T08:30:00", "PHQ-9", [1, 1, 1, 1, 1, 1, 1, 1, None], pid="I9UNK"),
        *scores("DET", totals=[10, 11, 12, 13, 14, 15, 16]),
        *scores("BP"),
        *scores("NOBASE")[1:],
        *scores("OVERDUE", days=[*COURSE_DAYS[:6], "2026-05-14"]),
        *scores("EDGE14", days=[*COURSE_DAYS[:6], "2026-05-15"]),
        *scores("ACTIVE28", days=COURSE_DAYS[:6]),
        *scores("INACTIVE29", days=COURSE_DAYS[:6]),
        *scores("MID", days=["2026-05-25", "2026-05-27"], totals=[18, 15]),
        phq9("MID", "2026-05-29T09:00:00", 12),  # stamped at the infusion's start: belongs to it
        *scores("MIDOK", days=["2026-05-22", "2026-05-25"], totals=[18, 15]),
        phq9("MIDOK", "2026-05-28T10:00:00", 12),
        *scores("MIDOLD", days=["2026-05-18", "2026-05-20", "2026-05-21"], totals=[18, 15, 12]),
        *scores("SEVERAL", item9=[0, 0, 0, 0, 0, 0, 1]),
        assessment("SEVERAL-G1", "2026-04-06T08:30:00", "GAD-7", [], 8, pid="SEVERAL"),
        assessment("SEVERAL-G2", "2026-05-20T08:30:00", "GAD-7", [], 12, pid="SEVERAL"),
        phq9("UNTREATED", "2026-05-20T08:30:00", 20, item9=3),
    ]
    clinic.load()
    return clinic


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = build_clinic(tmp_path_factory.mktemp("worklist"))
    connection = clinic.connect()
    yield connection
    connection.close()


@pytest.fixture
def behind(monkeypatch):
    """Stand in for the expected-trajectory module: these patients are not on track."""
    patients: list[str] = []
    monkeypatch.setattr(worklist_module, "_not_on_track_ids", lambda con, settings: pd.DataFrame({"patient_id": patients}, dtype=str))
    return patients


def reasons_by_patient(frame):
    return {row.patient_id: {c for c in REASON_COLUMNS if getattr(row, c)} for row in frame.itertuples()}


# --- each reason, alone and together ------------------------------------------------------

def test_each_reason_and_patients_without_one(con, behind):
    frame = worklist(con, SETTINGS, as_of=AS_OF)
    assert reasons_by_patient(frame) == {
        "SEVERAL": {"item9_positive", "reliable_deterioration", "bp_excursion_last_infusion"},
        "MANY": {"no_baseline", "phq9_overdue", "bp_excursion_last_infusion"},
        "I9": {"item9_positive"},
        "I9UNK": {"item9_unknown"},
        "ACTIVE28": {"phq9_overdue"},
        "BP": {"bp_excursion_last_infusion"},
        "DET": {"reliable_deterioration"},
        "MID": {"pre_infusion_phq9_missing"},
        "NOBASE": {"no_baseline"},
        "OVERDUE": {"phq9_overdue"},
    }
    # Absent: H (excursion not at the last infusion), EVER (item 9 negative at the latest),
    # EDGE14 (PHQ-9 exactly 14 days ago is in time), INACTIVE29 (last infusion 29 days ago),
    # MIDOK (PHQ-9 after the last infusion), MIDOLD (last infusion 8 days ago), UNTREATED.


def test_sorted_by_number_of_reasons_then_item9_first(con, behind):
    frame = worklist(con, SETTINGS, as_of=AS_OF)
    # 3 reasons: SEVERAL (with item 9) before MANY; 1 reason: I9 first, then item 9 unknown
    # (I9UNK), then by patient id.
    assert frame.patient_id.tolist() == ["SEVERAL", "MANY", "I9", "I9UNK", "ACTIVE28", "BP", "DET", "MID", "NOBASE", "OVERDUE"]
    assert frame.n_reasons.tolist() == [3, 3, 1, 1, 1, 1, 1, 1, 1, 1]
    assert (frame.n_reasons == frame.reasons.map(len)).all()


def test_reasons_are_clinical_phrases_with_the_details(con, behind):
    rows = {row.patient_id: list(row.reasons) for row in worklist(con, SETTINGS, as_of=AS_OF).itertuples()}
    assert rows["SEVERAL"] == [
        "item 9 positive at latest PHQ-9 (thoughts of death or self-harm)",
        "reliable deterioration since baseline: GAD-7",
        "BP excursion at last infusion (peak 185/100 mmHg)",
    ]
    assert rows["MANY"] == ["BP excursion at last infusion (peak 181/100 mmHg)", "no PHQ-9 baseline",
                            "PHQ-9 overdue (none in 14 days, in active treatment)"]
    assert rows["DET"] == ["reliable deterioration since baseline: PHQ-9"]
    assert rows["MID"] == ["no PHQ-9 since last infusion (mid-induction)"]


def test_identifying_columns(con, behind):
    rows = {row.patient_id: row for row in worklist(con, SETTINGS, as_of=AS_OF).itertuples()}
    i9 = rows["I9"]
    # Latest valid PHQ-9: 8 on 20 May 08:30 (the incomplete one at 08:40 has no total).
    assert (i9.site, i9.clinician, i9.primary_indication, i9.n_infusions) == ("Northside", "Dr. Okafor", "depression", 7)
    assert (str(i9.last_infusion_at), i9.latest_phq9_score, str(i9.latest_phq9_at)) == \
        ("2026-05-20 09:00:00", 8, "2026-05-20 08:30:00")
    assert rows["MANY"].latest_phq9_score is None or str(rows["MANY"].latest_phq9_score) in ("nan", "<NA>")


def test_not_on_track_reason_comes_from_the_expected_module(con, behind):
    behind.extend(["DET", "H", "NOT-A-PATIENT"])
    rows = {row.patient_id: row for row in worklist(con, SETTINGS, as_of=AS_OF).itertuples()}
    assert rows["H"].not_on_track and list(rows["H"].reasons) == ["not on track: PHQ-9 improvement below expected"]
    assert rows["DET"].n_reasons == 2 and rows["DET"].not_on_track
    assert "NOT-A-PATIENT" not in rows


# --- as_of and cohorts -------------------------------------------------------------------

def test_as_of_defaults_to_today_in_the_clinic_time_zone(con, behind, monkeypatch):
    monkeypatch.setenv("OUTCOMES_TODAY", AS_OF.isoformat())  # pins the clinic's today (freshness.clinic_today)
    default = worklist(con, SETTINGS)
    assert default.attrs["as_of"] == AS_OF
    assert default.drop(columns="reasons").equals(worklist(con, SETTINGS, as_of=AS_OF).drop(columns="reasons"))


@pytest.mark.parametrize(
    "as_of,overdue,pre_infusion_missing",
    [
        # 5 Jun: MID's last infusion (29 May) is exactly 7 days back: still flagged. 20 May is
        # 16 days back: every standard course is overdue (active since 20 May >= 8 May); ACTIVE28
        # (1 May) is no longer active; MIDOLD's last PHQ-9 (21 May) is 15 days back.
        (dt.date(2026, 6, 5),
         {"H", "EVER", "I9", "I9UNK", "DET", "BP", "NOBASE", "OVERDUE", "EDGE14", "MANY", "SEVERAL", "MIDOLD"},
         {"MID"}),
        # 6 Jun: MID's last infusion is 8 days back: no longer "upcoming"; its PHQ-9 (29 May) is in time.
        (dt.date(2026, 6, 6),
         {"H", "EVER", "I9", "I9UNK", "DET", "BP", "NOBASE", "OVERDUE", "EDGE14", "MANY", "SEVERAL", "MIDOLD"},
         set()),
        # 1 Jul: 20 May is 42 days back: nobody is in active treatment.
        (dt.date(2026, 7, 1), set(), set()),
    ],
)
def test_as_of_moves_the_time_windows(con, behind, as_of, overdue, pre_infusion_missing):
    frame = worklist(con, SETTINGS, as_of=as_of)
    assert set(frame.patient_id[frame.phq9_overdue]) == overdue
    assert set(frame.patient_id[frame.pre_infusion_phq9_missing]) == pre_infusion_missing
    # Reasons 1-5 do not depend on the date.
    assert set(frame.patient_id[frame.item9_positive]) == {"I9", "SEVERAL"}
    assert set(frame.patient_id[frame.no_baseline]) == {"NOBASE", "MANY"}


def test_cohort_filter_and_empty_cohort(con, behind):
    assert worklist(con, SETTINGS, as_of=AS_OF, cohort=CohortFilter(sites=("Riverside",))).patient_id.tolist() == ["MID"]
    empty = worklist(con, SETTINGS, as_of=AS_OF, cohort=CohortFilter(sites=("Nowhere",)))
    assert empty.empty and {"patient_id", "reasons", *REASON_COLUMNS} <= set(empty.columns)


def test_database_without_infusions_gives_an_empty_list(clinic):
    clinic.assessments = [phq9("001", "2026-05-20T08:30:00", 20, item9=3)]
    clinic.load()
    connection = clinic.connect()
    try:
        frame = worklist(connection, SETTINGS)
    finally:
        connection.close()
    assert frame.empty and frame.attrs["as_of"] is None


# --- the real expected-trajectory module, and the sample data ------------------------------


def test_not_on_track_matches_the_expected_module(sample):
    behind = set(patients_not_on_track(sample, SETTINGS, scale="PHQ-9").patient_id)
    treated = {pid for (pid,) in sample.execute("SELECT patient_id FROM patient_cohorts").fetchall()}
    frame = worklist(sample, SETTINGS)
    assert set(frame.patient_id[frame.not_on_track]) == behind & treated


def test_sample_worklist_properties(sample):
    (latest,) = sample.execute("SELECT max(started_at)::DATE FROM sessions").fetchone()
    frame = worklist(sample, SETTINGS, as_of=latest)
    assert frame.attrs["as_of"] == latest
    assert frame.patient_id.is_unique and len(frame) > 0
    assert (frame.n_reasons >= 1).all()
    assert (frame.n_reasons == frame[list(REASON_COLUMNS)].sum(axis=1)).all()
    assert (frame.n_reasons == frame.reasons.map(len)).all()
    order = list(zip(-frame.n_reasons, ~frame.item9_positive, ~frame.item9_unknown, frame.patient_id))
    assert order == sorted(order)
    flags_unknown = item9_flags(sample, SETTINGS)
    assert set(frame.patient_id[frame.item9_unknown]) == set(
        flags_unknown.patient_id[flags_unknown.item9_status_latest == "unknown"])
    # The flags agree with the safety functions and the views they come from.
    flags = item9_flags(sample, SETTINGS)
    assert set(frame.patient_id[frame.item9_positive]) == set(flags.patient_id[flags.item9_positive_latest.fillna(False)
                                                                                .astype(bool)])
    assert set(frame.patient_id[frame.reliable_deterioration]) == set(reliable_deterioration(sample, SETTINGS).patient_id)
    without_baseline = {pid for (pid,) in sample.execute(
        "SELECT patient_id FROM patient_cohorts EXCEPT SELECT patient_id FROM patient_outcomes WHERE instrument = 'PHQ-9'"
    ).fetchall()}
    assert set(frame.patient_id[frame.no_baseline]) == without_baseline
