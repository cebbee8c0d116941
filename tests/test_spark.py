"""The outcome definitions on Apache Spark agree with DuckDB, row for row (issue 18).

The committed sample clinic is ingested into a DuckDB file (the `sample_database` fixture),
written as the partitioned Parquet lake (`pipelines.lake.write_lake`, the layout of
docs/scaling.md), and computed on Spark in local mode by `pipelines.spark.engine.run` (the path
of `outcomes spark`): the view files translated by sqlglot, nothing re-written by hand. Every
output Spark writes (`scores`, `patient_outcomes`, `patient_cohorts`, `nhs_paired_outcomes`, the
trajectory inputs `scores_by_infusion` and the time-to-response inputs `followup_responses`) must hold exactly
the database's rows, column for column.

The rewrite rules of `pipelines.spark.translate` are also checked on DuckDB itself: the
rewritten views, printed back as DuckDB SQL, must give the same rows as the originals, and the
ASOF rule is checked on a hand-worked case. Those checks need no Java.

Spark needs Java 17 and pyspark (the `spark` extra). Without them this file skips, except in CI
(CI=1, set by .ci/run, which installs both), where a missing Java is a failure.
"""

from __future__ import annotations

import os
import shutil

import duckdb
import pytest

from pipelines.export import export_deidentified
from pipelines.lake import quoted, write_lake
from pipelines.settings import ExportSettings, Settings
from pipelines.spark import engine
from pipelines.spark.translate import translate, translate_sql

JAVA = shutil.which("java")
try:
    import pyspark  # noqa: F401
    PYSPARK = True
except ImportError:
    PYSPARK = False
needs_spark = pytest.mark.skipif((JAVA is None or not PYSPARK) and not os.environ.get("CI"),
                                 reason="Spark needs Java 17 and pyspark (pip install -e .[spark]); CI=1 fails instead")


def rows(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple]:
    """Every row of `relation`, in a fixed order (all columns), NULLs comparable."""
    return con.execute(f"SELECT * FROM {relation} ORDER BY ALL NULLS FIRST").fetchall()


def columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [c[0] for c in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]


@pytest.fixture(scope="module")
def spark():
    """One local Spark session for the module (local[2], the small-job settings)."""
    session = engine.spark_session("local[2]", engine.SMALL_CONF)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_out(spark, sample_database, tmp_path_factory):
    """The sample's lake computed on Spark: the output folder and what `run` reported."""
    work = tmp_path_factory.mktemp("spark")
    write_lake(sample_database, work / "lake")
    report = engine.run(work / "lake", work / "out", Settings(), spark=spark)
    return work / "out", report


@needs_spark
@pytest.mark.parametrize("view", engine.OUTPUTS)
def test_spark_gives_the_database_rows(spark_out, sample, view):
    out, report = spark_out
    files = quoted(out / view / "*.parquet")
    spark_rows = rows(sample, f"read_parquet({files})")
    assert spark_rows, f"{view} is empty on the sample: the comparison would prove nothing"
    assert report[view]["rows"] == len(spark_rows)
    assert columns(sample, f"read_parquet({files})") == columns(sample, view)
    assert spark_rows == rows(sample, view)


@needs_spark
def test_pooled_extracts_on_spark_answer_like_the_database(spark, sample_database, sample, tmp_path):
    """A network of de-identified extracts, one folder per clinic (`outcomes export`): Spark
    computes the trajectory and time-to-response inputs over them. Ids are hashed and dates
    shifted, so rows cannot be matched one by one; the aggregates must be the database's, and
    every patient is named `<clinic>/<hash>`."""
    network = tmp_path / "network"
    export_deidentified(sample_database, network / "clinic=sample", ExportSettings(key="network-test-key-3c9e71a0"),
                        fmt="parquet", environ={})
    report = engine.run(network, tmp_path / "out", Settings(), spark=spark, extracts=True)
    assert set(report) == set(engine.EXTRACT_OUTPUTS)
    aggregates = {
        "scores_by_infusion": "SELECT instrument, k, count(*), sum(score), sum(change), count(DISTINCT patient_id) "
                              "FROM {} GROUP BY ALL ORDER BY ALL",
        "followup_responses": "SELECT instrument, sessions_before, days, count(*), count(*) FILTER (WHERE responded) "
                              "FROM {} GROUP BY ALL ORDER BY ALL",
    }
    for view, query in aggregates.items():
        files = f"read_parquet({quoted(tmp_path / 'out' / view / '*.parquet')})"
        ours = sample.execute(query.format(files)).fetchall()
        assert ours and ours == sample.execute(query.format(view)).fetchall(), view
        prefixes = sample.execute(f"SELECT DISTINCT split_part(patient_id, '/', 1) FROM {files}").fetchall()
        assert prefixes == [("sample",)]


def test_the_rewritten_views_mean_the_same_on_duckdb(sample):
    """The rules (macro inlined, ASOF as a range join, date_sub, no MATERIALIZED hint) printed
    back as DuckDB SQL give the database's rows: the rewrite changes the syntax, not the answer."""
    database = sample.execute("SELECT current_database()").fetchone()[0]
    for name, query in translate(engine.SPARK_VIEW_FILES, dialect="duckdb"):
        ours = sample.execute(f"WITH rewritten AS ({query}) SELECT * FROM rewritten ORDER BY ALL NULLS FIRST")
        assert ours.fetchall() == rows(sample, f'"{database}".main.{name}'), name


def test_the_asof_rule_by_hand():
    """Hand-worked: scores at t = 10, 20, 21 and 5 against infusions started at 10, 20 and 30
    (patient 1) and 5 (patient 2). Strictly before: t = 10 has none (the infusion starting at 10
    is not before it), t = 20 has the first, t = 21 the second; t = 5 of patient 2 none."""
    con = duckdb.connect()
    con.execute("CREATE TABLE l AS SELECT * FROM (VALUES (1, 1, 10), (2, 1, 20), (3, 1, 21), (4, 2, 5)) t(id, k, t)")
    con.execute("CREATE TABLE r AS SELECT * FROM (VALUES (1, 10, 1), (1, 20, 2), (1, 30, 3), (2, 5, 1)) t(k, u, n)")
    original = "SELECT l.id, r.n FROM l ASOF LEFT JOIN r ON r.k = l.k AND l.t > r.u"
    (_, rewritten), = translate_sql(f"CREATE VIEW matched AS {original}", {}, "duckdb")
    assert "ASOF LEFT JOIN" not in rewritten.upper()
    expected = [(1, None), (2, 1), (3, 2), (4, None)]
    assert con.execute(f"{rewritten} ORDER BY id").fetchall() == expected
    assert con.execute(f"{original} ORDER BY id").fetchall() == expected
