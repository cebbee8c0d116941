"""The outcome views over a partitioned Parquet lake give the database's answers.

Past one machine (docs/scaling.md) the three base tables live as Parquet files partitioned by
site and month, and DuckDB (or a distributed SQL engine) runs the project's own view SQL over
them. This checks that path on the committed sample clinic, for real: the sample is ingested
into a DuckDB file, its tables are written with `COPY ... (FORMAT parquet, PARTITION_BY ...)`,
a fresh in-memory DuckDB names `patients`/`sessions`/`assessments` as views over
`read_parquet(..., hive_partitioning = true)`, and the SQL files of `pipelines/sql` are run on
top unchanged. Every outcome view must then hold exactly the database's rows.

A network of clinics shares de-identified extracts instead (`outcomes export --deidentified
--format parquet`): the outcome tables already computed, ids as keyed hashes, dates shifted per
patient. The last test reads one as a network's `clinic=...` partition and checks that the
analytics views built only on `scores` and `patient_outcomes` give the database's aggregates.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines import sql
from pipelines.db import DATA_TABLES, write_reference_tables
from pipelines.export import export_deidentified
from pipelines.lake import open_lake, write_lake
from pipelines.settings import ExportSettings, Settings

# Views compared between the database and the lake: the outcome contract and the analytics built on it.
COMPARED_VIEWS = ("session_numbers", "scores", "patient_outcomes", "patient_cohorts",
                  "scores_by_infusion", "followup_responses", "phq9_safety", "nhs_paired_outcomes")


def rows(con: duckdb.DuckDBPyConnection, view: str) -> list[tuple]:
    """Every row of `view`, in a fixed order (all columns), NULLs comparable."""
    return con.execute(f"SELECT * FROM {view} ORDER BY ALL NULLS FIRST").fetchall()


@pytest.fixture(scope="module")
def lake(sample_database, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lake")
    write_lake(sample_database, folder)
    return folder


@pytest.fixture(scope="module")
def lake_con(lake):
    con = open_lake(lake, Settings())
    yield con
    con.close()


def test_the_lake_is_partitioned_by_site_and_month(lake, sample):
    sites = {s for (s,) in sample.execute("SELECT DISTINCT site FROM patients").fetchall()}
    assert len(sites) > 1, "the sample should have several sites for this test to mean anything"
    assert {p.name for p in (lake / "patients").iterdir()} == {f"site={s}" for s in sites}
    # One site's folder holds that site's patients and no one else's.
    site = sorted(sites)[0]
    folder = lake / "patients" / f"site={site}"
    in_folder = sample.execute("SELECT count(*) FROM read_parquet(?)", [f"{folder}/*.parquet"]).fetchone()[0]
    in_db = sample.execute("SELECT count(*) FROM patients WHERE site = ?", [site]).fetchone()[0]
    assert in_folder == in_db > 0
    months = {p.name for site_folder in (lake / "assessments").iterdir() for p in site_folder.iterdir()}
    expected = {m for (m,) in sample.execute(
        "SELECT DISTINCT 'month=' || strftime(administered_at, '%Y-%m') FROM assessments").fetchall()}
    assert months == expected


def test_base_tables_over_the_lake_hold_the_database_rows(lake_con, sample):
    for table in DATA_TABLES:
        assert rows(lake_con, table) == rows(sample, table), table


@pytest.mark.parametrize("view", COMPARED_VIEWS)
def test_outcome_views_over_the_lake_equal_the_database(lake_con, sample, view):
    ours = rows(lake_con, view)
    assert ours, f"{view} is empty on the sample: the comparison would prove nothing"
    assert ours == rows(sample, view)


def test_a_site_filter_reads_only_that_site(lake_con, sample, lake):
    """Partition pruning: one site's outcomes come from that site's files, the others unread."""
    site = sample.execute("SELECT min(site) FROM patients").fetchone()[0]
    query = """
        SELECT o.instrument, count(*) AS patients, count(*) FILTER (WHERE o.response) AS responders
        FROM patient_outcomes AS o JOIN patients AS p USING (patient_id)
        WHERE p.site = ? GROUP BY o.instrument ORDER BY o.instrument
    """
    assert lake_con.execute(query, [site]).fetchall() == sample.execute(query, [site]).fetchall()
    literal = site.replace("'", "''")
    plan = "\n".join(r[1] for r in lake_con.execute(
        f"EXPLAIN SELECT patient_id FROM patients WHERE site = '{literal}'").fetchall())
    site_files = len(list((lake / "patients").glob("*/*.parquet")))
    assert site_files > 1
    assert f"Scanning Files: 1/{site_files}" in plan, plan


def test_a_network_of_deidentified_extracts_answers_like_the_database(sample_database, sample, tmp_path):
    """Each clinic exports into `network/clinic=<name>/`; the network reads every clinic's
    tables with one glob and runs the analytics views that need only `scores` and
    `patient_outcomes` (trajectories by infusion, time to response). Ids are hashed and dates
    shifted, so rows cannot be compared one by one; the aggregates must be equal."""
    network = tmp_path / "network"
    network.mkdir()
    export_deidentified(sample_database, network / "clinic=sample", ExportSettings(key="network-test-key-3c9e71a0"),
                        fmt="parquet", environ={})
    con = duckdb.connect()
    for table in ("scores", "patient_outcomes"):
        files = str(network / "*" / f"{table}.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * EXCLUDE (clinic) "
                    f"FROM read_parquet('{files}', hive_partitioning = true)")
    write_reference_tables(con, Settings())
    for name in ("views/scores_by_infusion", "views/followup_responses"):
        con.execute(sql.read(name))
    assert con.execute("SELECT DISTINCT clinic FROM read_parquet(?, hive_partitioning = true)",
                       [f"{network}/*/patient_outcomes.parquet"]).fetchall() == [("sample",)]

    by_infusion = """
        SELECT instrument, k, count(*), sum(score), sum(change), count(DISTINCT patient_id)
        FROM scores_by_infusion GROUP BY ALL ORDER BY ALL
    """
    responses = """
        SELECT instrument, sessions_before, days, count(*), count(*) FILTER (WHERE responded)
        FROM followup_responses GROUP BY ALL ORDER BY ALL
    """
    outcomes = """
        SELECT instrument, count(*), count(*) FILTER (WHERE response), count(*) FILTER (WHERE remission),
               sum(change), sum(n_followups)
        FROM patient_outcomes GROUP BY ALL ORDER BY ALL
    """
    for query in (by_infusion, responses, outcomes):
        ours = con.execute(query).fetchall()
        assert ours and ours == sample.execute(query).fetchall(), query
