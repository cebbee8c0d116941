"""`outcomes report --basis` (pipelines/cli/bases.py): the response and remission columns on
each basis equal `analytics.intention.outcome_rates`, run as the real command on the sample."""

from __future__ import annotations

import pytest

from conftest import only_row
from pipelines.analytics.intention import outcome_rates
from pipelines.settings import Settings
from test_cli import outcomes


def data_row(stdout: str) -> list[str]:
    """The first data row of the printed table, split on two or more spaces."""
    import re
    line = stdout.splitlines()[3]
    return re.split(r"\s{2,}", line.strip())


@pytest.mark.parametrize("basis", ["completers", "itt", "locf"])
def test_report_on_each_basis(sample_database, sample, basis):
    result = outcomes("report", "--db", sample_database, "--timepoint", "after_induction", "--basis", basis)
    counts = only_row(outcome_rates(sample, Settings(), timepoint="after_induction", basis=basis))
    group, patients, n, response, remission, *_ = data_row(result.stdout)
    assert (group, int(patients), int(n)) == ("all", counts.n_patients, counts.n)
    assert response.startswith(f"{100 * counts.responders / counts.n:.0f}% (")
    assert remission.startswith(f"{100 * counts.remitters / counts.n:.0f}% (")
    assert ("intention to treat" in result.stdout) == (basis == "itt")


def test_an_unknown_basis_is_refused(sample_database):
    result = outcomes("report", "--db", sample_database, "--basis", "per-protocol", check=False)
    assert result.returncode == 2 and "invalid choice" in result.stderr
