"""The analysts' notebooks run top to bottom on the sample clinic, and are committed without
outputs so that what is in the repository can never be stale.

Each notebook is executed by nbclient in a fresh kernel of this environment's Python, in the
notebooks/ folder as Jupyter would run it, against the sample database built afresh from
data/sample/ (the `sample_database` fixture), passed as $OUTCOMES_DB.
"""

from __future__ import annotations

import json
import sys
import time

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds; each notebook takes well under 20 s on the sample


def test_the_three_analyst_notebooks_are_there():
    names = [path.stem for path in NOTEBOOKS]
    assert names[:3] == ["01-getting-started", "02-cohort-comparison", "03-time-to-response-and-durability"]


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory):
    """A `python3` kernel spec running this interpreter, first on $JUPYTER_PATH: the notebooks
    run in the environment under test, whatever kernels the machine has installed."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Infusion Outcomes tests)", "language": "python"}), encoding="utf-8")
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_on_the_sample(path, sample_database, kernel_path, tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_DB", str(sample_database))
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    # raises CellExecutionError, with the failing cell and its traceback, on any error
    NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    elapsed = time.perf_counter() - started
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code_cells)
    assert not [o for cell in code_cells for o in cell.outputs if o.output_type == "error"]
    print(f"{path.name}: {elapsed:.1f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    stale = [n for n, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not stale, f"{path.name}: cells {stale} hold outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_opens_by_saying_what_it_answers_and_for_whom(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# ") and "**Question:**" in first.source and "**For:**" in first.source
