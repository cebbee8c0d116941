"""One honest mark for a suppressed cell (pipelines/reports/suppression.py, dashboard/suppressed.py,
pipelines/reports/board_text.py): complementary suppression blanks counts that would give a small
one back, and those can be large, so a blanked cell reads "suppressed" - never "<11" or "fewer
than 11" - and a legend says once what that means. Checked on the real sample clinic through the
real ingest."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import open_page
from dashboard.suppressed import has_mark, hover_text, table_cells
from pipelines.analytics.outcomes import outcomes_by_group
from pipelines.analytics.snapshot import open_snapshot
from pipelines.reports import clinic as published
from pipelines.reports.marks import legend
from pipelines.settings import Settings

SETTINGS = Settings()
FALSE_MARKS = ("<11", "fewer than 11")


@pytest.fixture(scope="module")
def snapshot(sample_database):
    con = open_snapshot(sample_database)
    yield con
    con.close()


def test_a_large_complementary_group_never_reads_fewer_than_eleven(snapshot):
    """PHQ-9 by sex at the latest score on the sample (found in review): the "male" row has 108
    patients, 90 evaluable and 43 responders - no small cell - but is blanked as the complement
    of the small "female"/other row (the headline's total would give it back). Printed "<11" it
    would be false; it must read "suppressed"."""
    raw = outcomes_by_group(snapshot, SETTINGS, "PHQ-9", "sex", timepoint="latest").set_index("group")
    shown = published.outcomes_by_group(snapshot, SETTINGS, "PHQ-9", "sex", timepoint="latest")["groups"]
    complementary = [g for g in shown.loc[shown["suppressed"], "group"] if raw.loc[g, "n_evaluable"] >= 11]
    assert complementary, "the sample should have a large group blanked as a complement"
    assert "male" in complementary
    male = raw.loc["male"]
    assert (int(male["n_patients"]), int(male["n_evaluable"]), int(male["response_n"])) == (108, 90, 43)
    rows = shown.set_index("group").loc[complementary]
    assert (rows["n_shown"] == "suppressed").all()
    cells = table_cells(shown, 11).set_index("group").loc[complementary]
    text = " ".join(str(v) for v in cells.to_numpy().ravel())
    assert not any(mark in text for mark in FALSE_MARKS) and "suppressed" in text
    assert has_mark(table_cells(shown, 11))


def test_the_legend_names_the_configured_size_and_both_reasons():
    """The legend is true of a small cell and a complementary one alike, at any cell size."""
    assert legend(11) == ("suppressed: fewer than 11 patients ([privacy] min_cell_size), or a number that "
                          "would give such a count back")
    assert legend(20).startswith("suppressed: fewer than 20 patients")
    assert hover_text(11).startswith("suppressed (fewer than 11 patients, or a number that would give")


def test_the_clinic_page_shows_the_legend_under_a_table_with_suppressed_cells(sample_database, monkeypatch):
    """Clinicians and sites on the sample: a suppressed cell in the table, the legend under it,
    and no "<11" anywhere on the tab."""
    app = open_page(sample_database, "views/clinic.py", monkeypatch)
    app.session_state["clinic_tab"] = "Clinicians and sites"
    app.run()
    assert not app.exception
    clinicians = next(d.value for d in app.dataframe if "Clinician" in d.value.columns).set_index("Clinician")
    sites = next(d.value for d in app.dataframe if "Site" in d.value.columns)
    # two clinicians' remitters are blanked (Dr. Reyes and Dr. Whitfield), with their rates
    assert (clinicians["Remission (patients)"] == "suppressed").sum() == 2
    assert not any(isinstance(v, str) and any(m in v for m in FALSE_MARKS)
                   for v in pd.concat([clinicians.reset_index(), sites]).to_numpy().ravel())
    # the legend under each table with a blanked cell (the clinicians', and the headline's on
    # bases above the tabs); the sites' table has none, so it adds none
    assert has_mark(clinicians) and not has_mark(sites)
    with_mark = sum(has_mark(d.value) for d in app.dataframe)
    assert with_mark >= 1 and sum(c.value == legend(11) for c in app.caption) == with_mark


def test_a_blanked_denominator_or_count_under_the_rate_cards_reads_suppressed():
    """The rates on bases: a row blanked whole, or its responders blanked, says "suppressed" with
    the legend's reasons - "fewer than 11" would be false where the blank is a complement."""
    from dashboard.views.clinic_bases import denominator_text

    row = {"basis": "itt", "note": "", "n": pd.NA, "responders": pd.NA, "denominator_label": "who started"}
    assert denominator_text(row, "responders", 11) == (
        "ITT: suppressed (fewer than 11 patients, or a number that would give such a count back) who started")
    row = {**row, "n": 276}
    assert denominator_text(row, "responders", 11).startswith("ITT: suppressed (fewer than 11 patients, or a")
    assert denominator_text(row, "responders", 11).endswith(" of 276 who started")
    assert "fewer than 11 (or" not in denominator_text(row, "responders", 11)
