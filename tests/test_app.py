"""The dashboard's router: every page opens on the sample clinic, on an empty database and
without any database, and says so plainly instead of failing."""

from __future__ import annotations

import pytest

from conftest import open_page

PAGES = ["views/worklist.py", "views/patient.py", "views/clinic.py", "views/data_quality.py"]


@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_renders_on_the_sample_clinic(sample_database, monkeypatch, page):
    app = open_page(sample_database, page, monkeypatch)
    assert app.title, "every page has a title"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_an_empty_database(empty_database, monkeypatch, page):
    app = open_page(empty_database, page, monkeypatch)
    assert not app.error, [e.value for e in app.error]


@pytest.mark.parametrize("page", PAGES)
def test_without_a_database_every_page_says_how_to_load_one(tmp_path, monkeypatch, page):
    app = open_page(tmp_path / "missing.duckdb", page, monkeypatch)
    assert "outcomes ingest" in app.info[0].value


def test_the_snapshot_memory_cap_grows_with_the_database_unless_set(tmp_path, monkeypatch):
    from dashboard.data import memory_limit

    monkeypatch.delenv("OUTCOMES_MEMORY_LIMIT", raising=False)
    small, large = tmp_path / "small.duckdb", tmp_path / "large.duckdb"
    small.write_bytes(b"x" * 1000)
    with open(large, "wb") as handle:  # a sparse 521 MB file, the size of a 1,000,000-patient clinic's
        handle.truncate(521_000_000)
    assert memory_limit(str(small)) == "500MB"
    assert memory_limit(str(large)) == "2605MB"  # 5 x 521 MB: 2GB was measured to suffice (docs/scaling.md)
    monkeypatch.setenv("OUTCOMES_MEMORY_LIMIT", "750MB")
    assert memory_limit(str(large)) == "750MB"


def test_a_version_opened_from_stored_tables_is_served_within_a_fixed_cap(sample_database, tmp_path, monkeypatch):
    # The ingest stored the outcome tables, so opening computes nothing: the cap no longer grows
    # with the file (docs/scaling.md). A file whose tables must be computed keeps the growing one.
    import shutil

    import duckdb

    from dashboard.data import SERVING_MEMORY_LIMIT, _snapshot, file_version
    from pipelines.analytics.snapshot import opened_from

    monkeypatch.delenv("OUTCOMES_MEMORY_LIMIT", raising=False)

    def cap(path) -> tuple[str | None, str]:
        snapshot = _snapshot(str(path), file_version(str(path)))
        with snapshot.lock:
            return opened_from(snapshot.con), snapshot.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    def as_duckdb_says(size: str) -> str:
        probe = duckdb.connect()
        probe.execute(f"SET memory_limit = '{size}'")
        return probe.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    assert cap(sample_database) == ("stored", as_duckdb_says(SERVING_MEMORY_LIMIT))
    unstored = tmp_path / "unstored.duckdb"
    shutil.copyfile(sample_database, unstored)
    with duckdb.connect(str(unstored)) as con:
        con.execute("DROP SCHEMA precomputed CASCADE")
    assert cap(unstored) == ("computed", as_duckdb_says("500MB"))
    monkeypatch.setenv("OUTCOMES_MEMORY_LIMIT", "300MB")
    _snapshot.clear()
    assert cap(sample_database) == ("stored", as_duckdb_says("300MB"))
