"""The `outcomes` command end to end, as a user runs it, on the committed sample data."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from conftest import SAMPLE


def outcomes(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, args)],
                            capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "outcomes.duckdb"
    outcomes("ingest", SAMPLE, SAMPLE / "messy", "--db", db)
    return db


def test_ingest_prints_progress_and_a_summary_table(tmp_path):
    result = outcomes("ingest", SAMPLE, "--db", tmp_path / "o.duckdb")
    assert "[4/4]" in result.stderr and "validating" in result.stderr
    assert "rows in" in result.stdout and "TOTAL" in result.stdout and "quarantined" in result.stdout


def test_sample_database_holds_outcomes(sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    n_patients, = con.execute("SELECT count(*) FROM patients").fetchone()
    n_outcomes, = con.execute("SELECT count(DISTINCT patient_id) FROM patient_outcomes WHERE instrument = 'PHQ-9'").fetchone()
    assert n_patients >= 300 and n_outcomes > 250


def test_runs_lists_counts_and_files(sample_db):
    result = outcomes("runs", "--db", sample_db, "--files")
    assert "inserted" in result.stdout and "sha256" in result.stdout and "assessments.csv" in result.stdout


def test_quarantine_lists_file_row_and_reason(sample_db):
    result = outcomes("quarantine", "--db", sample_db)
    assert "messy/assessments.csv" in result.stdout and "is not a real date" in result.stdout
    by_rule = outcomes("quarantine", "--db", sample_db, "--by-rule").stdout
    assert "item_out_of_range" in by_rule and "wrong_field_count" in by_rule
    only = outcomes("quarantine", "--db", sample_db, "--rule", "future_date").stdout
    assert "in the future" in only and "not a real date" not in only


def test_bad_file_exits_non_zero_naming_file_and_columns(tmp_path):
    bad = tmp_path / "sessions_export.csv"
    bad.write_text("session_id,patient_id,started_at\nS1,001,2025-01-01T09:00:00\n")
    result = outcomes("ingest", bad, "--db", tmp_path / "o.duckdb", check=False)
    assert result.returncode == 2
    assert "sessions_export.csv" in result.stderr and "dose_mg" in result.stderr
    assert "Nothing was loaded" in result.stderr and "Traceback" not in result.stderr


def test_synth_writes_the_four_exports(tmp_path):
    outcomes("synth", "--patients", 20, "--seed", 1, "--out", tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"patients.csv", "sessions.csv", "assessments.csv",
                                                    "appointments.csv"}


def test_init_creates_the_views(tmp_path):
    outcomes("init", "--db", tmp_path / "o.duckdb")
    con = duckdb.connect(str(tmp_path / "o.duckdb"), read_only=True)
    views = {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert {"scores", "patient_outcomes"} <= views


@pytest.mark.parametrize("command", ["init", "ingest", "synth", "runs", "quarantine", "report", "export"])
def test_every_command_explains_itself(command):
    assert len(outcomes(command, "--help").stdout) > 200


def test_reading_a_missing_database_says_so(tmp_path):
    result = outcomes("runs", "--db", tmp_path / "none.duckdb", check=False)
    assert result.returncode == 2 and "no outcomes database" in result.stderr


def test_report_prints_rates_with_intervals_by_group(sample_db):
    result = outcomes("report", "--db", sample_db, "--by", "site", "--timepoint", "after_induction")
    assert "Northside" in result.stdout and "Riverside" in result.stdout
    assert "%" in result.stdout and "median days to response" in result.stdout


def test_a_bad_settings_file_is_refused_with_a_clear_message(tmp_path):
    config = tmp_path / "clinic.toml"
    config.write_text('clinic_timezone = "America/Chicago"\nbaseline_window = 30\n')
    result = outcomes("--config", config, "ingest", SAMPLE, "--db", tmp_path / "o.duckdb", check=False)
    assert result.returncode == 2 and "unknown settings ['baseline_window']" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o.duckdb").exists()
    config.write_text("[plausible]\nsystolic_maximum = 280\n")
    result = outcomes("--config", config, "ingest", SAMPLE, "--db", tmp_path / "o.duckdb", check=False)
    assert result.returncode == 2 and "unknown [plausible] settings ['systolic_maximum']" in result.stderr
