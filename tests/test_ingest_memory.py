"""The ingest connection is memory-capped and spills to disk, so a large export loads in
bounded memory (the 1 GB measurement itself is bench/large_csv.py, too slow for a test)."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.db import connect_for_ingest
from pipelines.settings import SettingsError

from conftest import assessment, phq9_items


def limits(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    return con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()


def duckdb_spelling(size: str) -> str:
    """How DuckDB itself reports a memory_limit of `size` (it prints MiB/GiB)."""
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{size}'")
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


def test_ingest_connection_is_capped_at_1gb_by_default_and_spills_next_to_the_database(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTCOMES_INGEST_MEMORY", raising=False)
    con = connect_for_ingest(tmp_path / "outcomes.duckdb")
    try:
        assert limits(con) == (duckdb_spelling("1GB"), str(tmp_path / "outcomes.duckdb.tmp"))
    finally:
        con.close()


def test_ingest_memory_is_set_by_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_INGEST_MEMORY", "300MB")
    con = connect_for_ingest(tmp_path / "outcomes.duckdb")
    try:
        assert limits(con)[0] == duckdb_spelling("300MB") != duckdb_spelling("1GB")
    finally:
        con.close()


def test_unreadable_memory_setting_is_refused_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_INGEST_MEMORY", "lots")
    with pytest.raises(SettingsError, match=r"OUTCOMES_INGEST_MEMORY='lots' is not a memory size"):
        connect_for_ingest(tmp_path / "outcomes.duckdb")


def test_ingest_runs_under_a_small_memory_cap(clinic, monkeypatch):
    monkeypatch.setenv("OUTCOMES_INGEST_MEMORY", "256MB")
    clinic.assessments = [assessment(f"A{n}", "2025-01-06T08:30:00", "PHQ-9", phq9_items(n % 25)) for n in range(50)]
    result = clinic.load()
    assert result.totals.inserted == 1 + 50  # the patient and every assessment


def test_ingest_uses_the_capped_connection(clinic, monkeypatch):
    monkeypatch.setenv("OUTCOMES_INGEST_MEMORY", "lots")
    with pytest.raises(SettingsError, match="OUTCOMES_INGEST_MEMORY"):
        clinic.load()
