"""Tests for the synthetic clinic generator (pipelines.synth).

The generator feeds demos, the importer's tests and the performance benchmark, so these tests
check three things: the files follow the import format exactly, the data behave like a real
ketamine clinic (the realism targets are computed here independently from the CSV files, not
from the generator's internals), and messy mode's manifest tells the truth about every bad row.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.synth import generate_clinic
from pipelines.synth.dates import iso_utc_from_local
from pipelines.synth.writer import Coded, IdText, Table, write_table

END = dt.date(2026, 10, 31)
CLINIC_TZ = "America/New_York"
FILES = ("patients.csv", "sessions.csv", "assessments.csv")
HEADERS = {
    "patients.csv": "patient_id,birth_year,sex,primary_indication,site,clinician,intake_date,contraindications",
    "sessions.csv": "session_id,patient_id,started_at,route,dose_mg,weight_kg,duration_min,clinician,site,"
    "bp_pre_sys,bp_pre_dia,bp_peak_sys,bp_peak_dia,hr_pre,spo2_min,cadss_total,side_effects,adverse_event",
    "assessments.csv": "assessment_id,patient_id,instrument,administered_at,session_id,"
    + ",".join(f"item_{i}" for i in range(1, 21))
    + ",total",
}
MANIFEST_HEADER = "file\trow\tkey\tfault"
CANONICAL = {"PHQ-9": "PHQ-9", "phq9": "PHQ-9", "GAD-7": "GAD-7", "GAD7": "GAD-7",
             "PAIN-NRS": "PAIN-NRS", "pain nrs": "PAIN-NRS", "PCL-5": "PCL-5", "pcl5": "PCL-5"}
SCALE_ITEMS = {"PHQ-9": (9, 3), "GAD-7": (7, 3), "PAIN-NRS": (1, 10), "PCL-5": (20, 4)}  # items, item max
INDICATIONS = {"depression", "bipolar_depression", "anxiety", "ptsd", "chronic_pain", "other"}
FAULTS = {
    "unparseable_date", "impossible_date", "future_date", "before_birth", "before_intake", "unknown_patient",
    "unknown_instrument", "item_out_of_range", "item_not_whole", "total_mismatch", "total_out_of_range",
    "impossible_vitals", "dose_out_of_range", "conflicting_duplicate", "wrong_field_count", "bad_patient_row",
    "exact_duplicate",
}
REALISM_PATIENTS, REALISM_SEED = 2000, 11


# --------------------------------------------------------------------------- fixtures & readers

@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate_clinic(out, REALISM_PATIENTS, seed=REALISM_SEED)
    return out


@pytest.fixture(scope="module")
def clinic(clean_dir) -> dict[str, pd.DataFrame]:
    return _read(clean_dir)


@pytest.fixture(scope="module")
def messy_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """The same small clinic written clean and messy."""
    clean, messy = tmp_path_factory.mktemp("small_clean"), tmp_path_factory.mktemp("small_messy")
    generate_clinic(clean, 300, seed=5)
    generate_clinic(messy, 300, seed=5, messy=True)
    return clean, messy


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    """Files as text (blank = ''), plus parsed clinic-local times and scored PHQ-9 etc."""
    p, s, a = (pd.read_csv(folder / f, dtype=str, keep_default_na=False) for f in FILES)
    s["start"] = _clinic_local(s["started_at"])
    s = s.sort_values(["patient_id", "start"], kind="stable")
    s["k"] = s.groupby("patient_id").cumcount() + 1
    a["scale"] = a["instrument"].map(CANONICAL)
    a["at"] = pd.to_datetime(a["administered_at"], format="%Y-%m-%dT%H:%M:%S")
    a["score"] = _scores(a)
    return {"patients": p, "sessions": s, "assessments": a}


def _clinic_local(text: pd.Series) -> pd.Series:
    """Naive clinic-local times; rows with an explicit offset are converted to the clinic zone."""
    stamps = pd.to_datetime(text, format="ISO8601", utc=True)
    has_offset = text.str.contains(r"[+-]\d\d:\d\d$|Z$")
    local = stamps.dt.tz_convert(CLINIC_TZ).dt.tz_localize(None)
    naive = pd.to_datetime(text.str.slice(0, 19), format="%Y-%m-%dT%H:%M:%S")
    return local.where(has_offset, naive)


def _scores(a: pd.DataFrame) -> pd.Series:
    """Total if given, else the sum of the scale's items when all are answered (no prorating)."""
    score = pd.to_numeric(a["total"].replace("", np.nan))
    for scale, (n_items, _) in SCALE_ITEMS.items():
        rows = a["scale"] == scale
        items = a.loc[rows, [f"item_{i}" for i in range(1, n_items + 1)]].replace("", np.nan).astype(float)
        from_items = items.sum(axis=1).where(items.notna().all(axis=1))
        score[rows] = score[rows].fillna(from_items)
    return score


def _baselines(c: dict, scale: str) -> pd.Series:
    """Latest scored assessment from first-infusion date - 30 days up to the first infusion's start."""
    first = c["sessions"].loc[c["sessions"]["k"] == 1].set_index("patient_id")["start"]
    a = c["assessments"]
    a = a[(a["scale"] == scale) & a["score"].notna()].assign(first=lambda x: x["patient_id"].map(first))
    window = (a["at"].dt.normalize() >= a["first"].dt.normalize() - pd.Timedelta(days=30)) & (a["at"] <= a["first"])
    return a[window].sort_values("at").groupby("patient_id")["score"].last()


def _after_induction(c: dict, scale: str) -> pd.Series:
    """First scored assessment on or after the sixth infusion's start time."""
    sixth = c["sessions"].loc[c["sessions"]["k"] == 6].set_index("patient_id")["start"]
    a = c["assessments"]
    a = a[(a["scale"] == scale) & a["score"].notna()].assign(sixth=lambda x: x["patient_id"].map(sixth))
    return a[a["at"] >= a["sixth"]].sort_values("at").groupby("patient_id")["score"].first()


def _phq9_outcomes(c: dict) -> pd.DataFrame:
    """Completers with a PHQ-9 baseline in caseness (>= 10) and an after-induction score."""
    out = pd.DataFrame({"base": _baselines(c, "PHQ-9"), "after": _after_induction(c, "PHQ-9")}).dropna()
    return out[out["base"] >= 10]


def _started_before(c: dict, days: int) -> pd.Index:
    """Patients whose first infusion is at least `days` before the end (not cut short by it)."""
    s = c["sessions"]
    first = s.loc[s["k"] == 1].set_index("patient_id")["start"]
    return first.index[first <= pd.Timestamp(END) - pd.Timedelta(days=days)]


# --------------------------------------------------------------------------- determinism & format

def test_same_seed_gives_identical_files(tmp_path):
    """Reproducible demos and benchmarks need byte-identical output for the same arguments."""
    for name in ("a", "b"):
        generate_clinic(tmp_path / name, 150, seed=3, messy=True)
    for f in (*FILES, "messy_manifest.tsv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_different_seed_gives_different_files(tmp_path):
    """The seed must actually drive the data."""
    generate_clinic(tmp_path / "a", 150, seed=3)
    generate_clinic(tmp_path / "b", 150, seed=4)
    for f in FILES:
        assert (tmp_path / "a" / f).read_bytes() != (tmp_path / "b" / f).read_bytes(), f


def test_returned_counts_are_the_data_rows_written(tmp_path):
    """Callers report the counts, so they must match the files (header excluded)."""
    counts = generate_clinic(tmp_path, 120, seed=1, messy=True)
    assert set(counts) == {*FILES, "appointments.csv", "messy_manifest.tsv"}
    for f, n in counts.items():
        with open(tmp_path / f, newline="", encoding="utf-8") as fh:
            assert sum(1 for _ in csv.reader(fh)) - 1 == n, f


def test_headers_are_exactly_the_import_format(clean_dir, messy_dirs):
    """The importer matches columns by name and order."""
    for folder in (clean_dir, *messy_dirs):
        for f in FILES:
            assert (folder / f).read_text(encoding="utf-8").split("\n", 1)[0] == HEADERS[f]
    assert (messy_dirs[1] / "messy_manifest.tsv").read_text().split("\n", 1)[0] == MANIFEST_HEADER


def test_ids_are_unique_and_well_formed(clinic):
    """Ids are join keys: they must be unique and in the documented shape."""
    p, s, a = clinic["patients"], clinic["sessions"], clinic["assessments"]
    for frame, column, pattern in ((p, "patient_id", r"\d{6}"), (s, "session_id", r"S\d{7}"),
                                   (a, "assessment_id", r"A\d{8}")):
        assert frame[column].is_unique
        assert frame[column].str.fullmatch(pattern).all()


def test_patient_ids_keep_their_leading_zeros(clean_dir):
    """`000417` and `417` are different patients to the importer; the text must be zero-padded."""
    first_line = (clean_dir / "patients.csv").read_text().split("\n")[1]
    assert first_line.startswith("000")
    sessions = (clean_dir / "sessions.csv").read_text().split("\n")[1]
    assert re.match(r"S\d{7},\d{6},", sessions)


def test_every_reference_points_to_an_existing_row(clinic):
    """In clean data every session and score belongs to a known patient and session."""
    p, s, a = clinic["patients"], clinic["sessions"], clinic["assessments"]
    assert set(s["patient_id"]) <= set(p["patient_id"])
    assert set(a["patient_id"]) <= set(p["patient_id"])
    linked = a.loc[a["session_id"] != ""]
    owner = s.set_index("session_id")["patient_id"]
    assert (linked["patient_id"].to_numpy() == owner.loc[linked["session_id"]].to_numpy()).all()


def test_nothing_is_dated_after_the_end_or_before_the_period(tmp_path):
    """Data span `years` years ending at `end`; late starters are cut mid-course, not extended."""
    end, years = dt.date(2025, 6, 30), 1.5
    generate_clinic(tmp_path, 400, seed=9, end=end, years=years)
    c = _read(tmp_path)
    start = pd.Timestamp(end) - pd.Timedelta(days=round(years * 365.25))
    stamps = {
        "intake": pd.to_datetime(c["patients"]["intake_date"]),
        "session": c["sessions"]["start"],
        "session as written": pd.to_datetime(c["sessions"]["started_at"].str.slice(0, 10)),
        "assessment": c["assessments"]["at"],
    }
    for what, values in stamps.items():
        assert values.dt.date.max() <= end, what
        assert values.min() >= start, what
    # Someone is still mid-induction at the end.
    last = c["sessions"].groupby("patient_id")["start"].max()
    n = c["sessions"].groupby("patient_id").size()
    assert ((last >= pd.Timestamp(end) - pd.Timedelta(days=10)) & (n < 6)).any()


def test_writer_quotes_exactly_like_the_csv_module(tmp_path):
    """Free-text fields (adverse events) contain commas and quotes; the fast writer must agree
    byte for byte with csv.writer so any CSV reader gets the same fields back."""
    texts = np.array(['vomiting, resolved', 'said "ouch"', "plain", "", "line\nbreak"], dtype=object)
    table = Table("t.csv", {
        "id": IdText(np.array([1, 2, -1, 4, 5]), "S", 3),
        "text": texts,
        "coded": Coded(np.array([0, 1, -1, 0, 1]), np.array(["a,b", "c"], dtype=object)),
        "number": np.array([1.25, np.nan, 3.0, 10.0, 0.04]),
        "count": np.array([3, -1, 0, 12, 7]),
        "when": np.array(["2025-03-03T09:30", "NaT", "2025-03-03T09:30", "2024-01-01T00:00", "2025-12-31T23:59"],
                         dtype="datetime64[m]"),
    })
    write_table(tmp_path, table, {2: [["extra", "row, with comma"]]})
    expected = tmp_path / "expected.csv"
    with open(expected, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "text", "coded", "number", "count", "when"])
        rows = [["S001", texts[0], "a,b", "1.2", "3", "2025-03-03T09:30:00"],
                ["S002", texts[1], "c", "", "", ""],
                ["extra", "row, with comma"],
                ["", "plain", "", "3.0", "0", "2025-03-03T09:30:00"],
                ["S004", "", "a,b", "10.0", "12", "2024-01-01T00:00:00"],
                ["S005", texts[4], "c", "0.0", "7", "2025-12-31T23:59:00"]]
        w.writerows(rows)
    assert (tmp_path / "t.csv").read_bytes() == expected.read_bytes()


# --------------------------------------------------------------------------- calendar & time zones

def test_utc_offsets_respect_daylight_saving():
    """A New York clinic is UTC-5 in winter and UTC-4 in summer, switching on the DST dates."""
    local = np.array(["2025-01-15T09:30", "2025-07-15T09:30", "2025-03-07T09:00", "2025-03-10T09:00",
                      "2025-10-31T16:00", "2025-11-03T16:00"], dtype="datetime64[m]")
    assert list(iso_utc_from_local(local)) == [
        "2025-01-15T14:30:00+00:00", "2025-07-15T13:30:00+00:00", "2025-03-07T14:00:00+00:00",
        "2025-03-10T13:00:00+00:00", "2025-10-31T20:00:00+00:00", "2025-11-03T21:00:00+00:00",
    ]


def test_some_session_times_carry_a_utc_offset_for_the_same_instant(clinic):
    """~2% of start times are exported in UTC; converted back they are ordinary clinic slots,
    and the pre-infusion score is still 10-45 minutes before them."""
    s, a = clinic["sessions"], clinic["assessments"]
    utc = s["started_at"].str.endswith("+00:00")
    assert 0.01 <= utc.mean() <= 0.03
    local = s.loc[utc, "start"]
    assert ((local.dt.hour * 60 + local.dt.minute).between(8 * 60 + 45, 16 * 60)).all()
    pre = a.loc[a["session_id"] != ""].merge(s[["session_id", "start"]], on="session_id")
    lead = (pre["start"] - pre["at"]).dt.total_seconds() / 60
    assert lead.between(10, 45).all()
    assert pre["session_id"].isin(s.loc[utc, "session_id"]).sum() > 20


def test_infusions_are_on_weekdays_in_clinic_hours(clinic):
    """Clinic hours are 08:00-17:00 on weekdays; a session must also end by 17:00."""
    s = clinic["sessions"]
    assert (s["start"].dt.day_of_week < 5).all()
    end = s["start"] + pd.to_timedelta(s["duration_min"].astype(int), unit="m")
    assert (s["start"].dt.hour >= 8).all()
    assert (end.dt.hour * 60 + end.dt.minute <= 17 * 60).all()
    intake = pd.to_datetime(clinic["patients"]["intake_date"])
    assert (intake.dt.day_of_week < 5).all()


def test_intake_is_up_to_three_weeks_before_the_first_infusion(clinic):
    s, p = clinic["sessions"], clinic["patients"].set_index("patient_id")
    first = s.loc[s["k"] == 1].set_index("patient_id")["start"].dt.normalize()
    gap = (first - pd.to_datetime(p["intake_date"]).reindex(first.index)).dt.days
    assert gap.between(0, 21).all()


# --------------------------------------------------------------------------- course shape

def test_induction_is_six_infusions_over_two_to_three_weeks(clinic):
    """Mon/Wed/Fri-ish: six infusions usually take 10-21 days."""
    s = clinic["sessions"]
    first = s[s["k"] == 1].set_index("patient_id")["start"]
    sixth = s[s["k"] == 6].set_index("patient_id")["start"]
    span = (sixth - first.reindex(sixth.index)).dt.days
    assert 11 <= span.median() <= 18
    assert span.between(10, 23).mean() >= 0.85
    induction_gaps = s[s["k"].between(2, 6)].groupby("patient_id")["start"].diff().dropna().dt.days
    assert induction_gaps.min() >= 1


def test_a_fifth_stop_before_completing_induction(clinic):
    """15-25% of patients stop before the sixth infusion (counting only those not cut by the end)."""
    s = clinic["sessions"]
    n = s.groupby("patient_id").size().reindex(_started_before(clinic, 60))
    assert 0.15 <= (n < 6).mean() <= 0.25


def test_about_half_of_completers_continue_into_maintenance_every_2_to_8_weeks(clinic):
    """Maintenance: roughly 40-50% of completers, booster every 2-8 weeks, a few with 10+."""
    s = clinic["sessions"]
    n = s.groupby("patient_id").size().reindex(_started_before(clinic, 120))
    completers = n[n >= 6]
    assert 0.38 <= (completers > 6).mean() <= 0.55
    assert (completers >= 16).sum() >= 5  # six induction + ten or more maintenance infusions
    gaps = s.assign(gap=s["start"].dt.normalize().groupby(s["patient_id"]).diff().dt.days).loc[s["k"] >= 7, "gap"]
    assert 10 <= gaps.min() and gaps.max() <= 75
    assert gaps.between(14, 56).mean() >= 0.85


# --------------------------------------------------------------------------- realism of scores

def test_baseline_phq9_is_mostly_moderately_severe_or_severe(clinic):
    base = _baselines(clinic, "PHQ-9")
    assert 17 <= base.mean() <= 19
    assert (base >= 10).mean() >= 0.85


def test_a_few_patients_have_no_baseline_in_the_30_day_window(clinic):
    """Old referral scores (31-40 days) must show up as missing baselines, not silently count."""
    missing = 1 - len(_baselines(clinic, "PHQ-9")) / len(clinic["patients"])
    assert 0.01 <= missing <= 0.08


def test_response_and_remission_after_induction_match_real_world_cohorts(clinic):
    """About half respond (>= 50% drop) and a fifth to a third remit (PHQ-9 < 5) after induction."""
    o = _phq9_outcomes(clinic)
    assert len(o) > 800
    response = ((o["base"] - o["after"]) / o["base"] >= 0.5).mean()
    remission = (o["after"] < 5).mean()
    assert 0.40 <= response <= 0.60
    assert 0.20 <= remission <= 0.35


def test_a_minority_does_not_respond(clinic):
    o = _phq9_outcomes(clinic)
    little_change = ((o["base"] - o["after"]) / o["base"] < 0.25).mean()
    assert 0.10 <= little_change <= 0.35


def test_most_improvement_comes_after_the_first_three_infusions(clinic):
    """Mean PHQ-9 before infusion k: steep early, flat later."""
    s, a = clinic["sessions"], clinic["assessments"]
    pre = a[(a["scale"] == "PHQ-9") & (a["session_id"] != "")].merge(s[["session_id", "k"]], on="session_id")
    mean = pre.groupby("k")["score"].mean()
    base = _baselines(clinic, "PHQ-9").mean()
    after = _after_induction(clinic, "PHQ-9").mean()
    total_drop = base - after
    assert total_drop > 6
    assert base - mean[4] >= 0.75 * total_drop  # after three infusions
    assert mean[2] - mean[3] > mean[5] - mean[6]


def test_some_responders_relapse_during_maintenance(clinic):
    """Scores rise again in maintenance for some patients who had halved their PHQ-9."""
    s, a = clinic["sessions"], clinic["assessments"]
    base = _baselines(clinic, "PHQ-9")
    phq = a[(a["scale"] == "PHQ-9") & a["score"].notna()].merge(s[["session_id", "k"]], on="session_id")
    induction_best = phq[phq["k"] <= 7].groupby("patient_id")["score"].min()
    maintenance_last = phq[phq["k"] >= 9].sort_values("at").groupby("patient_id")["score"].last()
    frame = pd.DataFrame({"base": base, "best": induction_best, "last": maintenance_last}).dropna()
    responded = frame[frame["best"] <= 0.5 * frame["base"]]
    relapsed = responded[responded["last"] >= 0.8 * responded["base"]]
    assert len(responded) > 100
    assert 0.03 <= len(relapsed) / len(responded) <= 0.4


def test_other_scales_improve_in_step_with_depression_but_less(clinic):
    """GAD-7 and pain change with PHQ-9 (correlated) but less; PCL-5 baselines are mostly >= 33."""
    change = {}
    for scale in ("PHQ-9", "GAD-7", "PAIN-NRS"):
        frame = pd.DataFrame({"b": _baselines(clinic, scale), "f": _after_induction(clinic, scale)}).dropna()
        frame = frame[frame["b"] > 0]
        change[scale] = (frame["f"] - frame["b"]) / frame["b"]
    assert change["PHQ-9"].mean() < change["GAD-7"].mean() < 0
    assert change["GAD-7"].mean() < change["PAIN-NRS"].mean() < 0
    both = pd.DataFrame({"phq": change["PHQ-9"], "gad": change["GAD-7"]}).dropna()
    assert both["phq"].corr(both["gad"]) > 0.3
    pcl = _baselines(clinic, "PCL-5")
    assert len(pcl) > 100 and (pcl >= 33).mean() >= 0.8


def test_scales_are_given_to_the_right_patients(clinic):
    p = clinic["patients"].set_index("patient_id")["primary_indication"]
    a = clinic["assessments"]
    takers = {scale: set(a.loc[a["scale"] == scale, "patient_id"]) for scale in SCALE_ITEMS}
    assert takers["PHQ-9"] == set(p.index)
    assert set(p[p == "ptsd"].index) <= takers["PCL-5"] and set(p[p != "ptsd"].index).isdisjoint(takers["PCL-5"])
    assert set(p[p.isin(["anxiety", "ptsd"])].index) <= takers["GAD-7"]
    dep = p[p == "depression"].index
    assert 0.5 <= len(takers["GAD-7"] & set(dep)) / len(dep) <= 0.7
    assert set(p[p == "chronic_pain"].index) <= takers["PAIN-NRS"]


def test_self_harm_item_is_flagged_in_severe_baselines_and_fades(clinic):
    """PHQ-9 item 9 > 0 in ~10-20% of severe baselines, rarer once patients improve."""
    a = clinic["assessments"]
    s = clinic["sessions"]
    first = s.loc[s["k"] == 1].set_index("patient_id")["start"]
    phq = a[(a["scale"] == "PHQ-9") & (a["item_9"] != "")].assign(first=lambda x: x["patient_id"].map(first))
    baseline = phq[phq["at"] <= phq["first"]]
    severe = baseline[baseline["score"] >= 20]
    later = phq[phq["at"] > phq["first"] + pd.Timedelta(days=14)]
    flagged_severe = (severe["item_9"].astype(int) > 0).mean()
    assert 0.10 <= flagged_severe <= 0.22
    assert (later["item_9"].astype(int) > 0).mean() < flagged_severe / 2


def test_items_are_in_range_and_totals_add_up(clinic):
    """Clean rows: whole items within the scale's range; a given total equals the item sum."""
    a = clinic["assessments"]
    for scale, (n_items, item_max) in SCALE_ITEMS.items():
        rows = a[a["scale"] == scale]
        items = rows[[f"item_{i}" for i in range(1, 21)]].replace("", np.nan).astype(float)
        scored = items.iloc[:, :n_items]
        assert ((scored >= 0) & (scored <= item_max) | scored.isna()).all().all(), scale
        extra = items.iloc[:, n_items:]
        if scale == "PHQ-9":  # item_10: the difficulty question, outside the total
            assert extra.iloc[:, 0].between(0, 3).mean() > 0.4 and extra.iloc[:, 0].isna().mean() > 0.4
            extra = extra.iloc[:, 1:]
        assert extra.isna().all().all(), scale
        total = pd.to_numeric(rows["total"].replace("", np.nan))
        complete = scored.notna().all(axis=1)
        given = total.notna() & complete
        assert (total[given] == scored[given].sum(axis=1)).all(), scale
        assert total[~complete & scored.notna().any(axis=1)].isna().all(), scale  # missing items -> blank total
        assert total.dropna().between(0, n_items * item_max).all()


def test_export_gaps_look_like_a_real_clinic(clinic):
    """Totals blank on ~20% of complete rows, a few rows with missing items, a few total-only
    rows, pain as item/total/both, a few legacy instrument spellings."""
    a = clinic["assessments"]
    phq = a[a["scale"] == "PHQ-9"]
    items = phq[[f"item_{i}" for i in range(1, 10)]] != ""
    complete = items.all(axis=1)
    assert 0.15 <= (phq.loc[complete, "total"] == "").mean() <= 0.25
    n_missing = (~items).sum(axis=1)
    assert 0.005 <= n_missing.between(1, 2).mean() <= 0.03
    assert 0 < n_missing.between(3, 8).mean() <= 0.01
    assert 0.003 <= ((n_missing == 9) & (phq["total"] != "")).mean() <= 0.02
    pain = a[a["scale"] == "PAIN-NRS"]
    item_only = ((pain["item_1"] != "") & (pain["total"] == "")).mean()
    total_only = ((pain["item_1"] == "") & (pain["total"] != "")).mean()
    assert 0.4 <= item_only <= 0.6 and 0.15 <= total_only <= 0.35
    both = pain[(pain["item_1"] != "") & (pain["total"] != "")]
    assert (both["item_1"] == both["total"]).all()
    variant = a["instrument"] != a["scale"]
    assert a["scale"].notna().all() and 0.02 <= variant.mean() <= 0.04


def test_scores_are_skipped_sometimes_and_follow_up_after_induction_is_common(clinic):
    s, a = clinic["sessions"], clinic["assessments"]
    phq_sessions = set(a.loc[(a["scale"] == "PHQ-9") & (a["session_id"] != ""), "session_id"])
    later = s[s["k"] >= 2]
    skipped = 1 - later["session_id"].isin(phq_sessions).mean()
    assert 0.04 <= skipped <= 0.12
    sixth = s[s["k"] == 6].set_index("patient_id")["start"]
    fu = a[(a["scale"] == "PHQ-9") & (a["session_id"] == "")].assign(sixth=lambda x: x["patient_id"].map(sixth))
    days = (fu["at"] - fu["sixth"]).dt.total_seconds() / 86400
    fu = fu[days > 0]
    assert ((fu["at"] - fu["sixth"]).dt.days.between(0, 7)).all()
    cut = sixth[sixth <= pd.Timestamp(END) - pd.Timedelta(days=8)]
    assert 0.75 <= cut.index.isin(fu["patient_id"]).mean() <= 0.95


# --------------------------------------------------------------------------- sessions & patients

def test_session_doses_vitals_and_dissociation_are_plausible(clinic):
    s = clinic["sessions"]
    num = lambda c: pd.to_numeric(s[c])  # noqa: E731
    assert s["route"].value_counts(normalize=True)["iv"] == pytest.approx(0.85, abs=0.05)
    iv = s["route"] == "iv"
    mg_per_kg = num("dose_mg") / num("weight_kg")
    assert mg_per_kg[iv].between(0.49, 1.01).all()
    assert mg_per_kg[iv & (s["k"] == 1)].round(2).eq(0.5).mean() > 0.95
    assert mg_per_kg[iv & (s["k"] == 6)].mean() > mg_per_kg[iv & (s["k"] == 1)].mean()  # slow responders titrated
    nasal = s["route"] == "intranasal"
    assert set(num("dose_mg")[nasal]) <= {56.0, 84.0} and (num("duration_min")[nasal] == 120).all()
    assert mg_per_kg[s["route"] == "im"].between(0.49, 1.01).all()
    assert num("duration_min")[iv].between(35, 60).all() and num("duration_min")[iv].median() == 40
    weight_range = num("weight_kg").groupby(s["patient_id"]).agg(lambda w: w.max() - w.min())
    assert (weight_range.round(1) <= 2.0).all()  # stable per patient, +-1 kg
    assert num("weight_kg").between(45, 140).all()
    assert num("bp_pre_sys").between(105, 145).all() and num("bp_pre_dia").between(65, 92).all()
    assert (num("bp_peak_sys") > num("bp_pre_sys")).all()
    assert (num("bp_peak_sys") - num("bp_peak_dia") >= 30).all()  # a diastolic excursion lifts systolic too
    excursion = (num("bp_peak_sys") >= 180) | (num("bp_peak_dia") >= 110)
    assert 0.015 <= excursion.mean() <= 0.035
    by_patient = excursion.groupby(s["patient_id"]).sum()
    assert by_patient.max() >= 3  # concentrated in excursion-prone patients
    assert num("hr_pre").between(55, 100).all() and num("spo2_min").between(92, 99).all()
    cadss = num("cadss_total")
    assert cadss.between(0, 92).all()
    assert 15 <= cadss[s["k"] == 1].mean() <= 20 and 5 <= cadss[s["k"] >= 8].mean() <= 10
    effects = s["side_effects"]
    assert effects[iv].str.contains("dissociation").mean() > 0.6
    assert 0.10 <= effects.str.contains("nausea").mean() <= 0.20
    assert 0 < (s["adverse_event"] != "").mean() < 0.01


def test_patients_look_like_the_clinic_population(clinic):
    p = clinic["patients"]
    assert p["sex"].value_counts(normalize=True)["female"] == pytest.approx(0.58, abs=0.04)
    shares = p["primary_indication"].value_counts(normalize=True)
    assert set(shares.index) == INDICATIONS and shares["depression"] == pytest.approx(0.5, abs=0.04)
    assert pd.to_numeric(p["birth_year"]).between(1940, 2005).all()
    sites = clinic["sessions"].groupby("clinician")["site"]
    home = sites.agg(lambda x: x.value_counts().index[0])
    assert len(home) == 5 and sorted(home.value_counts().tolist()) == [2, 3]  # 3 at one site, 2 at the other
    assert (sites.agg(lambda x: x.value_counts(normalize=True).iloc[0]) > 0.85).all()  # mainly at home
    listed = p.loc[p["contraindications"] != "", "contraindications"]
    assert 0.02 <= len(listed) / len(p) <= 0.1 and listed.str.contains("controlled hypertension").any()


# --------------------------------------------------------------------------- messy mode

def _messy(messy_dir: Path):
    rows = {}
    for f in FILES:
        with open(messy_dir / f, newline="", encoding="utf-8") as fh:
            rows[f] = list(csv.reader(fh))
    manifest = pd.read_csv(messy_dir / "messy_manifest.tsv", sep="\t", dtype=str, keep_default_na=False)
    return rows, manifest


def _is_iso(text: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2})?)?", text) is not None


def _parse(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if _is_iso(text) else None
    except ValueError:
        return None


class _FaultCheck:
    """Independent detectors for each fault class, run against rows of the messy files."""

    def __init__(self, rows: dict[str, list[list[str]]]):
        self.rows = rows
        self.header = {f: r[0] for f, r in rows.items()}
        patients = [r for r in rows["patients.csv"][1:] if len(r) == len(self.header["patients.csv"])]
        self.all_patient_ids = {r[0] for r in patients}
        self.birth = {r[0]: int(r[1]) for r in patients if r[1].isdigit()}
        self.intake = {r[0]: dt.date.fromisoformat(r[6]) for r in patients}
        self.first_seen: dict[str, dict[tuple, int]] = {}  # file -> row content -> first row number
        self.versions: dict[str, dict[str, set[tuple]]] = {}  # file -> id -> distinct row contents
        for f, file_rows in rows.items():
            first, versions = {}, {}
            for n, r in enumerate(file_rows[1:], start=1):
                first.setdefault(tuple(r), n)
                versions.setdefault(r[0], set()).add(tuple(r))
            self.first_seen[f], self.versions[f] = first, versions

    def field(self, f: str, row: list[str], name: str) -> str:
        return row[self.header[f].index(name)]

    def check(self, f: str, n: int, fault: str) -> bool:
        """Does data row n (1-based) of file f show this fault?"""
        row = self.rows[f][n]
        if fault == "wrong_field_count":
            return len(row) != len(self.header[f])
        if len(row) != len(self.header[f]):
            return False
        if fault == "exact_duplicate":
            return self.first_seen[f][tuple(row)] < n
        if fault == "conflicting_duplicate":
            return len(self.versions[f][row[0]]) > 1
        if f == "patients.csv":
            return fault == "bad_patient_row" and (
                not row[1].isdigit() or self.field(f, row, "primary_indication") not in INDICATIONS)
        date_column = "started_at" if f == "sessions.csv" else "administered_at"
        text = self.field(f, row, date_column)
        when = _parse(text)
        if fault == "unparseable_date":
            return not _is_iso(text)
        if fault == "impossible_date":
            return _is_iso(text) and when is None
        if fault == "future_date":
            return when is not None and when.date() > END
        if fault == "unknown_patient":
            return row[1] not in self.all_patient_ids
        if f == "sessions.csv":
            vitals = {c: float(self.field(f, row, c)) for c in ("bp_pre_sys", "bp_peak_sys", "spo2_min")}
            if fault == "impossible_vitals":
                return not (50 <= vitals["bp_pre_sys"] <= 300 and 50 <= vitals["bp_peak_sys"] <= 300
                            and vitals["spo2_min"] <= 100)
            if fault == "dose_out_of_range":
                dose = float(self.field(f, row, "dose_mg"))
                return self.field(f, row, "route") == "iv" and not 1 <= dose <= 500
            return False
        scale = CANONICAL.get(row[2])
        if fault == "before_birth":
            return when is not None and row[1] in self.birth and when.year < self.birth[row[1]]
        if fault == "before_intake":
            return (when is not None and row[1] in self.intake and row[1] in self.birth
                    and when.year >= self.birth[row[1]] and when.date() < self.intake[row[1]] - dt.timedelta(days=365))
        if fault == "unknown_instrument":
            return scale is None
        if scale is None:
            return False
        n_items, item_max = SCALE_ITEMS[scale]
        items = [self.field(f, row, f"item_{i}") for i in range(1, n_items + 1)]
        whole = [v for v in items if re.fullmatch(r"-?\d+", v)]
        if fault == "item_not_whole":
            return any(v != "" and not re.fullmatch(r"-?\d+", v) for v in items)
        if fault == "item_out_of_range":
            return any(not 0 <= int(v) <= item_max for v in whole)
        total = self.field(f, row, "total")
        if fault == "total_out_of_range":
            return total != "" and not 0 <= int(total) <= n_items * item_max
        if fault == "total_mismatch":
            return (total != "" and len(whole) == n_items and all(0 <= int(v) <= item_max for v in whole)
                    and int(total) != sum(int(v) for v in whole))
        return False


def test_messy_manifest_covers_every_fault_class_at_least_twice(messy_dirs):
    _, manifest = _messy(messy_dirs[1])
    counts = manifest["fault"].value_counts()
    assert set(counts.index) == FAULTS
    assert (counts >= 2).all()
    for fault in ("unparseable_date", "impossible_date", "future_date", "unknown_patient", "exact_duplicate",
                  "conflicting_duplicate", "wrong_field_count"):
        files = set(manifest.loc[manifest["fault"] == fault, "file"])
        assert {"sessions.csv", "assessments.csv"} <= files, fault


def test_messy_manifest_rows_really_contain_their_fault(messy_dirs):
    """Each manifest entry points at a row whose id is the key and that shows the fault."""
    rows, manifest = _messy(messy_dirs[1])
    checker = _FaultCheck(rows)
    for entry in manifest.itertuples():
        row = rows[entry.file][int(entry.row)]
        assert row[0] == entry.key, entry
        assert checker.check(entry.file, int(entry.row), entry.fault), entry


def test_rows_not_in_the_messy_manifest_are_clean(messy_dirs):
    """The manifest is complete: no detector fires on a row it does not list."""
    rows, manifest = _messy(messy_dirs[1])
    checker = _FaultCheck(rows)
    listed = set(zip(manifest["file"], manifest["row"].astype(int)))
    for f, file_rows in rows.items():
        for n in range(1, len(file_rows)):
            if (f, n) in listed:
                continue
            fired = [fault for fault in FAULTS if checker.check(f, n, fault)]
            assert not fired, (f, n, file_rows[n], fired)


def test_messy_rows_are_mixed_in_and_keep_ids_apart(messy_dirs):
    """Bad rows are spread through the files, and only duplicates reuse an id."""
    rows, manifest = _messy(messy_dirs[1])
    for f in FILES:
        positions = sorted(manifest.loc[manifest["file"] == f, "row"].astype(int))
        n_rows = len(rows[f]) - 1
        assert positions != list(range(n_rows - len(positions) + 1, n_rows + 1)), f  # not simply appended
        if f != "patients.csv":
            assert positions[0] < n_rows / 2 < positions[-1], f
    fresh = manifest[~manifest["fault"].isin({"exact_duplicate", "conflicting_duplicate"})]
    for f in FILES:
        keys = [r[0] for r in rows[f][1:]]
        for key in fresh.loc[fresh["file"] == f, "key"]:
            assert keys.count(key) == 1, (f, key)


def test_messy_mode_leaves_the_clean_rows_as_they_were(messy_dirs):
    """Messy = the clean clinic plus inserted rows: dropping every listed row (and, for the
    conflicting pairs, the clean original too) gives back the clean files row for row."""
    clean_dir, messy_dir = messy_dirs
    rows, manifest = _messy(messy_dir)
    for f in FILES:
        listed = manifest[manifest["file"] == f]
        conflicting = set(listed.loc[listed["fault"] == "conflicting_duplicate", "key"])
        drop = set(listed["row"].astype(int))
        kept = [r for n, r in enumerate(rows[f]) if n not in drop]
        with open(clean_dir / f, newline="", encoding="utf-8") as fh:
            clean = [r for n, r in enumerate(csv.reader(fh)) if n == 0 or r[0] not in conflicting]
        assert kept == clean, f


def test_small_clinic_is_fast(tmp_path):
    """300 patients (the demo size) must take well under two seconds."""
    import time

    started = time.perf_counter()
    generate_clinic(tmp_path, 300, seed=2, messy=True)
    assert time.perf_counter() - started < 2.0


def test_bookings_are_the_next_planned_infusions_and_leave_every_other_row_alone(tmp_path):
    """pipelines/synth/bookings.py: the week's bookings after the end date, drawn from no random
    stream, so the committed sample's other files are what they were before bookings existed."""
    counts = generate_clinic(tmp_path, 300, seed=42)
    for f in FILES:  # byte for byte the committed sample (made by `make sample`)
        assert (tmp_path / f).read_bytes() == (Path(__file__).resolve().parents[1] / "data" / "sample" / f).read_bytes(), f
    bookings = pd.read_csv(tmp_path / "appointments.csv", dtype=str)
    sessions = pd.read_csv(tmp_path / "sessions.csv", dtype=str)
    assert counts["appointments.csv"] == len(bookings) > 0
    last_day = sessions["started_at"].str[:10].max()  # 2026-10-30
    days = bookings["planned_at"].str[:10]
    assert (days > last_day).all() and (days <= "2026-11-07").all()
    # the first clinic day's patients are booked the day right after the data ends (the demo's today)
    assert (days == "2026-10-31").sum() >= 5
    assert bookings["patient_id"].is_unique and set(bookings["status"]) == {"booked"}
