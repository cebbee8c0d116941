"""Nothing lost, whatever the file (issue 14): a row too long for DuckDB's CSV reader is
quarantined and counted, a path is the file it names (never a glob pattern), and a file with
mixed line endings loads every row, through the real ingest and the real `outcomes` command
into a real DuckDB file."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import NOW, SAMPLE, patient, session, write_csv
from pipelines.formats import PATIENTS, SESSIONS, ImportFormatError
from pipelines.ingest import ingest
from pipelines.readers import csv_lines
from pipelines.readers.csv_lines import MAX_ROW_BYTES
from pipelines.settings import Settings

MB = 1 << 20


def rows_of(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def adds_up(run) -> None:
    for f in run.files:
        assert f.rows_in == f.inserted + f.updated + f.unchanged + f.quarantined, f


def outcomes(*args):
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, args)], capture_output=True, text=True)


# --- a row longer than a row may be -------------------------------------------------------------


def sessions_with_a_long_row(folder: Path, size: int, last: bool = False) -> Path:
    """patients.csv and a sessions.csv (written by Python's csv module: CRLF line endings) whose
    second row's adverse_event holds `size` bytes, then a row with too few fields and a good
    row (or, with `last`, the long row is the file's last line, with no line ending)."""
    write_csv(folder / "patients.csv", list(PATIENTS.columns), [patient()])
    rows = [session("S1", "2025-01-06T09:00:00"), session("S2", "2025-01-07T09:00:00", adverse_event="@BIG@")]
    if not last:
        rows += [session("S3", "2025-01-08T09:00:00"), session("S4", "2025-01-09T09:00:00"),
                 session("S5", "2025-01-10T09:00:00")]
    path = write_csv(folder / "sessions.csv", list(SESSIONS.columns), rows)
    data = path.read_bytes()
    if not last:
        data = data.replace(b"S4,001,2025-01-09T09:00:00,iv", b"S4,001")  # too few fields
    head, _, tail = data.partition(b"@BIG@")
    with open(path, "wb") as handle:  # one write of the big field: the test stays fast
        handle.write(head)
        handle.write(b"x" * size)
        handle.write(tail.rstrip(b"\r\n") if last else tail)
    return path


@pytest.mark.parametrize("size", [32 * MB, 3 * MB], ids=["32MB past DuckDB's buffer", "3MB"])
def test_a_row_too_long_is_quarantined_with_its_size_and_every_other_row_loads(tmp_path, size):
    sessions = sessions_with_a_long_row(tmp_path, size)
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [tmp_path / "patients.csv", sessions], Settings(), now=NOW)
    adds_up(run)
    staged = next(f for f in run.files if f.kind == "sessions")
    assert (staged.rows_in, staged.inserted, staged.quarantined) == (5, 3, 2)
    assert rows_of(db, "SELECT session_id, source_row FROM sessions ORDER BY 1") == [("S1", 1), ("S3", 3), ("S5", 5)]
    quarantined = rows_of(db, "SELECT source_file, source_row, rules, reason, length(raw) FROM quarantine "
                              "ORDER BY source_row")
    (file2, row2, rules2, reason2, raw_length), (_, row4, rules4, _, _) = quarantined
    row_bytes = len(sessions.read_bytes().split(b"\r\n")[2])
    assert (file2, row2, rules2) == (str(sessions), 2, ["unreadable_row"])
    assert reason2 == f"row is {row_bytes:,} bytes, longer than the {MAX_ROW_BYTES:,} bytes a row may have"
    assert raw_length < 1000  # the record keeps the row's start, not megabytes
    assert (row4, rules4) == (4, ["wrong_field_count"])
    assert not list(tmp_path.glob("outcomes.duckdb.ingest-*"))  # the copy DuckDB read is gone


def test_a_too_long_quoted_value_with_line_breaks_is_one_quarantined_row(tmp_path):
    # Before: DuckDB split the value into thousands of rejected "rows", and ran out of memory.
    sessions = sessions_with_a_long_row(tmp_path, 10)
    sessions.write_bytes(sessions.read_bytes().replace(b"x" * 10, b'"' + b"line of a long note\r\n" * (MB + MB // 2) + b'"'))
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [tmp_path / "patients.csv", sessions], Settings(), now=NOW)
    adds_up(run)
    assert rows_of(db, "SELECT session_id, source_row FROM sessions ORDER BY 1") == [("S1", 1), ("S3", 3), ("S5", 5)]
    assert rows_of(db, "SELECT source_row, rules FROM quarantine ORDER BY 1") == [
        (2, ["unreadable_row"]), (4, ["wrong_field_count"])]


def test_a_too_long_last_row_without_a_line_ending_is_quarantined(tmp_path):
    sessions = sessions_with_a_long_row(tmp_path, 32 * MB, last=True)
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [tmp_path / "patients.csv", sessions], Settings(), now=NOW)
    adds_up(run)
    assert rows_of(db, "SELECT session_id FROM sessions") == [("S1",)]
    assert rows_of(db, "SELECT source_row, rules FROM quarantine") == [(2, ["unreadable_row"])]


def test_the_long_row_run_through_the_command_exits_0_and_reports_the_row(tmp_path):
    sessions = sessions_with_a_long_row(tmp_path, 32 * MB)
    db = tmp_path / "outcomes.duckdb"
    result = outcomes("ingest", tmp_path / "patients.csv", sessions, "--db", db, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "2 row(s) quarantined" in result.stdout
    listed = outcomes("quarantine", "--db", db)
    assert "longer than the 2,000,000 bytes a row may have" in listed.stdout


# --- a path is the file it names ----------------------------------------------------------------


def two_patients_files(folder: Path) -> None:
    """x1.csv and x[1].csv: what a glob `x[1].csv` and the file `x[1].csv` would each read."""
    write_csv(folder / "x1.csv", list(PATIENTS.columns), [patient("101")])
    write_csv(folder / "x[1].csv", list(PATIENTS.columns), [patient("201"), patient("202")])


def test_a_file_name_with_brackets_is_that_file_not_a_pattern(tmp_path):
    two_patients_files(tmp_path)
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [tmp_path / "x[1].csv"], Settings(), now=NOW)
    assert [f.path for f in run.files] == [str(tmp_path / "x[1].csv")]
    assert rows_of(db, "SELECT patient_id, source_file FROM patients ORDER BY 1") == [
        ("201", str(tmp_path / "x[1].csv")), ("202", str(tmp_path / "x[1].csv"))]


@pytest.mark.parametrize("name", ["a*b.csv", "q?.csv", "y\\[1].csv", "[x].csv"])
def test_star_question_mark_and_backslash_names_load_as_themselves(tmp_path, name):
    # Decoys each pattern would match: a*b -> aXb.csv, q? -> qa.csv, [x] -> x.csv.
    for decoy in ("aXb.csv", "qa.csv", "x.csv"):
        write_csv(tmp_path / decoy, list(PATIENTS.columns), [patient("999")])
    write_csv(tmp_path / name, list(PATIENTS.columns), [patient("301")])
    db = tmp_path / "outcomes.duckdb"
    ingest(db, [tmp_path / name], Settings(), now=NOW)
    assert rows_of(db, "SELECT patient_id, source_file FROM patients") == [("301", str(tmp_path / name))]


def test_a_folder_whose_name_has_brackets_loads_each_of_its_files_once(tmp_path):
    folder = tmp_path / "export [2025]"
    folder.mkdir()
    two_patients_files(folder)
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [folder], Settings(), now=NOW)
    adds_up(run)
    assert sorted(f.path for f in run.files) == [str(folder / "x1.csv"), str(folder / "x[1].csv")]
    assert rows_of(db, "SELECT patient_id FROM patients ORDER BY 1") == [("101",), ("201",), ("202",)]


def test_the_command_reads_a_bracketed_name_literally_and_names_a_missing_path(tmp_path):
    two_patients_files(tmp_path)
    db = tmp_path / "outcomes.duckdb"
    result = outcomes("ingest", tmp_path / "x[1].csv", "--db", db, "--quiet")
    assert result.returncode == 0, result.stderr
    assert rows_of(db, "SELECT patient_id FROM patients ORDER BY 1") == [("201",), ("202",)]
    missing = tmp_path / "x[2].csv"
    result = outcomes("ingest", missing, "--db", db, "--quiet")
    assert result.returncode == 2
    assert f"{missing}: no such file or folder" in result.stderr
    with pytest.raises(ImportFormatError, match=r"x\*\.csv: no such file or folder"):
        ingest(db, [tmp_path / "x*.csv"], Settings(), now=NOW)  # not expanded to x1.csv and x[1].csv


# --- mixed line endings -------------------------------------------------------------------------

# How such files arise: Python's csv module and Excel write CRLF (RFC 4180, section 2; Python
# docs, csv.Dialect.lineterminator = '\r\n'), Excel puts a bare LF for a line break typed inside a
# cell (Alt+Enter), a row appended by a Unix tool (`echo ... >> patients.csv`) ends in LF, and
# classic Mac OS text (Excel for Mac's "CSV (Macintosh)") ends lines with a lone CR.
MIXED = (
    b"patient_id,birth_year,sex,primary_indication,site,clinician,intake_date,contraindications\r\n"
    b"001,1980,female,depression,Northside,Dr. Okafor,2025-01-02,asthma\r\n"
    b"002,1981,male,anxiety,Northside,Dr. Okafor,2025-01-03,\n"                      # appended with LF
    b"003,1982,female,depression\r"                                               # lone CR, too few fields
    b'004,1983,female,ptsd,Northside,"Dr. Okafor\nDr. Lee",2025-01-04,asthma\r\n'  # LF inside a cell
    b'005,1984,male,depression,Northside,"Dr. Okafor\r\nDr. Lee",2025-01-05,\r\n'  # CRLF inside a cell
    b"006,1985,female,depression,Northside,Dr. Okafor,2025-01-06,asthma\r"        # last line, lone CR
)


def test_mixed_line_endings_load_every_row_without_a_cr_and_numbered_as_a_spreadsheet_shows(tmp_path):
    path = tmp_path / "patients.csv"
    path.write_bytes(MIXED)
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [path], Settings(), now=NOW)
    adds_up(run)
    assert (run.totals.rows_in, run.totals.inserted, run.totals.quarantined) == (6, 5, 1)
    loaded = rows_of(db, "SELECT patient_id, source_row, clinician, contraindications FROM patients ORDER BY 1")
    assert loaded == [
        ("001", 1, "Dr. Okafor", ["asthma"]),
        ("002", 2, "Dr. Okafor", []),
        ("004", 4, "Dr. Okafor\nDr. Lee", ["asthma"]),
        ("005", 5, "Dr. Okafor\nDr. Lee", []),
        ("006", 6, "Dr. Okafor", ["asthma"]),
    ]
    assert not any("\r" in repr(row) for row in rows_of(db, "SELECT * FROM patients"))
    assert rows_of(db, "SELECT source_row, rules FROM quarantine") == [(3, ["wrong_field_count"])]
    # The run records the file as given: its own hash, not the normalised copy's.
    stored = rows_of(db, "SELECT files[1].sha256 FROM ingest_runs")[0][0]
    assert stored == hashlib.sha256(MIXED).hexdigest()


def test_rows_are_numbered_as_a_spreadsheet_shows_them_after_a_value_with_line_breaks(tmp_path):
    header, first = MIXED.split(b"\r\n")[:2]
    path = tmp_path / "patients.csv"
    path.write_bytes(b"\n".join([
        header, first.replace(b",asthma", b',"asthma\n\nand\nhay fever"'), b"002,1980", b"",
        first.replace(b"001", b"003"), b"004", first.replace(b"001", b"005") + b"," + b"z" * (3 * MB), b"",
        first.replace(b"001", b"006"), b""]))
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [path], Settings(), now=NOW)
    adds_up(run)
    assert rows_of(db, "SELECT patient_id, source_row FROM patients ORDER BY 1") == [("001", 1), ("003", 4), ("006", 8)]
    assert rows_of(db, "SELECT source_row, rules FROM quarantine ORDER BY 1") == [
        (2, ["wrong_field_count"]), (5, ["wrong_field_count"]), (6, ["unreadable_row"])]


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r"], ids=["CRLF", "LF", "CR"])
def test_one_line_ending_throughout_loads_as_before(tmp_path, ending):
    path = tmp_path / "patients.csv"
    path.write_bytes(b"".join(line + ending for line in MIXED.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                              .split(b"\n")[:3]))
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [path], Settings(), now=NOW)
    adds_up(run)
    assert rows_of(db, "SELECT patient_id, source_row, site FROM patients ORDER BY 1") == [
        ("001", 1, "Northside"), ("002", 2, "Northside")]


def test_empty_lines_hold_their_row_number_before_and_after_a_rejected_row(tmp_path):
    # An empty line is skipped (not a row, not counted) but, as in a spreadsheet, holds a row
    # number: the rows after it, loaded or quarantined, are numbered in one sequence.
    # Before, loaded rows were numbered as if the empty lines were not there (002 -> 2) while a
    # rejected row counted them, so two rows could share a number.
    header, *rows = MIXED.split(b"\r\n")[:3]
    good = rows[0].replace(b"001", b"{id}")
    path = tmp_path / "patients.csv"
    path.write_bytes(b"\n".join([header, good.replace(b"{id}", b"001"), b"", good.replace(b"{id}", b"002"),
                                 b"003,1980", good.replace(b"{id}", b"004"), b"", b"",
                                 b'005,1980,female,depression,Northside,"a\n\nb",2025-01-02,', b"", b""]))
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [path], Settings(), now=NOW)
    adds_up(run)
    assert run.totals.rows_in == 5  # empty lines are not rows; an empty line inside a quoted value is no line
    assert rows_of(db, "SELECT patient_id, source_row, clinician FROM patients ORDER BY 1") == [
        ("001", 1, "Dr. Okafor"), ("002", 3, "Dr. Okafor"), ("004", 5, "Dr. Okafor"), ("005", 8, "a\n\nb")]
    assert rows_of(db, "SELECT source_row, rules FROM quarantine") == [(4, ["wrong_field_count"])]


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"], ids=["CRLF", "CR"])
def test_empty_lines_hold_their_row_number_whatever_the_line_ending(tmp_path, ending):
    # The scan looks for an empty line's two line endings in a CRLF or CR file only when the
    # block holds a CR (csv_lines.scan_lines): such a file must number its rows as an LF one does.
    header, *rows = MIXED.split(b"\r\n")[:3]
    good = rows[0]
    path = tmp_path / "patients.csv"
    path.write_bytes(ending.join([header, good, b"", good.replace(b"001", b"002"), b"", b"",
                                  good.replace(b"001", b"003"), b""]))
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [path], Settings(), now=NOW)
    adds_up(run)
    assert run.totals.rows_in == 3
    assert rows_of(db, "SELECT patient_id, source_row FROM patients ORDER BY 1") == [("001", 1), ("002", 3), ("003", 6)]


def test_a_redcap_export_with_mixed_endings_an_empty_line_and_a_long_row_loads_the_rest(tmp_path):
    # The sample REDCap export (LF) with a row re-saved on Windows (CRLF), an empty line and a
    # 32 MB answer: the same rows load, each with its own row number, and the long row is
    # quarantined once (not once per instrument).
    export = (SAMPLE / "redcap" / "export.csv").read_bytes()
    header, *rows = export.rstrip(b"\n").split(b"\n")
    rows[0] = rows[0] + b"\r"  # row 1 ends in CRLF
    rows.insert(1, b"")  # row 2 is empty: the sample's row 2 is now row 3
    rows.insert(3, rows[2].replace(b",2024-", b"," + b"9" * (32 * MB) + b"2024-", 1))  # row 4: too long
    folder = tmp_path / "redcap"
    folder.mkdir()
    (folder / "export.csv").write_bytes(b"\n".join([header, *rows]) + b"\n")
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [SAMPLE / "patients.csv", SAMPLE / "sessions.csv", folder / "export.csv"], Settings(), now=NOW)
    adds_up(run)
    clean = tmp_path / "clean.duckdb"
    ingest(clean, [SAMPLE / "patients.csv", SAMPLE / "sessions.csv", SAMPLE / "redcap" / "export.csv"],
           Settings(), now=NOW)
    shifted = {1: 1, 2: 3}  # sample row -> row in the edited export (row n >= 3 -> n + 2)
    expected = sorted((aid, shifted.get(row, row + 2)) for aid, row in
                      rows_of(clean, "SELECT assessment_id, source_row FROM assessments"))
    assert sorted(rows_of(db, "SELECT assessment_id, source_row FROM assessments")) == expected
    too_long = rows_of(db, "SELECT source_row, rules FROM quarantine WHERE reason LIKE 'row is %'")
    assert too_long == [(4, ["unreadable_row"])]


# --- a stray quote ------------------------------------------------------------------------------

# DuckDB opens a quoted value only where a field starts; a quote inside an unquoted field
# (`Dr Bob 5" tall`) is part of its text. Before, the scan took every quote for one that opens
# or closes a value, so one such quote made the rest of the file one 4 MB "row", replaced and
# quarantined: rows in 1, quarantined 1, inserted 0, and the run still balanced.
PATIENT_ROW = b"{id},1980,female,depression,Northside,{clinician},2025-01-02,asthma,"  # discharge_date blank


def patients_file(path: Path, rows: list[bytes]) -> Path:
    header = ",".join(PATIENTS.columns).encode()
    path.write_bytes(b"\n".join([header, *rows, b""]))  # one write: the test stays fast
    return path


def row_of(pid: int | str, clinician: bytes = b"Dr. Okafor") -> bytes:
    return PATIENT_ROW.replace(b"{id}", str(pid).zfill(6).encode()).replace(b"{clinician}", clinician)


def test_a_stray_quote_in_an_unquoted_field_loses_no_row(tmp_path):
    rows = [row_of(1, b'Dr Bob 5" tall')] + [row_of(n) for n in range(2, 60_001)]
    path = patients_file(tmp_path / "patients.csv", rows)
    assert path.stat().st_size > 2 * MAX_ROW_BYTES  # more than a row may have, were it one row
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [path], Settings(), now=NOW)
    adds_up(run)
    assert (run.totals.rows_in, run.totals.inserted, run.totals.quarantined) == (60_000, 60_000, 0)
    assert rows_of(db, "SELECT clinician, source_row FROM patients WHERE patient_id = '000001'") == [
        ('Dr Bob 5" tall', 1)]
    assert rows_of(db, "SELECT max(source_row) FROM patients") == [(60_000,)]


def test_after_a_stray_quote_a_too_long_quoted_row_is_still_quarantined_and_rows_keep_their_numbers(tmp_path):
    long_value = b'"' + b"line of a long note\n" * (MB // 8) + b'"'  # 2.5 MB, line breaks inside
    path = patients_file(tmp_path / "patients.csv", [
        row_of(1, b'Dr Bob 5" tall'), row_of(2), row_of(3, long_value), row_of(4), b"", row_of(6, b'5"'),
        row_of(7, b'"Okafor, ""Bob"""')])
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [path], Settings(), now=NOW)
    adds_up(run)
    assert rows_of(db, "SELECT patient_id, source_row, clinician FROM patients ORDER BY 1") == [
        ("000001", 1, 'Dr Bob 5" tall'), ("000002", 2, "Dr. Okafor"), ("000004", 4, "Dr. Okafor"),
        ("000006", 6, '5"'), ("000007", 7, 'Okafor, "Bob"')]
    assert rows_of(db, "SELECT source_row, rules, reason FROM quarantine") == [
        (3, ["unreadable_row"], f"row is {len(row_of(3, long_value)):,} bytes, longer than the "
                                f"{MAX_ROW_BYTES:,} bytes a row may have")]


def test_text_after_a_closing_quote_is_read_as_duckdb_reads_it(tmp_path):
    # `"Okafor"MD"`: DuckDB closes the value at the second quote, reads `MD"` as unquoted text
    # (its quote a literal one), rejects the row and reads on from the line ending. A `""`
    # inside a value is an escaped quote; `"a" "b"` (a space, then a quote) DuckDB joins into
    # `a b`. The scan reads the quotes alike: the rows after them keep their numbers, an
    # empty line included, and a 3 MB row without quotes is still found and quarantined.
    path = patients_file(tmp_path / "patients.csv", [
        row_of(1), row_of(2, b'"Okafor"MD"'), row_of(3, b"z" * (3 * MB)), b"", row_of(5, b'"Okafor"" MD"'),
        row_of(6, b'"Okafor" "MD\nPhD"'), row_of(7)])
    db = tmp_path / "outcomes.duckdb"
    run = ingest(db, [path], Settings(), now=NOW)
    adds_up(run)
    assert rows_of(db, "SELECT patient_id, source_row, clinician FROM patients ORDER BY 1") == [
        ("000001", 1, "Dr. Okafor"), ("000005", 5, 'Okafor" MD'), ("000006", 6, "Okafor MD\nPhD"),
        ("000007", 7, "Dr. Okafor")]
    quarantined = rows_of(db, "SELECT source_row, rules, raw FROM quarantine ORDER BY 1")
    assert [(row, rules) for row, rules, _ in quarantined] == [(2, ["unreadable_row"]), (3, ["unreadable_row"])]
    assert json.loads(quarantined[0][2]) == {"line": row_of(2, b'"Okafor"MD"').decode()}
    # The same cells as DuckDB's own reader takes them from the file without the long row.
    plain = patients_file(tmp_path / "plain.csv", [row_of(1), row_of(2, b'"Okafor"MD"'), row_of(5, b'"Okafor"" MD"'),
                                                   row_of(6, b'"Okafor" "MD\nPhD"'), row_of(7)])
    read = duckdb.connect().execute(
        "SELECT clinician FROM read_csv(?, header = true, auto_detect = false, columns = ?, delim = ',', "
        "quote = '\"', escape = '\"', store_rejects = true)", [str(plain), {c: "VARCHAR" for c in PATIENTS.columns}]
    ).fetchall()
    assert read == [("Dr. Okafor",), ('Okafor" MD',), ("Okafor MD\nPhD",), ("Dr. Okafor",)]


def test_a_long_row_whose_line_endings_a_strict_reading_puts_outside_a_value_is_left_to_duckdb():
    # The safety net: `Dr "Bob` then 2.5 MB of lines then `x"` is one row only if the quote in
    # the middle of a field were taken to open a value; a row that reads so is never replaced.
    body = b"a,b\n1," + b'"ok ' + b"y\n" * (MB + MB // 4) + b'",\n2,3\n'
    assert csv_lines._one_row(io.BytesIO(body), 4, len(body) - 4 - len(b"\n2,3\n"))
    odd = b"a,b\n1," + b'Dr "Bob ' + b"y\n" * 10 + b'x",\n2,3\n'
    assert not csv_lines._one_row(io.BytesIO(odd), 4, len(odd) - 4 - len(b"\n2,3\n"))
    unclosed = b"a,b\n1," + b'"never closed ' + b"y\n" * 10
    assert not csv_lines._one_row(io.BytesIO(unclosed), 4, len(unclosed) - 4)
    one_line = b"a,b\n1," + b'Dr "Bob ' + b"y" * 100
    assert csv_lines._one_row(io.BytesIO(one_line), 4, len(one_line) - 4)
