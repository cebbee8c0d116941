"""After a run that changed a few patients, the ingest recomputes the stored outcome tables of
those patients only (pipelines/incremental.py), and they equal, row for row, a full
recomputation of the same database; the changed patients are exactly those whose rows the run
wrote, replaced or deleted; a full recomputation is done when it must be (issue 18, "And it is
incremental")."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from conftest import NOW, assessment, patient, phq9_items, session
from pipelines import incremental, precomputed, sql
from pipelines.ingest import ingest
from pipelines.settings import Settings
from pipelines.store.checkins import ScaleAnswers, new_code, save_checkin

PATIENTS = [f"{n:03d}" for n in range(1, 13)]  # 12: changing one or two is well under FULL_SHARE


def build(clinic) -> None:
    """12 patients, each with a PHQ-9 and a GAD-7 at baseline and six weekly infusions, each
    followed by a PHQ-9 (totals falling by one a week), some with item 9 positive."""
    clinic.patients = [patient(pid, indication="depression" if n % 3 else "ptsd", site=f"Site {n % 2}")
                       for n, pid in enumerate(PATIENTS)]
    clinic.sessions, clinic.assessments = [], []
    for n, pid in enumerate(PATIENTS):
        start = dt.datetime(2026, 1, 5 + n, 9, 0)
        clinic.assessments.append(assessment(f"b{pid}", f"{start - dt.timedelta(days=2):%Y-%m-%d %H:%M}",
                                             items=phq9_items(18, item9=n % 2), pid=pid))
        clinic.assessments.append(assessment(f"g{pid}", f"{start - dt.timedelta(days=2):%Y-%m-%d %H:%M}", "GAD-7",
                                             items=[2] * 7, pid=pid))
        for week in range(6):
            at = start + dt.timedelta(weeks=week)
            clinic.sessions.append(session(f"s{pid}-{week}", f"{at:%Y-%m-%d %H:%M}", pid=pid, dose=35 + n))
            clinic.assessments.append(assessment(f"a{pid}-{week}", f"{at + dt.timedelta(days=1):%Y-%m-%d %H:%M}",
                                                 items=phq9_items(17 - 2 * week), pid=pid))


def about(clinic):
    return clinic.one("SELECT * FROM precomputed.about")


def changed_since(clinic, run_id: int) -> set[str]:
    """The changed patients as the refresh finds them (sql/precomputed/changed_patients.sql)."""
    con = clinic.connect()
    try:
        return {p for (p,) in con.execute(sql.read("precomputed/changed_patients"), {"since": run_id}).fetchall()}
    finally:
        con.close()


def differences(con, stored: str, computed: str) -> tuple[int, int]:
    """Rows of `stored` not in `computed` and the reverse, duplicates counted (EXCEPT ALL)."""
    return con.execute(f"SELECT (SELECT count(*) FROM (FROM {stored} EXCEPT ALL FROM {computed})), "
                       f"(SELECT count(*) FROM (FROM {computed} EXCEPT ALL FROM {stored}))").fetchone()


def assert_equal_to_a_full_recomputation(clinic) -> None:
    """Every stored table against the views of the same database, computed now in full."""
    con = clinic.connect()
    try:
        for table in (*precomputed.SNAPSHOT_VIEWS, *precomputed.SNAPSHOT_ANALYTICS_VIEWS):
            assert con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0] > 0, table
            assert differences(con, f"precomputed.{table}", f"main.{table}") == (0, 0), table
        assert differences(con, "precomputed.patient_assessments",
                           f"({sql.read(precomputed.PATIENT_ASSESSMENTS_QUERY)})") == (0, 0)
    finally:
        con.close()


@pytest.fixture
def loaded(clinic):
    build(clinic)
    clinic.load()
    assert about(clinic).refresh == "full"
    return clinic


def load_again(clinic, **kwargs):
    run = ingest(clinic.db, clinic.write(), Settings(), now=NOW, **kwargs)
    return run, about(clinic)


def next_day(clinic):
    for pid in ("003", "007"):
        clinic.sessions.append(session(f"s{pid}-new", "2026-03-01 09:00", pid=pid))
        clinic.assessments.append(assessment(f"a{pid}-new", "2026-03-01 08:30", items=phq9_items(4, item9=1),
                                             pid=pid))
    return {"003", "007"}


def update_an_earlier_score(clinic):
    row = next(a for a in clinic.assessments if a["assessment_id"] == "a005-2")
    row.update({f"item_{n}": v for n, v in enumerate(phq9_items(22, item9=2), start=1)})
    return {"005"}


def change_an_indication(clinic):
    clinic.patients[0]["primary_indication"] = "anxiety"
    return {"001"}


def move_a_session_to_another_patient(clinic):
    row = next(s for s in clinic.sessions if s["session_id"] == "s009-5")
    row["patient_id"] = "010"
    return {"009", "010"}


@pytest.mark.parametrize("change", [next_day, update_an_earlier_score, change_an_indication,
                                    move_a_session_to_another_patient])
def test_a_run_recomputes_the_patients_it_changed_and_the_tables_equal_a_full_recomputation(loaded, change):
    expected = change(loaded)
    run, after = load_again(loaded)
    assert changed_since(loaded, run.run_id - 1) == expected
    assert (after.refresh, after.reason, after.patients, after.run_id) == ("incremental", None, len(expected),
                                                                         run.run_id)
    assert after.appended > 0
    assert_equal_to_a_full_recomputation(loaded)
    con = loaded.connect()
    try:
        assert precomputed.current(con, con.execute("SELECT current_database()").fetchone()[0])
    finally:
        con.close()


def test_a_full_export_deletion_changes_its_patient(loaded):
    # s004-5 has no assessment naming it (session_id is blank throughout), so it is deleted
    loaded.sessions = [s for s in loaded.sessions if s["session_id"] != "s004-5"]
    run, after = load_again(loaded, full_export=True)
    assert run.deleted == 1
    assert changed_since(loaded, run.run_id - 1) == {"004"}
    assert (after.refresh, after.patients) == ("incremental", 1)
    assert loaded.one("SELECT n_sessions FROM precomputed.patient_cohorts WHERE patient_id = '004'").n_sessions == 5
    assert_equal_to_a_full_recomputation(loaded)


def test_a_checkin_from_the_store_changes_its_patient(loaded):
    answered = dt.datetime(2026, 5, 31, 15, 0, tzinfo=dt.timezone.utc)
    code, _ = new_code(loaded.db, "011", "dr@example.org", minutes=30, now=answered - dt.timedelta(minutes=5))
    save_checkin(loaded.db, code, [ScaleAnswers("PHQ-9", (0, 0, 0, 0, 0, 0, 0, 0, 0))], now=answered)
    run, after = load_again(loaded)  # the same files again: only the check-in is new
    assert changed_since(loaded, run.run_id - 1) == {"011"}
    assert (after.refresh, after.patients) == ("incremental", 1)
    assert loaded.one("SELECT latest_score FROM precomputed.patient_outcomes "
                      "WHERE patient_id = '011' AND instrument = 'PHQ-9'").latest_score == 0
    assert_equal_to_a_full_recomputation(loaded)


def test_a_run_that_changes_nothing_recomputes_no_one(loaded):
    run, after = load_again(loaded)
    assert changed_since(loaded, run.run_id - 1) == set()
    assert (after.refresh, after.patients, after.run_id) == ("incremental", 0, run.run_id)
    assert_equal_to_a_full_recomputation(loaded)


def test_changes_since_the_stored_tables_run_count_even_when_a_run_failed_to_store_them(loaded, monkeypatch):
    """A run whose refresh failed leaves the tables of an earlier run: the next one recomputes
    the patients of both runs."""
    next_day(loaded)

    def fail(con, run_id, step):
        raise duckdb.OutOfMemoryException("could not allocate block")

    monkeypatch.setattr(incremental, "refresh_changed", fail)
    first, _ = load_again(loaded)
    monkeypatch.undo()
    assert about(loaded).run_id == first.run_id - 1  # not stored: still the earlier run's
    update_an_earlier_score(loaded)
    run, after = load_again(loaded)
    assert (after.refresh, after.patients, after.run_id) == ("incremental", 3, run.run_id)
    assert_equal_to_a_full_recomputation(loaded)


def tamper(clinic, statement: str) -> None:
    con = duckdb.connect(str(clinic.db))
    try:
        con.execute(statement)
    finally:
        con.close()


@pytest.mark.parametrize("statement, reason", [
    ("UPDATE precomputed.about SET definitions = 'other'", "the definitions of the tables changed"),
    ("UPDATE precomputed.about SET reference = 'other'", "the registry or the outcome settings changed"),
    ("DROP TABLE precomputed.scores", "no stored tables to update"),
    # a database whose tables an older version stored: `about` without the newer columns
    ("CREATE OR REPLACE TABLE precomputed.about AS SELECT run_id, definitions FROM precomputed.about",
     "the stored tables were computed by an older version"),
], ids=["definitions", "reference tables", "a table missing", "older version"])
def test_a_full_recomputation_when_the_stored_tables_cannot_be_updated(loaded, statement, reason):
    tamper(loaded, statement)
    next_day(loaded)
    run, after = load_again(loaded)
    assert (after.refresh, after.run_id, after.appended) == ("full", run.run_id, 0)
    assert after.reason.startswith(reason), after.reason
    assert_equal_to_a_full_recomputation(loaded)


def test_tables_with_many_rows_out_of_patient_order_are_sorted_again(loaded):
    """Appended rows past UNSORTED_SHARE of the stored rows: the incremental refresh rewrites the
    tables sorted by patient (no recomputation) and starts counting again."""
    loaded.one("SELECT count(*) AS n FROM precomputed.scores")  # the stored rows exist
    next_day(loaded)
    run, after = load_again(loaded)
    assert (after.refresh, after.reason) == ("incremental", None)
    appended = after.appended
    ids = [r.patient_id for r in loaded.rows("SELECT patient_id FROM precomputed.scores")]
    assert ids != sorted(ids)  # the two patients' new rows come last
    tamper(loaded, f"UPDATE precomputed.about SET appended = {10 * appended}")  # as after many days
    update_an_earlier_score(loaded)
    run, after = load_again(loaded)
    assert (after.refresh, after.patients, after.appended) == ("incremental", 1, 0)
    assert after.reason.startswith("sorted by patient again")
    for table in precomputed.TABLES:
        ids = [r.patient_id for r in loaded.rows(f"SELECT patient_id FROM precomputed.{table}")]
        assert ids == sorted(ids), table
    assert_equal_to_a_full_recomputation(loaded)


def test_stored_tables_of_an_older_version_are_still_current_for_readers(loaded):
    tamper(loaded, "CREATE OR REPLACE TABLE precomputed.about AS SELECT run_id, definitions FROM precomputed.about")
    con = loaded.connect()
    try:
        assert precomputed.current(con, con.execute("SELECT current_database()").fetchone()[0])
    finally:
        con.close()


def test_new_outcome_settings_recompute_every_patient(loaded):
    next_day(loaded)
    ingest(loaded.db, loaded.write(), Settings(baseline_window_days=14), now=NOW)
    after = about(loaded)
    assert (after.refresh, after.reason) == ("full", "the registry or the outcome settings changed")
    assert_equal_to_a_full_recomputation(loaded)


def test_a_large_share_of_patients_changed_is_recomputed_in_full(loaded):
    for row in loaded.patients[:4]:  # 4 of 12 = 33%, above FULL_SHARE (25%)
        row["site"] = "Elsewhere"
    run, after = load_again(loaded)
    assert changed_since(loaded, run.run_id - 1) == set(PATIENTS[:4])
    assert (after.refresh, after.patients) == ("full", 12)
    assert after.reason == "4 of 12 patients changed (more than 25%)"
    assert_equal_to_a_full_recomputation(loaded)
