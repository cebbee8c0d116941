"""The analyst's entry point (`pipelines.connect`, pipelines/workbench.py): the dashboard's
numbers, read-only, with errors that name the file.

The clinic (PHQ-9; caseness >= 10, response >= 50% drop, remission < 5, reliable change 6).
Infusions at 09:00 from Monday 2025-01-06; baselines at 08:30 on 6 Jan, before the first one.

| patient | site      | infusions | PHQ-9                | hand-worked                                      |
|---------|-----------|-----------|----------------------|--------------------------------------------------|
| P1      | Northside | 3         | 20 -> 8 (10 Jan)     | -60%: response, reliable improvement, not remission (8 >= 5) |
| P2      | Riverside | 2         | 16 -> 12 (8 Jan)     | -25%: no response                                |
| P3      | Northside | 1         | 8 -> 2 (7 Jan)       | baseline 8 < 10: not in caseness, not evaluable  |

So PHQ-9: 3 with a baseline, 2 in caseness, 2 evaluable, 1 response (rate 1/2).
Retention with the default induction of 6 infusions: nobody completed it; with
`induction_sessions = 2`: P1 and P2 completed, P1 went on to maintenance (more than 2).
"""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from conftest import REPO, Clinic, assessment, only_row, patient, session
from pipelines import CohortFilter, connect
from pipelines.analytics import outcomes, retention, survival
from pipelines.analytics.snapshot import open_snapshot
from pipelines.settings import Settings
from pipelines.workbench import NotAnOutcomesDatabase, Workbench


def score(pid, when, total):
    return assessment(f"{pid}-{when}", when, "PHQ-9", [], total, pid=pid)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory) -> Clinic:
    clinic = Clinic(tmp_path_factory.mktemp("workbench"))
    clinic.patients = [patient("P1", site="Northside"), patient("P2", site="Riverside"),
                       patient("P3", site="Northside")]
    clinic.sessions = [
        session("P1-S1", "2025-01-06T09:00:00", pid="P1"), session("P1-S2", "2025-01-08T09:00:00", pid="P1"),
        session("P1-S3", "2025-01-10T09:00:00", pid="P1"),
        session("P2-S1", "2025-01-06T09:00:00", pid="P2"), session("P2-S2", "2025-01-08T09:00:00", pid="P2"),
        session("P3-S1", "2025-01-06T09:00:00", pid="P3"),
    ]
    clinic.assessments = [
        score("P1", "2025-01-06T08:30:00", 20), score("P1", "2025-01-10T08:30:00", 8),
        score("P2", "2025-01-06T08:30:00", 16), score("P2", "2025-01-08T08:30:00", 12),
        score("P3", "2025-01-06T08:30:00", 8), score("P3", "2025-01-07T08:30:00", 2),
    ]
    clinic.load()
    return clinic


@pytest.fixture
def db(clinic):
    with connect(clinic.db, settings=Settings()) as workbench:
        yield workbench


def test_cohort_outcomes_are_the_analytics_functions_numbers(clinic, db):
    direct_con = open_snapshot(clinic.db)
    try:
        for group_by in ((), ("site",)):
            expected = outcomes.cohort_outcomes(direct_con, Settings(), "PHQ-9", group_by=group_by)
            pd.testing.assert_frame_equal(db.cohort_outcomes("PHQ-9", group_by=group_by), expected)
    finally:
        direct_con.close()
    row = only_row(db.cohort_outcomes("PHQ-9"))
    assert (row.n_baseline, row.n_caseness, row.n_evaluable, row.response_n) == (3, 2, 2, 1)
    assert row.response_rate == 0.5
    assert row.remission_n == 0 and row.reliable_improvement_n == 1


def test_a_cohort_filter_restricts_the_answer(db):
    northside = only_row(db.cohort_outcomes("PHQ-9", cohort=CohortFilter(sites=("Northside",))))
    # P1 (evaluable, responded) and P3 (not in caseness)
    assert (northside.n_patients, northside.n_evaluable, northside.response_n) == (2, 1, 1)


def test_functions_without_settings_are_offered_too(db):
    assert db.cohort_options()["sites"] == ["Northside", "Riverside"]
    times = db.response_times("PHQ-9")  # survival.response_times(con, scale, ...) takes no settings
    assert times.set_index("patient_id").loc["P1", ["days", "responded"]].tolist() == [4, True]


def test_ask_calls_any_analytics_function_with_or_without_settings(db):
    def with_settings(con, settings, extra):
        return settings, extra

    def without_settings(con, extra):
        return extra

    assert db.ask(with_settings, "x") == (db.settings, "x")
    assert db.ask(without_settings, extra="y") == "y"
    pd.testing.assert_frame_equal(db.ask(survival.responded_by_infusion, "PHQ-9"), db.responded_by_infusion("PHQ-9"))


def test_methods_show_the_analytics_signature_and_docstring():
    parameters = list(inspect.signature(Workbench.cohort_outcomes).parameters)
    assert parameters == ["self", "scale", "cohort", "group_by", "timepoint"]
    assert outcomes.cohort_outcomes.__doc__.strip().splitlines()[0] in Workbench.cohort_outcomes.__doc__
    assert list(inspect.signature(Workbench.response_times).parameters) == ["self", "scale", "cohort", "group_by"]


def test_settings_default_to_the_clinics_settings_file(clinic, tmp_path, monkeypatch):
    config = tmp_path / "clinic.toml"
    config.write_text("induction_sessions = 2\n", encoding="utf-8")
    with connect(clinic.db) as default:
        kept = only_row(default.retention())
        assert (kept.completed_induction_n, kept.any_maintenance_n) == (0, 0)
    monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
    with connect(clinic.db) as configured:
        assert configured.settings.induction_sessions == 2
        kept = only_row(configured.retention())
        assert (kept.n_started, kept.completed_induction_n, kept.any_maintenance_n) == (3, 2, 1)
        con = open_snapshot(clinic.db)
        try:
            pd.testing.assert_frame_equal(configured.retention(),
                                          retention.retention(con, Settings(induction_sessions=2)))
        finally:
            con.close()


def test_sql_returns_a_frame_with_parameters(db):
    frame = db.sql("SELECT patient_id, baseline_score FROM patient_outcomes WHERE instrument = ? ORDER BY patient_id",
                   ["PHQ-9"])
    assert frame.to_dict("list") == {"patient_id": ["P1", "P2", "P3"], "baseline_score": [20, 16, 8]}


def test_nothing_can_be_written(clinic, db):
    before = hashlib.sha256(clinic.db.read_bytes()).hexdigest()
    for statement in ("INSERT INTO patients (patient_id) VALUES ('P9')", "DELETE FROM patient_outcomes",
                      "CREATE TABLE scratch AS SELECT 1", "UPDATE sessions SET dose_mg = 0"):
        with pytest.raises(ValueError, match="only reads"):
            db.sql(statement)
    # Past the guard, DuckDB itself refuses: the file is attached read-only.
    with pytest.raises(duckdb.Error, match="read-only"):
        db.con.execute("INSERT INTO patients (patient_id) VALUES ('P9')")
    assert db.sql("SELECT count(*) AS n FROM patient_outcomes").n.iloc[0] == 3
    assert hashlib.sha256(clinic.db.read_bytes()).hexdigest() == before


def test_sql_refuses_several_statements_at_once(db):
    with pytest.raises(ValueError, match="one statement"):
        db.sql("SELECT 1; SELECT 2")


def test_a_missing_file_is_named_in_the_error(tmp_path):
    missing = tmp_path / "nowhere" / "outcomes.duckdb"
    with pytest.raises(FileNotFoundError) as error:
        connect(missing)
    assert str(missing) in str(error.value) and "outcomes ingest" in str(error.value)


def test_a_file_that_is_not_an_outcomes_database_is_named_in_the_error(tmp_path):
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database", encoding="utf-8")
    plain = tmp_path / "plain.duckdb"
    duckdb.connect(str(plain)).close()  # a DuckDB file without the outcome tables
    for path in (text, plain):
        with pytest.raises(NotAnOutcomesDatabase, match=str(path)):
            connect(path)


def test_leaving_the_with_block_closes_the_connection(clinic):
    with connect(clinic.db) as db:
        assert repr(db).startswith("<Workbench")
    with pytest.raises(duckdb.ConnectionException):
        db.sql("SELECT 1")


def test_importing_pipelines_does_not_load_the_analytics_stack():
    # The `outcomes` CLI imports the package: it should not pay for pandas and scipy on start-up.
    code = "import sys, pipelines; print(sorted({'pandas', 'scipy', 'duckdb'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"
