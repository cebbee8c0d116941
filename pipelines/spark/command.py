"""`outcomes spark`: the outcome views of a Parquet lake computed on Spark SQL.

Kept beside the engine rather than in `pipelines.cli` so the `outcomes` command gains it with
one line (`add_spark_command`) and pyspark stays an optional extra: nothing here imports it
before the command runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..lake import write_lake
from ..settings import load_settings


def add_spark_command(commands) -> argparse.ArgumentParser:
    """Register `outcomes spark` on the sub-command parsers of `pipelines.cli.parser`."""
    spark = commands.add_parser(
        "spark", help="compute the outcome views of a Parquet lake on Apache Spark",
        description="Run the outcome definitions (the view files of pipelines/sql/views, translated to Spark SQL "
        "with sqlglot) over the partitioned Parquet lake of docs/scaling.md (lake/patients, lake/sessions, "
        "lake/assessments, one folder per site), on Spark in local mode or on a cluster, and write scores, "
        "patient_outcomes, patient_cohorts, nhs_paired_outcomes and the trajectory (scores_by_infusion) and "
        "time-to-response (followup_responses) inputs as Parquet. Needs Java 17 and the spark extra (pip install -e '.[spark]').")
    spark.add_argument("--lake", required=True, help="the lake folder (patients/, sessions/, assessments/)")
    spark.add_argument("--master", default="local[*]",
                       help="Spark master: local[*] (default, every core of this machine), local[2], spark://host:7077, ...")
    spark.add_argument("--out", help="folder for the outputs, one Parquet folder per view (default <lake>-outcomes)")
    spark.add_argument("--extracts", action="store_true",
                       help="the lake is a network of de-identified extracts, one folder per clinic "
                       "(clinic=<name>/scores.parquet, patient_outcomes.parquet from outcomes export): compute the "
                       "trajectory and time-to-response inputs over all clinics")
    spark.add_argument("--from-db", metavar="DB",
                       help="first write the lake from this outcomes database (replacing the lake folder's tables)")
    spark.set_defaults(handler=cmd_spark)
    return spark


def cmd_spark(args: argparse.Namespace) -> int:
    try:
        from . import engine
        import pyspark  # noqa: F401
    except ImportError:
        print("error: outcomes spark needs pyspark: pip install -e '.[spark]' (and Java 17)", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    lake = Path(args.lake)
    out = Path(args.out) if args.out else lake.with_name(f"{lake.name}-outcomes")
    if args.from_db and args.extracts:
        print("error: --from-db writes a lake of base tables; extracts come from outcomes export", file=sys.stderr)
        return 2
    if args.from_db:
        if not Path(args.from_db).is_file():
            print(f"error: {args.from_db}: no such database", file=sys.stderr)
            return 2
        start = time.perf_counter()
        write_lake(args.from_db, lake)
        print(f"Lake written from {args.from_db} to {lake} in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    try:
        report = engine.run(lake, out, settings, master=args.master, extracts=args.extracts)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # pyspark's own errors (no Java, a cluster not reachable) name themselves
        print(f"error: Spark failed: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    print(f"Outcome views of {lake} computed on Spark ({args.master}) in {time.perf_counter() - start:.1f} s, "
          f"written to {out}:")
    for view, done in report.items():
        print(f"  {view:<20} {done['rows']:>12,} rows  {done['seconds']:7.1f} s")
    return 0
