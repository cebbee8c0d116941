"""Reader for the project's own CSV exports (patients, sessions, assessments).

It knows the file format and nothing about clinics: it recognises the kind from the header,
lets DuckDB parse the whole file as text in one pass (fast, streaming, parallel), and hands
the validator a table of canonical text columns plus `source_row`. Rows DuckDB cannot split
into the header's fields are returned as rejects so they are quarantined, never dropped.

The path is given to DuckDB literally (a `[`, `*` or `?` in a file name is part of the name,
never a pattern), and a file DuckDB cannot be given as it is (a row longer than
`MAX_ROW_BYTES`, mixed line endings: see `csv_lines`) is read through a streamed copy.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from .. import sql
from ..formats import ExportKind, ImportFormatError, detect_kind, normalise_header
from .csv_lines import MAX_ROW_BYTES, RAW_PREFIX, LongLine, scan_lines, write_copy
from .rows import Reject, StagedFile, file_sha256, row_position, skipped_rows


def read_header(path: str | Path) -> list[str]:
    """The first line's column names, normalised. Raises ImportFormatError if unreadable."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path}: not a UTF-8 text file, so not a CSV export we can read") from None
    except csv.Error as error:
        raise ImportFormatError(f"{path}: the header line is not valid CSV ({error})") from None
    except OSError as error:
        raise ImportFormatError(f"{path}: cannot be opened ({error.strerror})") from None
    if not first or not any(cell.strip() for cell in first):
        raise ImportFormatError(f"{path}: empty file, or no header line")
    broken = next((cell for cell in first if "\n" in cell or "\r" in cell), None)
    if broken is not None:
        # DuckDB mis-parses such a header (it takes the quoted line break for the file's line
        # ending, or after a BOM splits the header there) and rows are silently lost.
        raise ImportFormatError(f"{path}: a column name in the header holds a line break ({broken!r}); "
                                "each column name must be on the header line")
    return [normalise_header(cell) for cell in first]


def sniff(path: str | Path) -> ExportKind:
    """The export kind of a CSV file, checked for required columns."""
    return detect_kind(str(path), read_header(path))


def stage_csv(con: duckdb.DuckDBPyConnection, path: str | Path, scan_no: int = 0) -> StagedFile:
    """Parse `path` into temp table `staged_raw` (canonical text columns) in one pass, and
    expose it with each row's position in the file as view `staged`."""
    path = str(path)
    header = read_header(path)
    kind = detect_kind(path, header)
    # Numeric columns are parsed by the CSV reader itself (fast, and a cell such as "two"
    # comes back as a reject naming the column); everything else is read as text.
    columns = {
        name if name else f"unnamed_{i}": "DOUBLE" if name in kind.numeric else "VARCHAR"
        for i, name in enumerate(header)
    }
    # The content hash is computed alongside the parse (hashlib and DuckDB both release the GIL).
    hashing = ThreadPoolExecutor(max_workers=1)
    sha256 = hashing.submit(file_sha256, path)
    hashing.shutdown(wait=False)
    rejects = read_csv_into(con, path, columns, "staged_raw", f"SELECT {_canonical_columns(kind, set(columns))}",
                            scan_no)
    n_rows, first_rowid = con.execute("SELECT count(*), coalesce(min(rowid), 0) FROM staged_raw").fetchall()[0]
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged AS SELECT {row_position(first_rowid, skipped_rows(con))} "
                "AS source_row, * FROM staged_raw")
    return StagedFile(path=path, sha256=sha256.result(), kind=kind, n_rows=n_rows, rejects=rejects)


def read_csv_into(con: duckdb.DuckDBPyConnection, path: str, columns: dict[str, str], table: str,
                  select: str, scan_no: int) -> list[Reject]:
    """Parse `path` with DuckDB in one pass into temp table `table` (`select` over the file's
    `columns`, in file order), and return the rows the parser could not take as rejects. Their
    data rows, and those of the empty lines DuckDB skips, are written to temp table
    `reject_rows`, which `row_position` reads (see `rows.skipped_rows`). Shared by every
    CSV-based reader, so a bad line is handled the same whatever the export."""
    errors_table, scans_table = f"rejects_{scan_no}", f"reject_scans_{scan_no}"
    con.execute("SET preserve_insertion_order = true")  # rowid order = file order (see rows.row_position)
    # The data rows DuckDB gives no row for: its rejects (below) and the empty lines it skips.
    con.execute("CREATE OR REPLACE TEMP TABLE reject_rows(source_row BIGINT)")

    def skip_empty(lines: list[int]) -> None:  # row as DuckDB counts it (header = 1) -> data row
        if lines:
            con.execute("INSERT INTO reject_rows SELECT unnest(?::BIGINT[]) - 1", [lines])

    scan = scan_lines(path, on_empty=skip_empty)
    source, copy = literal_path(path), None
    if scan.needs_copy or source is None:
        copy = _copy_target(con)
        write_copy(path, copy, scan, placeholder=_placeholder(len(columns)).encode())
        source = str(copy)
    try:
        # One step, built from the target table's name and the reader's column list.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS {select} FROM read_csv(?, header = true, auto_detect = false, "
            f"columns = ?, delim = ',', quote = '\"', escape = '\"', max_line_size = {MAX_ROW_BYTES}, "
            f"store_rejects = true, rejects_table = '{errors_table}', rejects_scan = '{scans_table}')",
            [source, columns],
        )
    except duckdb.OutOfMemoryException as error:
        # Not the file's fault: say which knob to turn (docs/ingest.md, Large files).
        raise ImportFormatError(
            f"{path}: ran out of memory while reading it ({str(error).splitlines()[0]}); "
            "raise OUTCOMES_INGEST_MEMORY (default 1GB)"
        ) from None
    except duckdb.Error as error:
        raise ImportFormatError(f"{path}: cannot be read as CSV ({str(error).splitlines()[0]})") from None
    finally:
        if copy is not None:
            copy.unlink(missing_ok=True)
    placeholder, long_rows = _placeholder(len(columns)), iter(scan.long_lines)
    rejects = []
    for line, raw, errors in con.execute(sql.render("readers/csv_rejects", scan_no=str(int(scan_no)))).fetchall():
        # DuckDB numbers rows as a spreadsheet shows them (header = line 1); data row = line - 1.
        long_row = next(long_rows, None) if raw == placeholder else None
        rejects.append(_long_row(line - 1, long_row) if long_row else _reject(line - 1, raw or "", errors))
    missed = [_long_row(x.line - 1, x) for x in long_rows]  # none expected: DuckDB rejects each placeholder
    rejects = sorted(rejects + missed, key=lambda r: r.source_row)
    con.execute(f"DROP TABLE IF EXISTS {errors_table}; DROP TABLE IF EXISTS {scans_table}")
    if rejects:
        con.execute("INSERT INTO reject_rows SELECT unnest(?::BIGINT[])", [[r.source_row for r in rejects]])
    return rejects


def literal_path(path: str | Path) -> str | None:
    """`path` as DuckDB's read_csv reads exactly that file. DuckDB takes a path holding `*`,
    `?` or `[` for a glob pattern (`x[1].csv` would read `x1.csv`), so each of them is written
    as a one-character class (`[[]`, `[*]`, `[?]`), which matches only itself. The path is made
    absolute so DuckDB neither expands `~` nor searches `file_search_path`. None when that is
    impossible: on POSIX a pattern is also split at backslashes, so a name holding both a
    backslash and a pattern character is read through a copy instead."""
    absolute = os.path.abspath(path)
    if not re.search(r"[*?\[]", absolute):
        return absolute
    if os.sep == "/" and "\\" in absolute:
        return None
    return re.sub(r"([*?\[])", r"[\1]", absolute)


def _copy_target(con: duckdb.DuckDBPyConnection) -> Path:
    """A file for the copy of an export DuckDB reads instead: beside the run's spill folder
    (the same disk, removed with it by the next run if this one is killed), else in the
    system's temporary folder."""
    setting = con.execute("SELECT current_setting('temp_directory')").fetchone()[0] or ""
    spill = Path(setting).resolve()
    folder = spill.parent if setting and spill.name != ".tmp" and spill.parent.is_dir() else None
    handle, name = tempfile.mkstemp(prefix=f"{spill.name}-", suffix=".csv", dir=folder)
    os.close(handle)
    return Path(name)


def _placeholder(n_columns: int) -> str:
    """The line put in place of an over-long row in the copy DuckDB reads: one field too many,
    so DuckDB rejects it at the row's own number (not commas only: DuckDB takes a line of
    commas for a row of blanks), and text no export holds, so its reject is recognised."""
    return ",".join(["(row too long)"] * (n_columns + 1))


def _long_row(source_row: int, line: LongLine) -> Reject:
    """An over-long row found by `csv_lines`, as a reject in the reader's words."""
    return Reject(source_row, f"{line.prefix}... ({line.length:,} bytes)", "unreadable_row",
                  f"row is {line.length:,} bytes, longer than the {MAX_ROW_BYTES:,} bytes a row may have",
                  unknown_kind=True)


def _reject(source_row: int, raw: str, errors: list[dict]) -> Reject:
    """Name the rule a parser error broke, in the same words the validator uses. A row that
    could not be split into fields is `unknown_kind` (in a REDCap export, whose rows carry
    several forms, it may be any of them); a value that is not a number is not."""
    if all(e["type"] == "CAST" for e in errors):
        values = [re.search(r'Could not convert string "(.*)" to', e["message"]) for e in errors]
        cells = ", ".join(f'{e["column"]} "{v.group(1) if v else "?"}"' for e, v in zip(errors, values))
        if all(e["column"].startswith("item_") for e in errors):
            return Reject(source_row, raw, "item_not_whole", f"item answers must be whole numbers: {cells}")
        return Reject(source_row, raw, "not_a_number", f"not a number: {cells}")
    kinds = {e["type"] for e in errors}
    if "LINE SIZE OVER MAXIMUM" in kinds:  # a quoted value with line breaks, too long in all
        size = next(iter(re.findall(r"Actual Size:\s*(\d+)", " ".join(e["message"] for e in errors))), None)
        return Reject(source_row, raw[:RAW_PREFIX], "unreadable_row",
                      f"row is {int(size):,} bytes, longer than the {MAX_ROW_BYTES:,} bytes a row may have" if size
                      else f"row is longer than the {MAX_ROW_BYTES:,} bytes a row may have", unknown_kind=True)
    if kinds & {"MISSING COLUMNS", "TOO MANY COLUMNS"}:
        return Reject(source_row, raw, "wrong_field_count",
                      f"cannot split the row into the header's columns ({', '.join(sorted(kinds)).lower()})",
                      unknown_kind=True)
    return Reject(source_row, raw, "unreadable_row",
                  f"the row cannot be read as CSV ({'; '.join(e['message'] for e in errors)})", unknown_kind=True)


def _canonical_columns(kind: ExportKind, present: set[str]) -> str:
    """The validator's contract: every column of the kind as trimmed text (blank = NULL),
    except the kind's numeric columns (item answers, doses, vital signs), which are numbers;
    absent optional columns are NULL."""
    def cell(name: str) -> str:
        if name in kind.numeric:  # already numbers
            return f'"{name}"' if name in present else "NULL::DOUBLE"
        return f"""nullif(trim("{name}"), '')""" if name in present else "NULL::VARCHAR"

    return ", ".join(f"{cell(c)} AS {c}" for c in kind.columns)
