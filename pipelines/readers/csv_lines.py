"""The rows and line endings of a CSV file, looked at before DuckDB parses it.

What DuckDB's CSV reader cannot be given as it is, or does not report:

- **A row longer than `MAX_ROW_BYTES`.** DuckDB rejects such a row while it fits in the
  reader's buffer, but a row longer than the buffer (about 31 MB and up) vanishes with no
  reject, and sometimes every row after it with it: the run ends with exit 0 and the rows
  missing from its counts (a long quoted value with line breaks comes back as thousands of
  broken rows instead). So every row longer than the limit is found here and replaced, in a
  copy, by one short placeholder line DuckDB rejects at the same row number; the reader then
  quarantines the row with its size.
- **Empty lines** DuckDB skips without a trace, yet a spreadsheet shows them as rows: their
  numbers are handed to the reader so the rows after them keep theirs.
- **Mixed line endings** (CRLF and LF, or a lone CR, in one file). DuckDB refuses the whole
  file ("state machine reached an invalid state"). A spreadsheet reads each of CRLF, LF and
  CR as one line break, so the copy writes every one of them as LF: every row loads, no CR is
  kept in a value, and each row keeps the line number a spreadsheet shows.

The scan and the copy stream the file in 1 MiB blocks (memory stays bounded whatever the
file's size) with C-speed bytes operations per block; Python loops only over empty lines and,
to find where a row ends, over the quoted values before the first line ending outside one. A
file with no over-long row and one line ending throughout is not copied. A quoted line break counts as a line ending here (LF
inside a quoted value of a CRLF file makes the file "mixed"); copying such a file is harmless:
its values keep their line breaks, written as LF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

# The longest row (in bytes, without its line ending) the CSV reader takes. DuckDB's own
# default `max_line_size`, passed explicitly so a change of default cannot change the rule.
MAX_ROW_BYTES = 2_000_000
BLOCK = 1 << 20  # smaller than MAX_ROW_BYTES: a line longer than that spans a block boundary
RAW_PREFIX = 200  # bytes of an over-long row kept in its quarantine record


@dataclass(frozen=True)
class LongLine:
    """A row longer than MAX_ROW_BYTES: its number as DuckDB counts rows (header = 1), where
    it starts in the file, its length in bytes (line ending excluded) and its first bytes."""

    line: int
    start: int
    length: int
    prefix: str


@dataclass
class LineScan:
    endings: set[str] = field(default_factory=set)  # of "CRLF", "LF", "CR"
    long_lines: list[LongLine] = field(default_factory=list)

    @property
    def mixed(self) -> bool:
        return len(self.endings) > 1

    @property
    def needs_copy(self) -> bool:
        return self.mixed or bool(self.long_lines)


def _blocks(handle, start: int = 0, end: int | None = None):
    """(offset, bytes) blocks of [start, end), a trailing CR held back to the next block so a
    CRLF is never split between two blocks."""
    handle.seek(start)
    offset, carry = start, b""
    while True:
        size = BLOCK if end is None else min(BLOCK, end - offset - len(carry))
        block = handle.read(size) if size > 0 else b""
        data = carry + block
        if not block:
            if data:
                yield offset, data
            return
        carry = b"\r" if data.endswith(b"\r") else b""
        if carry:
            data = data[:-1]
        if data:
            yield offset, data
        offset += len(data)


# A line ending directly followed by another: an empty line starts after the first. (CR then
# LF is one CRLF ending, not two.)
_EMPTY_LINE = re.compile(rb"(?:\n|\r(?!\n))(?=[\r\n])")


def _line_breaks(data: bytes) -> int:
    return data.count(b"\r") + data.count(b"\n") - data.count(b"\r\n")


def _row_breaks(data: bytes, quoted: bool) -> int:
    """Line endings in `data` outside quoted values (`quoted`: data starts inside one). A quote
    always toggles (an escaped `""` toggles twice), so the parts between quotes alternate."""
    return _line_breaks(b'"'.join(data.split(b'"')[1 if quoted else 0::2]))


def _row_break(data: bytes, parts: list[bytes], quoted: bool, last: bool) -> int:
    """Position in `data` (cut into `parts` at its quotes) of the first, or last, line ending
    outside quoted values, or -1. Usually found in the first part looked at."""
    if not last:
        position = 0
        for number, part in enumerate(parts):
            if (number % 2 == 1) == quoted:  # outside a quoted value
                hits = [i for i in (part.find(b"\n"), part.find(b"\r")) if i >= 0]
                if hits:
                    return position + min(hits)
            position += len(part) + 1
        return -1
    end = len(data)
    for number in range(len(parts) - 1, -1, -1):
        part = parts[number]
        if (number % 2 == 1) == quoted:
            hit = max(part.rfind(b"\n"), part.rfind(b"\r"))
            if hit >= 0:
                return end - len(part) + hit
        end -= len(part) + 1
    return -1


def scan_lines(path: str | Path, limit: int = MAX_ROW_BYTES,
               on_empty: Callable[[list[int]], None] = lambda lines: None) -> LineScan:
    """The file's line endings and the rows longer than `limit`, in one streaming pass.

    Rows are numbered as DuckDB numbers them in its rejects and a spreadsheet shows them
    (header = 1; a line break inside a quoted value does not start a row; an empty line does).
    `on_empty` is given, block by block, the numbers of the empty lines: DuckDB skips them, yet
    they hold a row number."""
    assert limit >= BLOCK, "rows inside one block are not measured"
    scan = LineScan()
    row, row_start = 1, 0  # the current row's number and first byte
    quoted, previous = False, b""  # the block starts inside a quoted value; the last byte before it
    starts: list[tuple[int, int, int]] = []
    with open(path, "rb") as handle:
        for offset, data in _blocks(handle):
            text = previous + data
            if b"\n\n" in text or b"\n\r" in text or b"\r\r" in text:
                empty, cursor, at_row, inside = [], len(previous), row, quoted
                for match in _EMPTY_LINE.finditer(text):
                    start = match.start() + 1  # where the empty line begins
                    segment = text[cursor:start]
                    at_row += _row_breaks(segment, inside)
                    inside ^= segment.count(b'"') % 2 == 1
                    cursor = start
                    if not inside:
                        empty.append(at_row)
                on_empty(empty)
            crlf, cr, lf = data.count(b"\r\n"), data.count(b"\r"), data.count(b"\n")
            for name, n in (("CRLF", crlf), ("CR", cr - crlf), ("LF", lf - crlf)):
                if n:
                    scan.endings.add(name)
            parts = data.split(b'"') if b'"' in data else [data]
            first = _row_break(data, parts, quoted, last=False)
            if first >= 0:
                if offset + first - row_start > limit:
                    starts.append((row, row_start, offset + first - row_start))
                row += cr + lf - crlf if len(parts) == 1 else _line_breaks(b'"'.join(parts[1 if quoted else 0::2]))
                row_start = offset + _row_break(data, parts, quoted, last=True) + 1
            quoted ^= len(parts) % 2 == 0  # an odd number of quotes
            previous = data[-1:]
        size = handle.seek(0, 2)
        if size - row_start > limit:  # the last row, with no line ending
            starts.append((row, row_start, size - row_start))
        for number, start, length in starts:
            if number == 1:
                continue  # the header: read and checked by read_header, never a data row
            handle.seek(start)
            prefix = handle.read(RAW_PREFIX).decode("utf-8", errors="replace")
            scan.long_lines.append(LongLine(number, start, length, prefix))
    return scan


def write_copy(path: str | Path, target: str | Path, scan: LineScan, placeholder: bytes) -> None:
    """Copy `path` to `target` with every line ending written as LF and each long line
    replaced by `placeholder` (a line DuckDB rejects, without its line ending: the long line's own
    ending follows it), so line numbers stay as they were."""
    with open(path, "rb") as source, open(target, "wb") as out:
        keep_from = 0
        spans = [(x.start, x.start + x.length) for x in scan.long_lines]
        for start, end in [*spans, (None, None)]:
            for _, data in _blocks(source, keep_from, start):
                out.write(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
            if start is None:
                return
            out.write(placeholder)
            keep_from = end
