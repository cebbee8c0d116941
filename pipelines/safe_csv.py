"""CSV that is safe to open in a spreadsheet: every CSV the product writes goes through here.

Why: a clinician, site, patient id or free-text value that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return is read by Excel, LibreOffice and Google Sheets as a formula
(`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`): CSV (formula) injection. The exports carry values
typed by many people, and a download is opened by someone else. Following OWASP's guidance
("CSV Injection", owasp.org/www-community/attacks/CSV_Injection), such a text cell is prefixed
with a single quote, which spreadsheets show as text and which keeps the value readable
(`'=1+2`). The CSV writer quotes any cell holding a comma, a quote or a line break.

Only text is changed: numbers (a change of -6 points) stay numbers, so sums and charts built on
a download still work. The same rule is applied inside DuckDB for the de-identified CSV extract
(`sql_macro`), built from the same characters.
"""

from __future__ import annotations

import pandas as pd

# OWASP, "CSV Injection": the characters that make a spreadsheet evaluate a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_PREFIX = "'"


def neutralise(value):
    """A text value made inert for a spreadsheet (prefixed with a quote when it starts like a
    formula); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return TEXT_PREFIX + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text columns (object, string or Arrow string dtype) are neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        dtype = safe[column].dtype
        if dtype == object or pd.api.types.is_string_dtype(dtype):
            safe[column] = safe[column].map(neutralise, na_action="ignore")
    return safe


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as spreadsheet-safe CSV: UTF-8, a header row, no index."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8")


def sql_macro(name: str = "spreadsheet_safe") -> str:
    """A DuckDB macro `name(x)` applying `neutralise` to a VARCHAR, for CSV written by COPY."""
    starts = ", ".join(f"chr({ord(start)})" for start in FORMULA_STARTS)
    return (f"CREATE OR REPLACE TEMP MACRO {name}(x) AS "
            f"CASE WHEN left(x, 1) IN ({starts}) THEN chr({ord(TEXT_PREFIX)}) || x ELSE x END")
