"""Run the outcome definitions on Spark SQL over the partitioned Parquet lake.

The steps mirror `pipelines.db.init_db` on another engine: the lake's three base tables are
registered as temporary views (partitioned reading, the schema's columns in order), the
reference tables are written by the same `write_reference_tables` into an in-memory DuckDB and
handed to Spark as they are, then the view files of `pipelines/sql/views/` are translated
(`pipelines.spark.translate`) and created in `pipelines.db`'s dependency order. Each output
view is written as Parquet (`<out>/<view>/`) and the temporary view is then pointed at the
written files, so the views built on it (trajectory and time-to-response inputs on
`patient_outcomes` and `scores`) read the computed rows instead of recomputing them.

pyspark is an optional extra (`pip install -e .[spark]`, and Java 17): it is imported when a
session is started, not when this module is.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ..db import ANALYTICS_VIEW_FILES, OUTCOME_VIEW_FILES, write_reference_tables
from ..lake import contract_columns
from ..settings import Settings
from .translate import translate

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import SparkSession

# The base tables the outcome views read: a lake must have these (other tables are registered if present).
VIEW_BASE_TABLES = ("patients", "sessions", "assessments")
REFERENCE_TABLES = ("instruments", "instrument_bands", "instrument_aliases", "outcome_settings")
# The view files Spark runs: the outcome contract, the analytics views of the trajectory
# (scores_by_infusion) and time-to-response (followup_responses) inputs, and the NHS paired
# outcome. views/safety.sql (arg_max_null, epoch_us) is not translated yet.
SPARK_VIEW_FILES = (*OUTCOME_VIEW_FILES, "views/scores_by_infusion", "views/nhs_paired_outcomes",
                    "views/followup_responses")
# The views written as Parquet (the others, e.g. session_numbers, are steps on the way).
OUTPUTS = ("scores", "patient_outcomes", "patient_cohorts", "scores_by_infusion", "nhs_paired_outcomes",
           "followup_responses")
# Over pooled de-identified extracts (docs/export.md: `scores` and `patient_outcomes` already
# computed, one folder per clinic) only the views built on those two run.
EXTRACT_TABLES = ("scores", "patient_outcomes")
EXTRACT_VIEW_FILES = ("views/scores_by_infusion", "views/followup_responses")
EXTRACT_OUTPUTS = ("scores_by_infusion", "followup_responses")
assert set(SPARK_VIEW_FILES) <= {*OUTCOME_VIEW_FILES, *ANALYTICS_VIEW_FILES}

# Every session: partition folder names kept as text (a site "007" stays "007"), the lake's
# zone-less timestamps read as TIMESTAMP_NTZ (clinic local time, never shifted), no progress bar.
COMMON_CONF = {
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}
# Local mode: a few shuffle partitions (the default 200 makes 200 tasks of a few rows each on
# one machine) and no web UI.
LOCAL_CONF = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2"}
# For a small lake (the test's sample): one shuffle partition, the lake's many small files
# read as one task, and expressions interpreted rather than compiled to Java (compiling costs
# more than running on a few thousand rows).
SMALL_CONF = {"spark.sql.shuffle.partitions": "1", "spark.sql.files.openCostInBytes": "1024",
              "spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN",
              "spark.sql.adaptive.enabled": "false"}


def spark_session(master: str = "local[*]", conf: dict[str, str] | None = None) -> SparkSession:
    """A Spark session on `master` (`local[*]`, `local[2]`, `spark://host:7077`, ...)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("infusion-outcomes")
    settings = {**COMMON_CONF, **(LOCAL_CONF if master.startswith("local") else {}), **(conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():
        # Starting a session, PySpark 4.3 imports its test helpers, which warn that it does not
        # fully support pandas 3. Nothing here hands Spark a pandas frame (the lake and the
        # extracts are Parquet, the reference tables Arrow tables), and the suite checks every
        # output row for row against DuckDB (tests/test_spark.py).
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def register_lake(spark: SparkSession, lake: Path | str) -> None:
    """The lake's base tables as temporary views: every `lake/<table>/` folder read with
    partition discovery (site, month as text), the schema's columns in order (`SELECT *` in
    the views sees what it sees in the database; the partition-only keys stay out)."""
    lake = Path(lake)
    for table, columns in contract_columns().items():
        folder = lake / table
        if not folder.is_dir():
            if table not in VIEW_BASE_TABLES:
                continue
            raise FileNotFoundError(f"{folder}: no `{table}` folder in the lake (expected {', '.join(VIEW_BASE_TABLES)})")
        frame = spark.read.option("basePath", str(folder)).parquet(str(folder))
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{folder}: the lake's {table} lack the columns {missing}")
        frame.select(*columns).createOrReplaceTempView(table)


def register_extracts(spark: SparkSession, network: Path | str) -> None:
    """Pooled de-identified extracts, `network/clinic=<name>/{scores,patient_outcomes}.parquet`
    (each clinic's `outcomes export --deidentified --format parquet`), as the temporary views
    `scores` and `patient_outcomes`: every clinic's rows, read with partition discovery, the
    patient written `<clinic>/<patient_id>` (ids are unique only within a clinic, and every
    join in the views is on `patient_id`; docs/scaling.md, "Partitioning for a network")."""
    from pyspark.sql import functions

    network = Path(network)
    for table in EXTRACT_TABLES:
        files = sorted(network.glob(f"clinic=*/{table}.parquet"))
        if not files:
            raise FileNotFoundError(f"{network}: no clinic=<name>/{table}.parquet (expected one folder per clinic's extract)")
        frame = spark.read.option("basePath", str(network)).parquet(*(str(f) for f in files))
        frame = frame.withColumn("patient_id", functions.concat_ws("/", "clinic", "patient_id")).drop("clinic")
        frame.createOrReplaceTempView(table)


def register_reference_tables(spark: SparkSession, settings: Settings) -> None:
    """The instrument registry and outcome settings, written by `db.write_reference_tables`
    (the single source the DuckDB views read) and passed to Spark as Arrow tables."""
    con = duckdb.connect()
    try:
        write_reference_tables(con, settings)
        for table in REFERENCE_TABLES:
            spark.createDataFrame(con.table(table).to_arrow_table()).createOrReplaceTempView(table)
    finally:
        con.close()


def compute(spark: SparkSession, out: Path | str, files: tuple[str, ...] = SPARK_VIEW_FILES,
            outputs: tuple[str, ...] = OUTPUTS) -> dict[str, dict]:
    """The translated views, created in file order, each of OUTPUTS written as Parquet under
    `out/<view>/` as soon as it is defined, then pointing its name at the written files: Spark
    binds a temporary view to the plans of the views it names when it is created, so a view
    created after that reads the computed rows instead of recomputing them. DECIMAL columns
    (Spark's type of `100.0 * x / y`) are written as DOUBLE, DuckDB's type. Returns rows and
    seconds per written view."""
    from pyspark.sql.types import DecimalType

    out = Path(out)
    written = {}
    for name, query in translate(files):
        start = time.perf_counter()
        frame = spark.sql(query)
        if name not in outputs:
            frame.createOrReplaceTempView(name)
            continue
        frame = frame.select(*(frame[f.name].cast("double").alias(f.name) if isinstance(f.dataType, DecimalType)
                               else frame[f.name] for f in frame.schema.fields))
        frame.write.mode("overwrite").parquet(str(out / name))
        stored = spark.read.parquet(str(out / name))
        stored.createOrReplaceTempView(name)
        written[name] = {"rows": stored.count(), "seconds": time.perf_counter() - start}
    return written


def run(lake: Path | str, out: Path | str, settings: Settings, master: str = "local[*]",
        conf: dict[str, str] | None = None, spark: SparkSession | None = None,
        extracts: bool = False) -> dict[str, dict]:
    """Compute the outcome views of `lake` on Spark and write them under `out`: the whole path
    of `outcomes spark`. With `extracts`, `lake` is a network of de-identified extracts
    (`register_extracts`) and the trajectory and time-to-response inputs are computed. A given
    `spark` session is used (and left open); else one is started on `master` and stopped."""
    own = spark is None
    spark = spark or spark_session(master, conf)
    try:
        register_reference_tables(spark, settings)
        if extracts:
            register_extracts(spark, lake)
            return compute(spark, out, EXTRACT_VIEW_FILES, EXTRACT_OUTPUTS)
        register_lake(spark, lake)
        return compute(spark, out)
    finally:
        if own:
            spark.stop()
