"""The rows and line endings of a CSV file, looked at before DuckDB parses it.

What DuckDB's CSV reader cannot be given as it is, or does not report:

- **A row longer than `MAX_ROW_BYTES`.** DuckDB rejects such a row while it fits in the
  reader's buffer, but a row longer than the buffer (about 31 MB and up) vanishes with no
  reject, and sometimes every row after it with it: the run ends with exit 0 and the rows
  missing from its counts (a long quoted value with line breaks comes back as thousands of
  broken rows instead). So every row longer than the limit is found here and replaced, in a
  copy, by one short placeholder line DuckDB rejects at the same row number; the reader then
  quarantines the row with its size. Only a row that is surely one row is replaced (see
  `_one_row`); any other is left to DuckDB, never replaced with the rows it may hold.
- **Empty lines** DuckDB skips without a trace, yet a spreadsheet shows them as rows: their
  numbers are handed to the reader so the rows after them keep theirs.
- **Mixed line endings** (CRLF and LF, or a lone CR, in one file). DuckDB refuses the whole
  file ("state machine reached an invalid state"). A spreadsheet reads each of CRLF, LF and
  CR as one line break, so the copy writes every one of them as LF: every row loads, no CR is
  kept in a value, and each row keeps the line number a spreadsheet shows.

The scan and the copy stream the file in 1 MiB blocks (memory stays bounded whatever the
file's size) with C-speed bytes operations per block; Python loops only over empty lines and,
to find where a row ends, over the quoted values before the first line ending outside one.
Quotes are read as DuckDB reads them (see FIELD): a block whose quotes all open a value where a
field starts or close one before a comma or a line ending (checked with two regex searches)
is read with "a quote toggles inside a value"; only a block holding some other quote (a stray
`5" tall`, `"abc"def`) is split at its quoted values by one regex instead (a few times
slower: a 50 MB file with a stray quote in every row and every other field quoted is scanned
in about 3 s instead of 0.6 s). A
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
BOM = b"\xef\xbb\xbf"


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
    if b"\r" not in data:  # the usual LF file: one count, not three
        return data.count(b"\n")
    return data.count(b"\r") + data.count(b"\n") - data.count(b"\r\n")


def _row_breaks(data: bytes, quoted: bool) -> int:
    """Line endings in `data` outside quoted values (`quoted`: data starts inside one), for a
    stretch of the file where every quote opens or closes a value (see `_fast_state`)."""
    return _line_breaks(b'"'.join(data.split(b'"')[1 if quoted else 0::2]))


# Where a quote stands, as DuckDB's CSV reader (delim ',', quote and escape '"') reads it:
FIELD, SPACE, TEXT, QUOTED, CLOSED, CLOSED_SPACE = range(6)
# FIELD: at the start of a field (after a comma, a line ending, the BOM or the file's start): a
#   quote opens a quoted value. SPACE: after one space there: a quote still opens one (a second
#   space makes the field unquoted text). TEXT: in an unquoted field: a quote is a literal
#   character (`Dr Bob 5" tall`). QUOTED: inside a quoted value: line endings and commas are
#   part of it; a quote ends it, unless another follows (`""`, an escaped quote). CLOSED: just
#   after the closing quote, and CLOSED_SPACE after spaces following it: a comma or a line
#   ending ends the field, a quote re-opens the value (DuckDB joins `"a" "b"` into `a b`),
#   anything else is unquoted text to the next comma (`"abc"def`: DuckDB rejects the row and
#   reads on, the next line ending ending the row).
# Outside text (see `_outside`) standing for what was read before a block in each state.
_STATE_TEXT = {FIELD: b",", SPACE: b", ", TEXT: b"x", QUOTED: b",", CLOSED: b'"', CLOSED_SPACE: b'" '}
# In the outside text of a block (`_fast_state`), a quote that does not stand where a value
# opens (after a comma, a line ending or another quote) or closes (before one of them).
_BAD_CLOSE = re.compile(rb'"(?![,\r\n"]|\Z)')
_BAD_OPEN = _BAD_CLOSE  # applied to the outside text reversed
_NEUTRAL = bytes.maketrans(b'\r\n"', b"   ")


def _outside(parts: list[bytes], quoted: bool) -> bytes:
    """The text of a block outside quoted values if every quote toggled (`parts`: the block cut
    at its quotes; `quoted`: it starts inside a value), each quoted stretch written as one `"`."""
    outside = b'"'.join(parts[1::2] if quoted else parts[0::2])
    return (b'"' if quoted else b"") + outside + (b'"' if (len(parts) % 2 == 0) != quoted else b"")


def _state_after(text: bytes, state: int) -> int:
    """The state after `text` (no quotes but those standing for quoted values), from `state`."""
    cut = max(text.rfind(b","), text.rfind(b"\n"), text.rfind(b"\r"), text.rfind(b'"'))
    if cut >= 0:
        state = CLOSED if text[cut] == 0x22 else FIELD
    rest = len(text) - cut - 1
    if rest == 0:
        return state
    if text.count(b" ", cut + 1) != rest:
        return TEXT
    if state in (CLOSED, CLOSED_SPACE):
        return CLOSED_SPACE
    return SPACE if state == FIELD and rest == 1 else TEXT


def _fast_state(parts: list[bytes], state: int) -> int | None:
    """The state after a block cut at its quotes into `parts`, if each of its quotes opens a
    value where a field starts, closes one before a comma or a line ending, or is half of an
    escaped `""`: then a quote toggles "inside a value" and the parts alternate (the usual
    block, checked with two regex searches). None when some quote stands elsewhere."""
    quoted = state == QUOTED
    text = _STATE_TEXT[state] + _outside(parts, quoted)
    if _BAD_CLOSE.search(text) or _BAD_OPEN.search(text[::-1]):
        return None
    if (len(parts) % 2 == 0) != quoted:
        return QUOTED
    return _state_after(text, state)


# A quoted value as DuckDB reads it: opened where a field starts (or after one space there),
# `""` inside it an escaped quote, re-opened by a quote after the closing one and spaces; or
# left open to the end of the block.
_VALUE = re.compile(rb'([,\r\n])( ?"(?:[^"]|"")*(?:"(?: *"(?:[^"]|"")*(?:"|\Z))*|\Z))')
# Text that puts the reading of a block in a state: what DuckDB would have read before it.
_STATE_CONTEXT = {FIELD: b",", SPACE: b", ", TEXT: b"x", QUOTED: b',"', CLOSED: b',""', CLOSED_SPACE: b',"" '}


def _strict_mask(data: bytes, state: int, pos: int = 0) -> tuple[bytes, int]:
    """`data` read as DuckDB reads it (see FIELD), from `state` at `pos`: a copy of it of the
    same length in which every line ending inside a quoted value and every quote is a space,
    and the state at its end. For blocks `_fast_state` cannot read (the quoted values are
    found by one regex split; Python touches each once, to blank its line endings)."""
    context = _STATE_CONTEXT[state]
    pieces = _VALUE.split(context + data[pos:])  # outside, its last byte, value, outside, ...
    last = pieces[-1]
    if len(pieces) > 1 and not last:
        end = QUOTED if pieces[-2].count(b'"') % 2 else CLOSED
    else:
        cut = max(last.rfind(b","), last.rfind(b"\n"), last.rfind(b"\r"))
        rest = len(last) - cut - 1
        base = FIELD if cut >= 0 else CLOSED if len(pieces) > 1 else TEXT
        if rest == 0:
            end = base
        elif last.count(b" ", cut + 1) != rest:
            end = TEXT
        elif base == CLOSED:
            end = CLOSED_SPACE
        else:
            end = SPACE if base == FIELD and rest == 1 else TEXT
    pieces[2::3] = [value.translate(_NEUTRAL) for value in pieces[2::3]]
    masked = b"".join(pieces)[len(context):].replace(b'"', b" ")
    return data[:pos] + masked, end


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
    state, previous = FIELD, b""  # the state where the block starts (see FIELD); the last byte before it
    starts: list[tuple[int, int, int]] = []
    with open(path, "rb") as handle:
        for offset, data in _blocks(handle):
            lf = data.count(b"\n")
            crlf, cr = (data.count(b"\r\n"), data.count(b"\r")) if b"\r" in data else (0, 0)
            for name, n in (("CRLF", crlf), ("CR", cr - crlf), ("LF", lf - crlf)):
                if n:
                    scan.endings.add(name)
            # `view`, cut at its quotes into `parts`, is read as "a quote toggles inside a
            # value" from `quoted`: the block itself, or its masked copy (`_strict_mask`).
            view, quoted, skip = data, state == QUOTED, 3 if offset == 0 and data.startswith(BOM) else 0
            if b'"' in data:
                parts = data.split(b'"')
                end = _fast_state([parts[0][skip:], *parts[1:]], state)
                if end is None:
                    view, end = _strict_mask(data, state, skip)
                    parts, quoted = [view], False
            else:
                parts, end = [data], QUOTED if state == QUOTED else _state_after(data[skip:], state)
            text = previous + view
            # (Each two-byte search reads the whole block, about 1 ms per MB: the two with a CR
            # are made only in a block that holds one, so an LF file pays for one search.)
            if b"\n\n" in text or (b"\r" in text and (b"\n\r" in text or b"\r\r" in text)):
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
            first = _row_break(view, parts, quoted, last=False)
            if first >= 0:
                if offset + first - row_start > limit:
                    starts.append((row, row_start, offset + first - row_start))
                if view is not data:
                    row += _line_breaks(view)
                else:
                    # The block's line endings less those inside quoted values (a quote between
                    # two parts is no line ending, so the counts add up part by part).
                    row += cr + lf - crlf - sum(map(_line_breaks, parts[0 if quoted else 1::2]))
                row_start = offset + _row_break(view, parts, quoted, last=True) + 1
            state, previous = end, view[-1:]
        size = handle.seek(0, 2)
        if size - row_start > limit:  # the last row, with no line ending
            starts.append((row, row_start, size - row_start))
        for number, start, length in starts:
            if number == 1:
                continue  # the header: read and checked by read_header, never a data row
            if not _one_row(handle, start, length):
                continue  # not sure where it ends: DuckDB reads it (and rejects what it cannot)
            handle.seek(start)
            prefix = handle.read(RAW_PREFIX).decode("utf-8", errors="replace")
            scan.long_lines.append(LongLine(number, start, length, prefix))
    return scan


def _one_row(handle, start: int, length: int) -> bool:
    """Whether the long row at [start, start + length) is surely one row, so it may be replaced:
    it holds no line ending, or each of its line endings is inside a quoted value of the
    strictest reading (RFC 4180: a quote opens a value only first in a field, closes it only
    before a comma or the row's end, `""` inside it is a quote; no quote anywhere else). A
    row that reads otherwise, a stray quote or an unclosed value (running on to the file's
    end) among them, is left to DuckDB rather than replaced with the rows it may hold."""
    before, quoted = b"\n", False  # the outside text's last byte before the block; inside a value
    for _, data in _blocks(handle, start, start + length):
        parts = data.split(b'"')
        text = before + _outside(parts, quoted)
        if (b"\n" in text[1:] or b"\r" in text[1:] or _BAD_CLOSE.search(text)
                or _BAD_OPEN.search(text[::-1])):
            return _no_line_ending(handle, start, length)
        quoted ^= len(parts) % 2 == 0
        before = text[-1:]
    return not quoted or _no_line_ending(handle, start, length)


def _no_line_ending(handle, start: int, length: int) -> bool:
    return not any(b"\n" in data or b"\r" in data for _, data in _blocks(handle, start, start + length))


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
