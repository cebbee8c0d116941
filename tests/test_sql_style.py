"""The SQL style of docs/design.md ("SQL"), checked with DuckDB's own parser.

- Every `.sql` file under pipelines/sql/ parses as DuckDB SQL.
- Every query (a file's SELECT, or the SELECT of a CREATE VIEW / CREATE TABLE ... AS) is a chain
  of named CTEs whose last one is `final`, and ends `SELECT * FROM final` (an ORDER BY or LIMIT
  may follow): a reader finds each step by name and the result in one place.
- A placeholder `{{name}}` is filled by Python (`pipelines.sql.render`). With `{{cohort}}` as a
  cohort CTE and every other placeholder empty, a file is the whole-clinic, ungrouped query: so
  that is how it is parsed here.
- Python files under pipelines/ and dashboard/ hold no query text: no string starting with
  SELECT / WITH / CREATE / INSERT ... beyond the short one-liners listed in ALLOWED_INLINE.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import duckdb
import pytest

from pipelines import sql

ROOT = Path(__file__).resolve().parents[1]
SQL_FILES = sorted(sql.SQL_DIR.rglob("*.sql"))
CREATE_QUERY = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(?:VIEW|TABLE)\s+[\w.]+\s+AS\s+(.*)$",
                          re.IGNORECASE | re.DOTALL)
COHORT_FILL_IN = "cohort AS (SELECT NULL AS patient_id, NULL AS n_sessions)"


def parseable(text: str) -> str:
    """The file's text with its placeholders filled as described in the module docstring."""
    return sql.PLACEHOLDER.sub(lambda m: COHORT_FILL_IN if m.group(1) == "cohort" else "", text)


def queries(text: str) -> list[str]:
    """The SELECT queries of a file: whole SELECT statements and the bodies of CREATE ... AS."""
    found = []
    for statement in duckdb.connect().extract_statements(parseable(text)):
        query = statement.query.strip().rstrip(";")
        if statement.type == duckdb.StatementType.SELECT:
            found.append(query)
        elif statement.type == duckdb.StatementType.CREATE and (match := CREATE_QUERY.match(query)):
            found.append(match.group(1))
    return found


def style_problems(query: str) -> list[str]:
    con = duckdb.connect()
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()[0])
    if tree["error"]:
        return [f"does not parse: {tree['error_message']}"]
    node = tree["statements"][0]["node"]
    if node["type"] != "SELECT_NODE":
        return ["the outermost query is a set operation; put it in a CTE and end with SELECT * FROM final"]
    names = [entry["key"] for entry in node["cte_map"]["map"]]
    problems = []
    if not names or names[-1] != "final":
        problems.append(f"the last CTE must be `final` (CTEs: {names or 'none'})")
    source = node["from_table"] or {}
    star = [item["class"] for item in node["select_list"]] == ["STAR"]
    if not (star and source.get("type") == "BASE_TABLE" and source.get("table_name") == "final"
            and not node["where_clause"] and not node["group_expressions"]):
        problems.append("the query must end `SELECT * FROM final` (then ORDER BY / LIMIT at most)")
    return problems


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: str(p.relative_to(sql.SQL_DIR)))
def test_every_query_is_a_chain_of_named_ctes_ending_in_final(path):
    text = path.read_text(encoding="utf-8")
    problems = [f"query {number}: {problem}" for number, query in enumerate(queries(text), start=1)
                for problem in style_problems(query)]
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_checker_catches_a_query_not_ending_in_final():
    assert style_problems("WITH a AS (SELECT 1 AS x) SELECT x FROM a")
    assert style_problems("SELECT 1")
    assert style_problems("WITH final AS (SELECT 1 AS x) SELECT * FROM final WHERE x = 1")
    assert not style_problems("WITH a AS (SELECT 1 AS x), final AS (SELECT * FROM a) SELECT * FROM final ORDER BY x")


def test_every_placeholder_filled_gives_a_parseable_file():
    for path in SQL_FILES:
        text = path.read_text(encoding="utf-8")
        duckdb.connect().extract_statements(parseable(text))  # raises on a syntax error


# Short statements that are clearer inline than in a file of their own: settings, attaching,
# one-line lookups. Anything that is a query with a CTE, a join or a GROUP BY belongs in a file.
QUERY_START = re.compile(r"^\s*(WITH|SELECT|INSERT|UPDATE|DELETE|CREATE|MERGE)\b", re.IGNORECASE)
LONG_QUERY = re.compile(r"\b(JOIN|GROUP\s+BY|WITH\s+\w+\s+AS)\b", re.IGNORECASE)


def inline_queries(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
        else:
            continue
        if QUERY_START.match(text) and (LONG_QUERY.search(text) or text.count("\n") > 3):
            found.append((node.lineno, text.strip().splitlines()[0][:60]))
    return found


PYTHON_FILES = sorted([*ROOT.joinpath("pipelines").rglob("*.py"), *ROOT.joinpath("dashboard").rglob("*.py")])


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_holds_no_query_of_several_steps(path):
    found = inline_queries(path)
    assert not found, f"{path.relative_to(ROOT)}: move these queries to pipelines/sql/: {found}"
