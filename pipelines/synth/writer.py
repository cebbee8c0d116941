"""CSV output: column-oriented tables rendered to text in chunks and written with the csv module.

A `Table` is an ordered mapping of CSV column name -> column data. A column is one of:
  * a numpy integer array (`MISSING` = blank), float array (NaN = blank, one decimal place),
    datetime64 array (day unit -> `YYYY-MM-DD`, finer -> `YYYY-MM-DDTHH:MM:SS`; NaT = blank),
    or object array of ready-made strings;
  * `Coded`: small integer codes looked up in a label array (negative code = blank);
  * `IdText`: integer ids rendered with a prefix and zero padding (negative = blank).
Rendering goes through lookup tables, so millions of rows are written quickly without holding
every cell as a Python string at once. Output is UTF-8 with `\\n` line ends and minimal quoting
(a field with a comma, quote or line break is quoted, inner quotes doubled): byte for byte what
`csv.writer(fh, lineterminator="\\n")` produces, but rows are joined directly, which is several
times faster than `writerows` for millions of rows.

`write_table` can splice extra raw rows (lists of strings, possibly malformed) before given
clean-row positions; messy mode uses this to mix bad rows into the files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from numpy.dtypes import StringDType

MISSING = -1
CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class Coded:
    codes: np.ndarray
    labels: np.ndarray  # object array of str


@dataclass(frozen=True)
class IdText:
    numbers: np.ndarray
    prefix: str
    digits: int


@dataclass
class Table:
    file_name: str
    columns: dict[str, object] = field(default_factory=dict)

    @property
    def header(self) -> list[str]:
        return list(self.columns)

    @property
    def n_rows(self) -> int:
        first = next(iter(self.columns.values()))
        if isinstance(first, Coded):
            return len(first.codes)
        if isinstance(first, IdText):
            return len(first.numbers)
        return len(first)


def _lookup(values: np.ndarray, render_one) -> np.ndarray:
    """Render non-negative ints through a lookup table over their range (MISSING -> '')."""
    values = values.astype(np.int64)
    out = np.full(len(values), "", dtype=object)
    present = values != MISSING
    if present.any():
        lo, hi = int(values[present].min()), int(values[present].max())
        if hi - lo > 1_000_000:
            out[present] = [render_one(v) for v in values[present].tolist()]
        else:
            table = np.array([render_one(v) for v in range(lo, hi + 1)], dtype=object)
            out[present] = table[values[present] - lo]
    return out


_SPECIAL = (",", '"', "\n", "\r")


def quote_minimal(texts: np.ndarray) -> np.ndarray:
    """csv.QUOTE_MINIMAL for an object array of str: quote only fields that need it."""
    joined = "\x00".join(texts.tolist())
    if not any(ch in joined for ch in _SPECIAL):
        return texts
    quote = lambda t: '"' + t.replace('"', '""') + '"' if any(ch in t for ch in _SPECIAL) else t  # noqa: E731
    return np.array([quote(t) for t in texts.tolist()], dtype=object)


def render_column(column, start: int, stop: int) -> np.ndarray:
    """CSV text (already quoted where needed) for rows [start, stop) of a column."""
    if isinstance(column, Coded):
        codes = column.codes[start:stop].astype(np.int64)
        labels = quote_minimal(np.concatenate([np.array([""], dtype=object), column.labels.astype(object)]))
        return labels[np.where(codes < 0, 0, codes + 1)]
    if isinstance(column, IdText):
        numbers = column.numbers[start:stop]
        padded = np.strings.zfill(numbers.astype(StringDType()), column.digits)
        text = np.strings.add(column.prefix, padded).astype(object)
        text[numbers == MISSING] = ""
        return text
    values = column[start:stop]
    kind = values.dtype.kind
    if kind == "O":
        return quote_minimal(values)
    if kind in "iu":
        return _lookup(values, str)
    if kind == "b":
        return np.where(values, "true", "false").astype(object)
    if kind == "f":
        tenths = np.where(np.isnan(values), MISSING, np.rint(np.nan_to_num(values) * 10)).astype(np.int64)
        return _lookup(tenths, lambda t: f"{t // 10}.{t % 10}")
    if kind == "M":
        # Clinic times repeat a lot: format each distinct value once.
        unit = np.datetime_data(values.dtype)[0]
        distinct, inverse = np.unique(values, return_inverse=True)
        if unit == "D":
            text = np.datetime_as_string(distinct, unit="D")
        else:
            text = np.datetime_as_string(distinct.astype("datetime64[s]"), unit="s")
        text = np.where(np.isnat(distinct), "", text).astype(object)
        return text[inverse.reshape(-1)]
    raise TypeError(f"cannot render column of dtype {values.dtype}")


def render_rows(table: Table, rows: Sequence[int]) -> list[list[str]]:
    """Field values (unquoted) of selected clean rows, as `csv.reader` would read them back."""
    out = []
    for i in rows:
        line = ",".join(str(render_column(col, i, i + 1)[0]) for col in table.columns.values())
        out.append(next(csv.reader([line])))
    return out


def write_table(out_dir: Path, table: Table, extra_rows: dict[int, list[list[str]]] | None = None,
                delimiter: str = ",") -> int:
    """Write header + rows; `extra_rows[p]` are written just before clean row p (p may be n_rows).
    (`delimiter` other than a comma is for plain tables such as the messy manifest, whose
    fields never contain it.)

    Returns the number of data rows written.
    """
    extra_rows = extra_rows or {}
    n = table.n_rows
    cuts = sorted({0, n, *extra_rows})
    written = 0
    with open(Path(out_dir) / table.file_name, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(table.header)
        for seg_start, seg_stop in zip(cuts[:-1], cuts[1:]):
            written += _write_extra(writer, extra_rows.get(seg_start, []))
            for start in range(seg_start, seg_stop, CHUNK_ROWS):
                stop = min(start + CHUNK_ROWS, seg_stop)
                texts = [render_column(col, start, stop) for col in table.columns.values()]
                fh.write("\n".join(map(delimiter.join, zip(*texts))))
                fh.write("\n")
                written += stop - start
        written += _write_extra(writer, extra_rows.get(n, []))
    return written


def _write_extra(writer, rows: list[list[str]]) -> int:
    """Raw rows (field values, possibly a wrong number of them), quoted by csv.writer."""
    writer.writerows(rows)
    return len(rows)
