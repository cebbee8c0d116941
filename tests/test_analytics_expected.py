"""The expected course and "not on track" (clinical reference, "Not on track"): hand-worked
reference quantiles, both sides of the threshold, the all-bands fallback, the worklist rule
on the latest assessment, the cache, and properties on the sample clinic."""

from __future__ import annotations

import time

import duckdb
import pandas as pd
import pytest

from conftest import assessment, patient, session
from pipelines.analytics import expected
from pipelines.analytics.expected import (NOT_ON_TRACK_COLUMNS, PATIENT_COLUMNS, REFERENCE_COLUMNS,
                                          patient_expected, patients_not_on_track, reference_distribution)
from pipelines.settings import Settings, Thresholds

# Everyone: infusions Mon 6, Wed 8, Fri 10 Jan 2025 at 09:00; PHQ-9 baseline at 08:00 on 6 Jan,
# "pre-2" at 08:30 on 8 Jan, "pre-3" at 08:30 on 10 Jan. Reference needs >= 3 patients here;
# infusions 1..3 are counted (trajectory_max_infusion = 3).
#
#   patient  band (baseline)   pre-2 (pct)     pre-3 (pct)   later
#   S1       severe (20)       10 (-50)        8 (-60)
#   S2       severe (20)       14 (-30)        12 (-40)
#   S3       severe (20)       16 (-20)        10 (-50)
#   S4       severe (20)       17 (-15)
#   S5       severe (20)       18 (-10)                      19 on 12 Jan (after the 3rd infusion: k = 4)
#   M1       moderate (10)     9 (-10)
#   M2       moderate (10)     5 (-50)
#   Z        minimal (0)       3 (undefined: baseline 0)
#
# Percentiles are of improvement: p25 = quantile_cont(pct, 0.75), p75 = quantile_cont(pct, 0.25).
# k = 2, severe, own band (5 >= 3): sorted -50 -30 -20 -15 -10
#   p25: position 0.75 x 4 = 3 -> -15;  p50: position 2 -> -20;  p75: position 1 -> -30
#   S4 at -15 equals the threshold: on track; S5 at -10 > -15: NOT on track; S3 -20: on track.
#   Expected scores from baseline 20: 20 x 0.85 = 17, 20 x 0.80 = 16, 20 x 0.70 = 14.
# k = 2, moderate: 2 patients < 3 -> all bands (7 patients): -50 -50 -30 -20 -15 -10 -10
#   p25: position 4.5 -> -15 + 0.5 x 5 = -12.5;  p50: position 3 -> -20;  p75: position 1.5 -> -40
#   M1 at -10 > -12.5: NOT on track; M2 at -50: on track.
# k = 3, severe: -60 -50 -40 -> p25: position 1.5 -> -45; p50 -50; p75: position 0.5 -> -55
#   S2 at -40 > -45: NOT on track; S1, S3 on track. Other bands: fallback to the same 3.
#
# Worklist (latest assessment with a reference): S2 (k 3, -40 vs -45) and M1 (k 2, -10 vs
# -12.5). S5 is behind at k = 2 but its latest score (k = 4) is past infusion 3: not judged.

SETTINGS = Settings(thresholds=Thresholds(min_reference_patients=3, trajectory_max_infusion=3))
COURSE = {
    "S1": (20, [10, 8]), "S2": (20, [14, 12]), "S3": (20, [16, 10]), "S4": (20, [17]), "S5": (20, [18]),
    "M1": (10, [9]), "M2": (10, [5]), "Z": (0, [3]),
}
DAYS = ["06", "08", "10"]


def score(aid, when, total, pid):
    return assessment(aid, when, "PHQ-9", [], total, pid=pid)


def build(clinic, course=COURSE):
    clinic.patients = [patient(pid) for pid in course]
    clinic.sessions = [session(f"{pid}-{k}", f"2025-01-{day}T09:00:00", pid=pid)
                       for pid in course for k, day in enumerate(DAYS, start=1)]
    clinic.assessments = [score(f"{pid}-0", "2025-01-06T08:00:00", baseline, pid)
                          for pid, (baseline, _) in course.items()]
    clinic.assessments += [score(f"{pid}-{k}", f"2025-01-{DAYS[k - 1]}T08:30:00", total, pid)
                           for pid, (_, later) in course.items() for k, total in enumerate(later, start=2)]
    if "S5" in course:
        clinic.assessments.append(score("S5-late", "2025-01-12T10:00:00", 19, "S5"))
    clinic.load()
    return clinic


@pytest.fixture
def small(clinic):
    return build(clinic)


def read(db):
    return duckdb.connect(str(db), read_only=True)


def verdicts(course) -> list:
    """on_track as plain values: True, False or None (not judged)."""
    return [None if pd.isna(v) else bool(v) for v in course["on_track"]]


def test_reference_quantiles_and_fallback_are_hand_worked(small):
    with read(small.db) as con:
        reference = reference_distribution(con, SETTINGS)
    assert list(reference.columns) == REFERENCE_COLUMNS
    rows = {(r.baseline_band, r.k): r for r in reference.itertuples()}
    # every band of PHQ-9 at k = 2 and 3: 5 x 2 rows
    assert len(rows) == 10
    severe2, moderate2, severe3, minimal3 = (rows[("severe", 2)], rows[("moderate", 2)], rows[("severe", 3)],
                                             rows[("minimal", 3)])
    assert (severe2.n_patients, severe2.p25, severe2.p50, severe2.p75, severe2.fallback) == (5, -15, -20, -30, False)
    assert (moderate2.n_patients, moderate2.p25, moderate2.p50, moderate2.p75, moderate2.fallback) == \
        (7, -12.5, -20, -40, True)
    assert (severe3.n_patients, severe3.p25, severe3.p50, severe3.p75, severe3.fallback) == (3, -45, -50, -55, False)
    assert (minimal3.n_patients, minimal3.p25, minimal3.fallback) == (3, -45, True)
    assert (reference["threshold"] == reference["p25"]).all()  # default percentile 25


def test_patient_expected_on_both_sides_of_the_threshold(small):
    with read(small.db) as con:
        s5, s4, m1, z = (patient_expected(con, SETTINGS, pid) for pid in ("S5", "S4", "M1", "Z"))
    assert list(s5.columns) == PATIENT_COLUMNS
    assert s5["k"].tolist() == [1, 2, 3]
    # baseline row: the origin of the expected course, not judged
    assert (s5["score"][0], s5["expected_score_p25"][0], s5["expected_p50"][0]) == (20, 20.0, 0.0)
    assert verdicts(s5) == [None, False, None]
    # k = 2: -10 is worse than p25 = -15 -> not on track; expected scores 17 / 16 / 14
    assert (s5["score"][1], s5["pct_change"][1], s5["expected_p25"][1]) == (18, -10.0, -15.0)
    assert [s5[f"expected_score_{p}"][1] for p in ("p25", "p50", "p75")] == pytest.approx([17, 16, 14])
    # k = 3: no score before infusion 3 (the 12 Jan score is past it): expected only
    assert pd.isna(s5["score"][2])
    assert s5["expected_score_p25"][2] == pytest.approx(20 * (1 - 0.45))
    # S4 sits exactly on the threshold: on track
    assert (s4["pct_change"][1], verdicts(s4)[1]) == (-15.0, True)
    # M1 is judged against the all-bands fallback: -10 > -12.5
    assert (m1["fallback"][1], m1["expected_p25"][1], verdicts(m1)[1]) == (True, -12.5, False)
    assert m1["expected_score_p25"][1] == pytest.approx(8.75)  # 10 x (1 - 0.125)
    # baseline 0: no percent change, never judged
    assert verdicts(z) == [None, None, None]


def test_not_on_track_uses_each_patients_latest_assessment(small):
    with read(small.db) as con:
        behind = patients_not_on_track(con, SETTINGS)
    assert list(behind.columns) == NOT_ON_TRACK_COLUMNS
    # sorted by how far behind: M1 by 2.5 points, S2 by 5
    assert behind.values.tolist() == [["S2", "PHQ-9", 3, -40.0, -45.0], ["M1", "PHQ-9", 2, -10.0, -12.5]]


def test_percentile_is_configurable(small):
    # at the 50th percentile of improvement S4 (-15 vs median -20) is also behind at k = 2
    settings = Settings(thresholds=Thresholds(min_reference_patients=3, trajectory_max_infusion=3,
                                              not_on_track_percentile=50))
    with read(small.db) as con:
        s4 = patient_expected(con, settings, "S4")
        reference = reference_distribution(con, settings)
    assert (s4["threshold"][1], verdicts(s4)[1], s4["expected_p25"][1]) == (-20.0, False, -15.0)
    assert (reference["threshold"] == reference["p50"]).all()


def test_too_small_a_clinic_has_no_reference(small):
    default = Settings(thresholds=Thresholds(trajectory_max_infusion=3))  # needs 20 patients
    with read(small.db) as con:
        assert reference_distribution(con, default).empty
        assert patients_not_on_track(con, default).empty
        s5 = patient_expected(con, default, "S5")
    assert s5["on_track"].isna().all() and s5["expected_p25"][1:].isna().all()
    assert s5["score"].tolist()[:2] == [20, 18]


def test_empty_database_and_unknown_patient(clinic):
    clinic.load()  # one patient, nothing else
    with read(clinic.db) as con:
        assert list(reference_distribution(con, SETTINGS).columns) == REFERENCE_COLUMNS
        assert reference_distribution(con, SETTINGS).empty
        assert patients_not_on_track(con, SETTINGS).empty
        unknown = patient_expected(con, SETTINGS, "nobody")
    assert unknown.empty and list(unknown.columns) == PATIENT_COLUMNS


def test_cache_follows_new_ingests(small):
    with read(small.db) as con:
        before = patients_not_on_track(con, SETTINGS)
    assert "S2" in before["patient_id"].tolist()
    # S2 comes back much better: a new pre-3 score at 09:00 exactly, the latest before infusion 3.
    small.assessments.append(score("S2-better", "2025-01-10T09:00:00", 6, "S2"))
    small.load()
    with read(small.db) as con:
        after = patients_not_on_track(con, SETTINGS)
    # k = 3 becomes -60 -50 -70 -> p25 -55; S2 at -70: on track
    assert "S2" not in after["patient_id"].tolist()
    expected.clear_cache()
    with read(small.db) as con:
        assert patients_not_on_track(con, SETTINGS).equals(after)


# --- Properties on the sample clinic --------------------------------------------------------


def test_reference_properties_on_the_sample(sample):
    settings = Settings()
    reference = reference_distribution(sample, settings)
    assert not reference.empty
    assert (reference["n_patients"] >= settings.thresholds.min_reference_patients).all()
    assert reference["k"].between(2, settings.thresholds.trajectory_max_infusion).all()
    # improvement percentiles: p75 is the most improved, so the most negative change
    assert ((reference["p75"] <= reference["p50"]) & (reference["p50"] <= reference["p25"])).all()
    # a fallback row carries the all-bands distribution of its k: identical across fallback bands
    fallback = reference[reference["fallback"]]
    assert (fallback.groupby("k")[["p25", "p50", "p75", "n_patients"]].nunique() == 1).all().all()


def test_not_on_track_properties_on_the_sample(sample):
    behind = patients_not_on_track(sample, Settings())
    assert list(behind.columns) == NOT_ON_TRACK_COLUMNS
    assert not behind.empty and behind["patient_id"].is_unique
    assert (behind["pct_change"] > behind["expected_p25"]).all()
    judged = sample.execute("SELECT count(DISTINCT patient_id) FROM scores_by_infusion WHERE k >= 2").fetchone()[0]
    assert len(behind) < judged / 2  # roughly the least-improved quarter, never the majority
    for row in behind.head(5).itertuples():
        course = patient_expected(sample, Settings(), row.patient_id)
        at_k = course["k"] == row.k
        assert verdicts(course[at_k]) == [False]
        assert course.loc[at_k, "pct_change"].tolist() == [row.pct_change]


def test_patient_expected_is_fast_once_cached(sample):
    patient_ids = [pid for (pid,) in sample.execute(
        "SELECT DISTINCT patient_id FROM scores_by_infusion ORDER BY patient_id LIMIT 20").fetchall()]
    patient_expected(sample, Settings(), patient_ids[0])  # warms the cache
    started = time.perf_counter()
    for pid in patient_ids:
        course = patient_expected(sample, Settings(), pid)
        assert len(course) == Settings().thresholds.trajectory_max_infusion
    assert (time.perf_counter() - started) / len(patient_ids) < 0.05


def test_warm_computes_every_scale_with_baselines_once(sample_database):
    expected.clear_cache()
    con = duckdb.connect(str(sample_database), read_only=True)
    try:
        scales = expected.warm(con, Settings())
        with_baselines = sorted(s for (s,) in con.execute("SELECT DISTINCT instrument FROM patient_outcomes").fetchall())
        assert scales == with_baselines and "PHQ-9" in scales
        assert {key[1] for key in expected._cache} == set(scales)
        first = expected._cache[next(iter(expected._cache))][1]
        expected.warm(con, Settings())  # already warm: the same computed objects are kept
        assert expected._cache[next(iter(expected._cache))][1] is first
    finally:
        con.close()
