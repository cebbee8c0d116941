"""Data quality (pipelines/analytics/ingest_log.py and coverage.py) against a hand-made clinic loaded twice, the
messy synthetic export and its answer key, the sample clinic and an empty database.

The clinic: infusions at 09:00 in March 2025 (intake 2 Jan 2025); baseline window 30 days.

| patient   | site      | infusions (March) | scores                                                            |
|-----------|-----------|-------------------|-------------------------------------------------------------------|
| P1        | Northside | 3, 5, 7           | PHQ-9 3 Mar 08:30, 5 Mar 08:30, 6 Mar 10:00, 7 Mar 08:30; GAD-7 1 Mar |
| EDGE30    | Northside | 3, 5              | PHQ-9 1 Feb (exactly 30 days before), 5 Mar 09:00 (at the start)   |
| P2        | Northside | 3, 5              | PHQ-9 15 Jan (47 days before); 2 Mar incomplete (3 items missing)  |
| P3        | Northside | 3                 | PHQ-9 31 Jan (31 days before: too early)                           |
| P4        | Riverside | 3, 5              | PHQ-9 3 Mar 09:30 (after the start); GAD-7 4 Mar                   |
| P5        | Riverside | 3                 | GAD-7 2 Mar; no PHQ-9 at all                                       |
| UNTREATED | Northside | none              | PHQ-9 1 Mar (not treated: never in these lists)                    |

Bad rows: sessions.csv row 12 (P1, dose 0 -> dose_out_of_range) and row 13 (patient 777 at
"next tuesday" -> unknown_patient and unparseable_date); assessments.csv row 15 (item 4 = 4 ->
item_out_of_range), rows 16-17 (A-DUP twice with different totals -> conflicting_duplicate),
row 18 (an exact repeat of row 1 -> unchanged). Run 2 re-reads the same files with P1's
clinician changed: one patient updated, everything else unchanged.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from conftest import SAMPLE, Clinic, assessment, patient, phq9_items, session
from pipelines.analytics import coverage as measurement, ingest_log
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.worklist import worklist
from pipelines.ingest import ingest
from pipelines.settings import Settings

SETTINGS = Settings()
MESSY = SAMPLE / "messy"
DAYS = {"P1": ["03", "05", "07"], "EDGE30": ["03", "05"], "P2": ["03", "05"], "P3": ["03"], "P4": ["03", "05"],
        "P5": ["03"]}


def phq9(aid, pid, when, total):
    return assessment(aid, when, "PHQ-9", phq9_items(total), pid=pid)


def gad7(aid, pid, when, items):
    return assessment(aid, when, "GAD-7", items, pid=pid)


def build_clinic(folder: Path) -> Clinic:
    clinic = Clinic(folder)
    clinic.patients = [patient(pid, site="Riverside" if pid in ("P4", "P5") else "Northside")
                       for pid in ("P1", "EDGE30", "P2", "P3", "P4", "P5", "UNTREATED")]
    clinic.sessions = [session(f"{pid}-S{k}", f"2025-03-{day}T09:00:00", pid=pid)
                       for pid, days in DAYS.items() for k, day in enumerate(days, start=1)]
    clinic.sessions += [session("S-BAD", "2025-03-09T09:00:00", pid="P1", dose=0),
                        session("S-MULTI", "next tuesday", pid="777")]
    clinic.assessments = [
        phq9("P1-A1", "P1", "2025-03-03T08:30:00", 18), phq9("P1-A2", "P1", "2025-03-05T08:30:00", 16),
        phq9("P1-A3", "P1", "2025-03-06T10:00:00", 15), phq9("P1-A4", "P1", "2025-03-07T08:30:00", 14),
        gad7("P1-G1", "P1", "2025-03-01T10:00:00", [2, 2, 2, 2, 2, 1, 1]),
        phq9("E-A1", "EDGE30", "2025-02-01T10:00:00", 17), phq9("E-A2", "EDGE30", "2025-03-05T09:00:00", 15),
        phq9("P2-A1", "P2", "2025-01-15T10:00:00", 16),
        assessment("P2-A2", "2025-03-02T10:00:00", "PHQ-9", [2, 2, 2, 2, 2, 2, None, None, None], pid="P2"),
        phq9("P3-A1", "P3", "2025-01-31T10:00:00", 20),
        phq9("P4-A1", "P4", "2025-03-03T09:30:00", 19),
        gad7("P4-G1", "P4", "2025-03-04T10:00:00", [2, 2, 2, 1, 1, 1, 1]),
        gad7("P5-G1", "P5", "2025-03-02T10:00:00", [2, 2, 2, 2, 1, 1, 1]),
        phq9("U-A1", "UNTREATED", "2025-03-01T10:00:00", 10),
        assessment("A-RANGE", "2025-03-08T08:30:00", "PHQ-9", [1, 1, 1, 4, 1, 1, 1, 1, 0], pid="P1"),
        phq9("A-DUP", "P3", "2025-03-04T10:00:00", 12), phq9("A-DUP", "P3", "2025-03-04T10:00:00", 14),
        phq9("P1-A1", "P1", "2025-03-03T08:30:00", 18),
    ]
    return clinic


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = build_clinic(tmp_path_factory.mktemp("quality"))
    clinic.load()
    clinic.patients[0] = patient("P1", clinician="Dr. Reyes")  # run 2: P1 moves to another clinician
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """The messy synthetic export ingested, and its answer key."""
    db = tmp_path_factory.mktemp("messy") / "outcomes.duckdb"
    ingest(db, [MESSY], Settings())
    with open(MESSY / "messy_manifest.tsv", encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle, delimiter="\t"))
    import duckdb
    connection = duckdb.connect(str(db), read_only=True)
    yield connection, manifest
    connection.close()


# --- ingest runs ---------------------------------------------------------------------------

def test_runs_are_listed_newest_first_with_their_counts(con):
    runs = ingest_log.ingest_runs(con, SETTINGS)
    assert runs["run_id"].tolist() == [2, 1]
    # run 1: 7 patients + 13 session rows + 18 assessment rows = 38 in; inserted 7 + 11 + 14 = 32,
    # unchanged 1 (the repeat of row 1), quarantined 2 + 3 = 5.
    # run 2: the same 38 rows; P1 updated, 6 + 11 + 15 unchanged, the same 5 still fail the checks.
    assert runs[["rows_in", "inserted", "updated", "unchanged", "quarantined", "n_files"]].values.tolist() == [
        [38, 0, 1, 32, 5, 3], [38, 32, 0, 1, 5, 3]]
    assert runs["balanced"].all()


def test_files_of_each_run_split_the_counts_by_export(con):
    files = ingest_log.ingest_files(con, SETTINGS)
    first = files[files["run_id"] == 1]
    assert first["kind"].tolist() == ["patients", "sessions", "assessments"]
    assert first[["rows_in", "inserted", "unchanged", "quarantined"]].values.tolist() == [
        [7, 7, 0, 0], [13, 11, 0, 2], [18, 14, 1, 3]]
    assert files.groupby("run_id")["rows_in"].sum().to_dict() == {1: 38, 2: 38}
    assert files["sha256"].str.len().eq(64).all()


# --- quarantine ----------------------------------------------------------------------------

def test_quarantine_counts_a_row_under_each_rule_it_broke(con):
    by_rule = ingest_log.quarantine_by_rule(con, SETTINGS)
    assert dict(zip(by_rule["rule"], by_rule["n_rows"])) == {
        "conflicting_duplicate": 2, "dose_out_of_range": 1, "item_out_of_range": 1, "unknown_patient": 1,
        "unparseable_date": 1}
    assert by_rule["rule"].iloc[0] == "conflicting_duplicate"  # most rows first
    # a file re-read in run 2 does not add its bad rows again
    assert (by_rule["first_run"] == 1).all() and (by_rule["last_run"] == 1).all()


def test_each_rule_gets_its_own_message_from_a_row_that_broke_several(con):
    by_rule = ingest_log.quarantine_by_rule(con, SETTINGS).set_index("rule")
    assert by_rule.loc["unparseable_date", "example_reason"].startswith('started_at "next tuesday"')
    assert by_rule.loc["unknown_patient", "example_reason"].startswith("patient 777 is not loaded")
    assert by_rule.loc["dose_out_of_range", "description"] == ingest_log.RULE_DESCRIPTIONS["dose_out_of_range"]


def test_quarantined_rows_give_file_row_reason_and_the_exported_values(con):
    rows = ingest_log.quarantined_rows(con, SETTINGS)
    assert [(Path(f).name, r) for f, r in zip(rows["source_file"], rows["source_row"])] == [
        ("assessments.csv", 15), ("assessments.csv", 16), ("assessments.csv", 17),
        ("sessions.csv", 12), ("sessions.csv", 13)]
    multi = rows[rows["record_key"] == "S-MULTI"].iloc[0]
    assert multi["rules"] == "unknown_patient, unparseable_date"
    assert "session_id=S-MULTI" in multi["raw_values"] and "started_at=next tuesday" in multi["raw_values"]
    assert "adverse_event" not in multi["raw_values"]  # blanks are left out
    assert '"next tuesday"' in multi["raw"]


def test_quarantined_rows_filter_by_any_of_the_chosen_rules(con):
    assert ingest_log.quarantined_rows(con, SETTINGS, rules=("unknown_patient",))["record_key"].tolist() == ["S-MULTI"]
    chosen = ingest_log.quarantined_rows(con, SETTINGS, rules=("dose_out_of_range", "conflicting_duplicate"))
    assert chosen["record_key"].tolist() == ["A-DUP", "A-DUP", "S-BAD"]


def test_messy_export_quarantines_exactly_the_rows_of_its_answer_key(messy):
    connection, manifest = messy
    rows = ingest_log.quarantined_rows(connection, SETTINGS)
    found = {(Path(f).name, int(r)) for f, r in zip(rows["source_file"], rows["source_row"])}
    expected = {(m["file"], int(m["row"])) for m in manifest if m["fault"] != "exact_duplicate"}
    assert expected <= found
    # The only other rows are knock-on effects: an assessment of an infusion that was itself
    # quarantined (the answer key lists causes, not their consequences).
    quarantined_sessions = {m["key"] for m in manifest
                            if m["file"] == "sessions.csv" and m["fault"] != "exact_duplicate"}
    extra = rows[[(Path(f).name, int(r)) not in expected for f, r in zip(rows["source_file"], rows["source_row"])]]
    assert (extra["rules"] == "unknown_session").all()
    assert all(any(f"session_id={key}" in values for key in quarantined_sessions) for values in extra["raw_values"])
    # every fault named after a rule is reported under that rule
    by_position = {(Path(f).name, int(r)): rules for f, r, rules in
                   zip(rows["source_file"], rows["source_row"], rows["rules"])}
    named = [m for m in manifest if m["fault"] in ingest_log.RULE_DESCRIPTIONS]
    assert named and all(m["fault"] in by_position[(m["file"], int(m["row"]))] for m in named)


def test_messy_exact_duplicates_load_once_and_count_as_unchanged(messy):
    connection, manifest = messy
    updates = ingest_log.updates_by_run(connection, SETTINGS).set_index("kind")
    repeats = pd.Series([m["file"].removesuffix(".csv") for m in manifest if m["fault"] == "exact_duplicate"])
    assert updates["unchanged"].to_dict() == repeats.value_counts().reindex(updates.index, fill_value=0).to_dict()
    conflicting = [m for m in manifest if m["fault"] == "conflicting_duplicate"]
    assert updates["conflicting_rows"].sum() == len(conflicting)
    assert updates["conflicting_ids"].sum() == len({m["key"] for m in conflicting})


# --- duplicates and updates ----------------------------------------------------------------

def test_updates_and_duplicates_per_run_and_export(con):
    updates = ingest_log.updates_by_run(con, SETTINGS)
    table = {(r.run_id, r.kind): (r.unchanged, r.updated, r.versions_kept, r.conflicting_rows, r.conflicting_ids)
             for r in updates.itertuples()}
    assert table == {
        (2, "patients"): (6, 1, 1, 0, 0), (2, "sessions"): (11, 0, 0, 0, 0), (2, "assessments"): (15, 0, 0, 0, 0),
        (1, "patients"): (0, 0, 0, 0, 0), (1, "sessions"): (0, 0, 0, 0, 0), (1, "assessments"): (1, 0, 0, 2, 1),
    }


def test_updated_records_name_the_replaced_version_and_both_runs(con):
    history = ingest_log.updated_records(con, SETTINGS)
    assert len(history) == 1
    row = history.iloc[0]
    assert (row.kind, row.record_key, row.replaced_by_run, row.loaded_by_run, row.source_row) == (
        "patients", "P1", 2, 1, 1)
    assert Path(row.source_file).name == "patients.csv"


# --- baselines -----------------------------------------------------------------------------

def test_baseline_coverage_per_scale_with_reasons(con):
    coverage = measurement.baseline_coverage(con, SETTINGS).set_index("instrument")
    # PHQ-9 expected of the 6 treated: baselines P1 (3 Mar 08:30) and EDGE30 (exactly 30 days);
    # P2 only incomplete in the window, P3 only too early, P4 only after the start, P5 none.
    # GAD-7 given to P1, P4, P5: P1 and P5 in the window, P4 only after the start.
    # Pain and PCL-5 were given to nobody: left out.
    assert coverage.index.tolist() == ["PHQ-9", "GAD-7"]
    columns = ["n_with_baseline", "n_without_baseline", *measurement.BASELINE_GAP_REASONS]
    assert coverage.loc["PHQ-9", columns].tolist() == [2, 4, 1, 1, 1, 1]
    assert coverage.loc["GAD-7", columns].tolist() == [2, 1, 0, 0, 1, 0]


def test_patients_without_baseline_name_the_reason_and_the_nearest_scores(con):
    gaps = measurement.patients_without_baseline(con, SETTINGS, scale="PHQ-9").set_index("patient_id")
    assert gaps["reason"].to_dict() == {"P2": "only_incomplete", "P3": "only_too_early",
                                        "P4": "none_before_start", "P5": "never_recorded"}
    # P3: 31 Jan is 31 days before 3 Mar (one day outside the window); P2's 15 Jan is 47 days
    # before, but its incomplete PHQ-9 inside the window is the more useful reason.
    assert gaps.loc["P3", "days_too_early"] == 31
    assert gaps.loc["P2", "days_too_early"] == 47
    assert str(gaps.loc["P4", "first_after_start_at"]) == "2025-03-03 09:30:00"
    assert gaps.loc["P5", "n_administrations"] == 0
    assert "UNTREATED" not in gaps.index and "EDGE30" not in gaps.index


def test_patients_without_baseline_of_every_scale_and_of_a_cohort(con):
    every = measurement.patients_without_baseline(con, SETTINGS)
    assert list(zip(every["instrument"], every["patient_id"])) == [
        ("GAD-7", "P4"), ("PHQ-9", "P2"), ("PHQ-9", "P3"), ("PHQ-9", "P4"), ("PHQ-9", "P5")]
    riverside = measurement.patients_without_baseline(con, SETTINGS, cohort=CohortFilter(sites=("Riverside",)))
    assert set(riverside["patient_id"]) == {"P4", "P5"}


# --- completion by infusion ----------------------------------------------------------------

def test_completion_by_infusion_by_hand(con):
    completion = measurement.completion_by_infusion(con, SETTINGS)
    assert completion["infusion"].tolist() == list(range(1, 13))
    head = completion.head(3)
    # infusion 1: 6 given; a PHQ-9 in the baseline window for P1 and EDGE30 (P2's is incomplete
    # or too early, P3's too early, P4's after the start, P5 none) -> 2 of 6.
    # infusion 2: P1, EDGE30, P2, P4; P1 5 Mar 08:30, EDGE30 at the start (counts), P4 after
    # infusion 1; P2 none -> 3 of 4. Infusion 3: P1, two PHQ-9s before it count once -> 1 of 1.
    assert head[["n_infusions", "n_with_score"]].values.tolist() == [[6, 2], [4, 3], [1, 1]]
    assert head["share"].tolist() == pytest.approx([2 / 6, 3 / 4, 1.0])
    # 95% Wilson interval of 2 of 6 (Wilson 1927), by hand: z = 1.96, p = 1/3,
    # centre (p + z^2/2n) / (1 + z^2/n) = 0.6535 / 1.6403 = 0.3984,
    # half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n) = 1.96 x 0.2524 / 1.6403 = 0.3016
    assert (head["share_low"].iloc[0], head["share_high"].iloc[0]) == pytest.approx((0.0968, 0.7000), abs=5e-4)
    rest = completion.iloc[3:]
    assert (rest["n_infusions"] == 0).all() and rest["share"].isna().all() and rest["share_low"].isna().all()


def test_completion_of_another_scale_and_of_a_cohort(con):
    gad7 = measurement.completion_by_infusion(con, SETTINGS, scale="GAD-7", max_infusion=3)
    # GAD-7 before infusion 1 in the window: P1 (1 Mar), P5 (2 Mar); before infusion 2: P4 (4 Mar).
    assert gad7[["n_infusions", "n_with_score"]].values.tolist() == [[6, 2], [4, 1], [1, 0]]
    riverside = measurement.completion_by_infusion(con, SETTINGS, max_infusion=2, cohort=CohortFilter(sites=("Riverside",)))
    assert riverside[["n_infusions", "n_with_score"]].values.tolist() == [[2, 0], [1, 1]]


# --- the sample clinic and an empty database -----------------------------------------------

def test_sample_phq9_gaps_are_the_worklists_no_baseline_patients(sample):
    gaps = measurement.patients_without_baseline(sample, SETTINGS, scale="PHQ-9")
    listed = worklist(sample, SETTINGS)
    assert set(gaps["patient_id"]) == set(listed.loc[listed["no_baseline"], "patient_id"])
    coverage = measurement.baseline_coverage(sample, SETTINGS).set_index("instrument")
    assert coverage.loc["PHQ-9", "n_without_baseline"] == len(gaps) > 0
    [(baselines,)] = sample.execute("SELECT count(*) FROM patient_outcomes WHERE instrument = 'PHQ-9'").fetchall()
    assert coverage.loc["PHQ-9", "n_with_baseline"] == baselines


def test_sample_first_infusion_completion_is_the_share_with_a_baseline(sample):
    completion = measurement.completion_by_infusion(sample, SETTINGS).set_index("infusion")
    coverage = measurement.baseline_coverage(sample, SETTINGS).set_index("instrument")
    assert completion.loc[1, "n_infusions"] == 300
    assert completion.loc[1, "n_with_score"] == coverage.loc["PHQ-9", "n_with_baseline"]
    assert ((completion["n_with_score"] <= completion["n_infusions"])).all()
    assert completion["n_infusions"].is_monotonic_decreasing


def test_sample_run_adds_up_file_by_file(sample):
    runs = ingest_log.ingest_runs(sample, SETTINGS)
    files = ingest_log.ingest_files(sample, SETTINGS)
    assert runs["balanced"].all() and runs["quarantined"].sum() == 0
    assert files["rows_in"].sum() == runs["rows_in"].sum()
    assert ingest_log.quarantine_by_rule(sample, SETTINGS).empty


def test_an_empty_database_gives_empty_answers(empty_database):
    import duckdb
    connection = duckdb.connect(str(empty_database), read_only=True)
    try:
        for function in (ingest_log.ingest_runs, ingest_log.ingest_files, ingest_log.quarantine_by_rule,
                         ingest_log.quarantined_rows, ingest_log.updates_by_run, ingest_log.updated_records,
                         measurement.baseline_coverage, measurement.patients_without_baseline):
            assert function(connection, SETTINGS).empty, function.__name__
        completion = measurement.completion_by_infusion(connection, SETTINGS)
        assert len(completion) == 12 and (completion["n_infusions"] == 0).all()
        assert all(math.isnan(share) for share in completion["share"])
    finally:
        connection.close()


def test_completion_by_infusion_adds_up_to_the_clinic_pages_completion_rate(sample):
    """The Data quality page's per-infusion completion and the Clinic outcomes page's overall
    rate are two queries of one definition; over every infusion number they must agree."""
    from pipelines.analytics.coverage import assessment_completion

    longest = sample.execute("SELECT max(n_sessions) FROM patient_cohorts").fetchall()[0][0]
    for scale in ("PHQ-9", "GAD-7"):
        per_infusion = measurement.completion_by_infusion(sample, Settings(), scale, max_infusion=longest)
        overall = assessment_completion(sample, Settings(), scale).iloc[0]
        assert per_infusion["n_infusions"].sum() == overall["n_infusions"]
        assert per_infusion["n_with_score"].sum() == overall["n_with_score"]


# --- the analyst's view: small cells blanked (CMS cell-size policy, min 11) ---------------------

def test_baseline_coverage_for_an_analyst_blanks_small_counts_and_their_complements():
    import pandas as pd

    from pipelines.reports.quality import suppressed_coverage

    coverage = pd.DataFrame({
        "instrument": ["PHQ-9", "GAD-7"],
        "n_with_baseline": [100, 30], "n_without_baseline": [12, 5],
        "only_incomplete": [2, 5], "only_too_early": [0, 0], "none_before_start": [10, 0], "never_recorded": [0, 0],
    })
    shown = suppressed_coverage(coverage, 11)
    as_lists = shown.drop(columns="instrument").astype(object).where(shown.notna(), None).values.tolist()
    assert as_lists == [
        # 2 is small; 10 goes with it, else 12 - 0 - 0 - 0 - 10 gives the 2 back
        [100, 12, None, 0, None, 0],
        # 5 without a baseline is small, and so is the only reason; 30 stays (treated is not printed)
        [30, None, None, 0, 0, 0],
    ]
    # Nothing blanked can be recovered from what is shown: every line keeps two unknowns.
    phq9 = shown.iloc[0]
    assert phq9["n_without_baseline"] - phq9[["only_too_early", "never_recorded"]].sum() == 2 + 10


def test_completion_for_an_analyst_blanks_small_counts_the_share_and_the_count_that_gives_them_back():
    import math

    import pandas as pd

    from pipelines.reports.quality import suppressed_completion

    completion = pd.DataFrame({"infusion": [1, 2, 12], "n_infusions": [50, 40, 4], "n_with_score": [45, 40, 3],
                               "share": [0.9, 1.0, 0.75], "share_low": [0.79, 0.91, 0.30],
                               "share_high": [0.96, 1.0, 0.95]})
    shown = suppressed_completion(completion, 11)
    # Infusion 1: 50 - 45 = 5 without a score is a small cell, so the 45 (and the share) go.
    assert shown.loc[0, "n_infusions"] == 50 and pd.isna(shown.loc[0, "n_with_score"]) and math.isnan(shown.loc[0, "share"])
    assert math.isnan(shown.loc[0, "share_low"]) and math.isnan(shown.loc[0, "share_high"])  # the interval with it
    # Infusion 2: everyone scored (0 without): nothing small, all shown.
    assert (shown.loc[1, "n_infusions"], shown.loc[1, "n_with_score"], shown.loc[1, "share"]) == (40, 40, 1.0)
    # Infusion 12: four patients: every count blanked.
    assert pd.isna(shown.loc[2, "n_infusions"]) and pd.isna(shown.loc[2, "n_with_score"]) and math.isnan(shown.loc[2, "share"])
