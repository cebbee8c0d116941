"""The layer contract of docs/design.md, enforced: data flows readers -> load -> views
(pipelines/db.py) -> analytics -> reports -> dashboard / CLI / notebooks, nothing imports against
that flow, no package has an import cycle, and the synthetic data does not depend on the importer.

The contracts themselves are in `.importlinter` at the repository root (import-linter); each is
checked here on its own, so a failure names the contract it breaks. The notebooks are not a
package, so their imports are checked here directly: they sit beside the dashboard, not above it.
"""

from __future__ import annotations

import ast
import configparser
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def contract_ids() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return [section.removeprefix("importlinter:contract:") for section in parser.sections()
            if section.startswith("importlinter:contract:")]


def lint(contract: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract, str(CONFIG)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_every_contract_is_checked():
    assert {"layers", "synth", "acyclic", "published", "director"} <= set(contract_ids())


@pytest.mark.parametrize("contract", contract_ids())
def test_contract_is_kept(contract):
    result = lint(contract)
    assert result.returncode == 0, f"import contract {contract!r} broken:\n{result.stdout}\n{result.stderr}"


def notebook_imports(path: Path) -> set[str]:
    """Every module a notebook's code cells import (IPython magics and shell lines left out)."""
    modules = set()
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module)
    return modules


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_nothing_from_the_dashboard(path):
    imported = notebook_imports(path)
    assert "pipelines" in imported, "the check found no imports: is the notebook format read right?"
    dashboard = sorted(m for m in imported if m == "dashboard" or m.startswith("dashboard."))
    assert not dashboard, f"{path.name} imports {dashboard}: take scale names and colours from pipelines.instruments / pipelines.palette"
