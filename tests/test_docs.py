"""The docs are part of the contract: they must match the database and the CLI."""

from __future__ import annotations

import re

import duckdb
import pytest

from conftest import REPO
from pipelines.cli import build_parser
from pipelines.db import init_db
from pipelines.settings import Settings

DICTIONARY = (REPO / "docs" / "data-dictionary.md").read_text(encoding="utf-8")


def documented_columns() -> dict[str, list[str]]:
    """`## name` / `### name` sections -> the backticked names in the first table column."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in DICTIONARY.splitlines():
        if line.startswith("#"):
            heading = re.match(r"^#{2,3} (\w+)$", line)
            current = heading.group(1) if heading else None
            if current:
                sections[current] = []
        elif current and line.startswith("| `"):
            first_cell = line.split("|")[1]
            if "…" not in first_cell:  # "`a` … `b`" stands for all columns of another table
                sections[current].append(re.findall(r"`([^`]+)`", first_cell)[0])
    return sections


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    con = duckdb.connect(str(tmp_path_factory.mktemp("docs") / "o.duckdb"))
    init_db(con, Settings())
    yield con
    con.close()


def actual_columns(con, name):
    return [c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [name]).fetchall()]


def test_every_table_and_view_is_documented_column_by_column(database):
    documented = documented_columns()
    names = [n for (n,) in database.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    for name in names:
        actual = actual_columns(database, name)
        if name.endswith("_history"):
            base = actual_columns(database, name.removesuffix("_history"))
            assert actual == base + ["replaced_at", "replaced_by_run", "deleted"]
            assert name in DICTIONARY
        elif name == "session_numbers":
            assert actual == actual_columns(database, "sessions") + documented[name]
        else:
            assert name in documented, f"{name} is not in docs/data-dictionary.md"
            assert documented[name] == actual, f"{name}: docs list {documented[name]}, database has {actual}"


def test_every_cli_command_and_option_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        assert f"outcomes {name}" in readme, f"README does not show `outcomes {name}`"
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert option in readme, f"README does not mention {option} of `outcomes {name}`"
