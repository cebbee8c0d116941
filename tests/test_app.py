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
