"""How the `outcomes` command prints: plain text tables, the ingest run's summary, and the
ingest log's columns under the CLI's headings."""

from __future__ import annotations

import pandas as pd

from ..ingest import RunResult, deletion_lines


def text_table(columns: list[str], rows: list[tuple]) -> str:
    """A plain text table: numbers right-aligned, text left-aligned."""
    if not rows:
        return "(none)"
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(columns))]

    def line(values):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, cells)])


def summary(run: RunResult) -> str:
    """The end-of-run table: one line per file and a total line; after a full export, a
    `deleted` column (stored rows the export left out: a count for the run, not per file) and
    what was deleted per kind."""
    full = run.deletions is not None
    columns = ["file", "kind", "rows in", "inserted", "updated", "unchanged", "quarantined",
               *(["deleted"] if full else []), "seconds"]
    rows = [(f.path, f.kind, f.rows_in, f.inserted, f.updated, f.unchanged, f.quarantined,
             *([None] if full else []), f.seconds)
            for f in run.files]
    t = run.totals
    rows.append(("TOTAL", "", t.rows_in, t.inserted, t.updated, t.unchanged, t.quarantined,
                 *([run.deleted] if full else []), round(sum(f.seconds for f in run.files), 3)))
    text = f"Ingest run {run.run_id}\n" + text_table(columns, rows)
    if full:
        text += "\n\nFull export (" + (", ".join(run.full_export) or "no rows") + "):\n"
        text += "\n".join(f"  {line}" for line in deletion_lines(run.deletions)) or "  nothing to delete"
    if run.warnings:
        text += "\n\nWarnings (tolerated and loaded, nothing quarantined for them):\n"
        text += "\n".join(f"  {path}: {warning}" for path, warnings in run.warnings.items() for warning in warnings)
    return text


# What `outcomes runs` and `outcomes quarantine` print: the ingest log's columns under the CLI's
# headings (the answers are the Data quality page's, `pipelines.analytics.ingest_log`).
RUN_HEADINGS = {"run_id": "run", "started": "started (UTC)", "seconds": "seconds", "n_files": "files",
                "rows_in": "rows in", "inserted": "inserted", "updated": "updated", "unchanged": "unchanged",
                "quarantined": "quarantined", "deleted": "deleted"}
FILE_HEADINGS = {"run_id": "run", "path": "file", "kind": "kind", "sha256": "sha256", "rows_in": "rows in",
                 "inserted": "inserted", "updated": "updated", "unchanged": "unchanged",
                 "quarantined": "quarantined", "seconds": "seconds"}
RULE_HEADINGS = {"rule": "rule", "n_rows": "rows"}
ROW_HEADINGS = {"run_id": "run", "source_file": "file", "source_row": "row", "kind": "kind", "record_key": "key",
                "reason": "reason"}


def _plain(value):
    """A DataFrame cell as the Python value `text_table` prints: numbers as int/float, missing as None."""
    if value is None or value is pd.NA or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def frame_table(frame: pd.DataFrame, headings: dict[str, str]) -> str:
    """`frame`'s columns `headings` (in that order) as a `text_table` under the headings' names."""
    rows = [tuple(_plain(value) for value in row) for row in frame[list(headings)].itertuples(index=False)]
    return text_table(list(headings.values()), rows)
