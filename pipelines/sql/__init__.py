"""The project's SQL, kept as SQL: one `.sql` file per query or set of views, in layers that
follow the data (docs/design.md, "SQL"):

- `schema/`     the tables;
- `validation/` one query per kind of export row: typed values, scores, problems (load.py);
- `views/`      the outcome views, the analyst contract, and the views analytics build on;
- `analytics/`  the questions, one folder per analytics module (`analytics/<module>/<query>.sql`).

Python never writes SQL text of its own beyond names and placeholders: it loads a file by name
and passes parameters with `?`. Where a query needs a piece that varies with the question (the
cohort's CTE, grouping columns), the file holds a placeholder `{{name}}` that `render` fills in;
single braces stay untouched, so DuckDB struct literals such as `{'rule': r}` are safe.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

SQL_DIR = Path(__file__).parent
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@lru_cache(maxsize=None)
def read(name: str) -> str:
    """The text of `sql/<name>.sql` (`name` like "views/outcomes"), read once per process."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file {path.relative_to(SQL_DIR.parent)}")
    return path.read_text(encoding="utf-8")


def placeholders(text: str) -> set[str]:
    """The names of the `{{name}}` placeholders in a SQL text."""
    return set(PLACEHOLDER.findall(text))


def render(name: str, **fragments: str) -> str:
    """`sql/<name>.sql` with each `{{placeholder}}` replaced by `fragments[placeholder]`.

    Every placeholder must be given and every fragment must be used: a misspelt name fails
    here, not as a confusing SQL error later."""
    text = read(name)
    wanted = placeholders(text)
    if wanted != set(fragments):
        missing, unused = sorted(wanted - set(fragments)), sorted(set(fragments) - wanted)
        raise KeyError(f"sql/{name}.sql: placeholders missing {missing}, fragments not in the file {unused}")
    return PLACEHOLDER.sub(lambda match: fragments[match.group(1)], text)
