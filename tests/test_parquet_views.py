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
from pipelines.db import DATA_TABLES, create_views, write_reference_tables
from pipelines.export import export_deidentified
from pipelines.settings import ExportSettings, Settings

# How each base table is partitioned in the lake: by clinic site (one folder per site, so a
# site's files can be added, replaced or withheld on their own) and by calendar month of the
# event (a month's new rows go into new files; queries on a period skip the other months).
# Assessments carry no site of their own, so they take their patient's.
LAKE_COPY = {
    "patients": """
        COPY (SELECT * FROM patients)
        TO '{folder}' (FORMAT parquet, PARTITION_BY (site))
    """,
    "sessions": """
        COPY (SELECT *, strftime(started_at, '%Y-%m') AS month FROM sessions)
        TO '{folder}' (FORMAT parquet, PARTITION_BY (site, month))
    """,
    "assessments": """
        COPY (
            SELECT a.*, p.site, strftime(a.administered_at, '%Y-%m') AS month
            FROM assessments AS a
            LEFT JOIN patients AS p USING (patient_id)
        )
        TO '{folder}' (FORMAT parquet, PARTITION_BY (site, month))
    """,
    "appointments": """
        COPY (SELECT *, strftime(planned_at, '%Y-%m') AS month FROM appointments)
        TO '{folder}' (FORMAT parquet, PARTITION_BY (month))
    """,
}
# Each table's partition keys. Their values are folder names, i.e. text, and are read back as
# text (a site called "007" stays "007" rather than becoming the number 7).
PARTITION_KEYS = {"patients": ("site",), "sessions": ("site", "month"), "assessments": ("site", "month"),
                  "appointments": ("month",)}
# Views compared between the database and the lake: the outcome contract and the analytics built on it.
COMPARED_VIEWS = ("session_numbers", "scores", "patient_outcomes", "patient_cohorts",
                  "scores_by_infusion", "followup_responses", "phq9_safety", "nhs_paired_outcomes")


def write_lake(db: Path, lake: Path) -> None:
    """The base tables of the database `db` as partitioned Parquet under `lake/<table>/`."""
    lake.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, copy in LAKE_COPY.items():
            con.execute(copy.format(folder=lake / table))
    finally:
        con.close()


def contract_columns() -> dict[str, list[str]]:
    """Each base table's columns in schema.sql's order, which views selecting `*` keep."""
    con = duckdb.connect()
    try:
        con.execute(sql.read("schema/tables"))
        return {t: [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [t]).fetchall()] for t in DATA_TABLES}
    finally:
        con.close()


def open_lake(lake: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose base tables are views over the lake, with the project's
    reference tables, macro and views (the same calls and files as init_db) on top."""
    con = duckdb.connect()
    for table, columns in contract_columns().items():
        files = str(lake / table / "**" / "*.parquet").replace("'", "''")
        hive_types = ", ".join(f"'{key}': VARCHAR" for key in PARTITION_KEYS[table])
        # The contract's columns, in order: a key added only for partitioning (month, the
        # assessments' site) stays out, so `SELECT *` in the views sees what it sees in the database.
        con.execute(f"""
            CREATE VIEW {table} AS
            SELECT {', '.join(columns)}
            FROM read_parquet('{files}', hive_partitioning = true, hive_types = {{{hive_types}}})
        """)
    write_reference_tables(con, settings)
    create_views(con)
    return con


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
