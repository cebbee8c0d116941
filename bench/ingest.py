"""Ingest benchmark: the validated `outcomes ingest` against DuckDB's raw `read_csv`.

Generates a synthetic clinic (200,000 patients by default, about 3 million assessment rows),
then in the same run times, each in its own process so peak memory is measured per side:

  raw        DuckDB's own read_csv of the three files into plain tables in a new database file
             (type auto-detection, no checks) - the ceiling for reading these files;
  validated  `outcomes ingest` into a new database file: parse, score, validate, dedupe,
             quarantine, record the run.

and prints the throughput ratio raw_seconds / validated_seconds over the medians of
--repeats alternating runs (target >= 0.5: the full validated ingest at least half as fast
as the raw read) and each side's peak memory (target < 4 GB).

It also splits the validated run's wall time, from the run's own record (`ingest_runs`:
`finished_at - started_at` is the load: read, validate, merge, record), into the load and the
rest (the outcome tables and expected-course references computed for the dashboard before the
swap, the swap, the process's start), and gives each side's CPU seconds: the ingest and the raw
read both keep the two cores busy, so CPU seconds say how much more work the ingest does, which
no change of scheduling can hide (docs/scaling.md, "What the 0.5 ratio would take").

Usage: python bench/ingest.py [--patients N] [--seed S] [--repeats R] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

RAW_LOAD = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
for name in ("patients", "sessions", "assessments"):
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{sys.argv[2]}/{name}.csv')")
con.close()
"""

RATIO_TARGET = 0.5
MEMORY_TARGET_GB = 4.0


@dataclass(frozen=True)
class Run:
    seconds: float  # wall
    peak_gb: float
    cpu_seconds: float  # user + system, every thread of the process


def timed(command: list[str]) -> Run:
    """Wall seconds, peak resident memory (GB) and CPU seconds of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(command)}")
    return Run(seconds, usage.ru_maxrss / 1024 / 1024, usage.ru_utime + usage.ru_stime)  # maxrss: KiB


def load_seconds(database: Path) -> float:
    """The load's share of an ingest (read, validate, merge, record), as the run recorded it."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        (seconds,) = con.execute("SELECT epoch(finished_at - started_at) FROM ingest_runs").fetchone()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each side (medians compared)")
    args = parser.parse_args()

    work = Path(args.workdir)
    clinic = work / f"clinic-{args.patients}-{args.seed}"
    if not (clinic / "assessments.csv").exists():
        from pipelines.synth import generate_clinic

        print(f"generating {args.patients:,} synthetic patients into {clinic} ...", flush=True)
        generate_clinic(clinic, n_patients=args.patients, seed=args.seed)
    rows = {p.stem: sum(1 for _ in open(p, encoding="utf-8")) - 1 for p in sorted(clinic.glob("*.csv"))}
    size_mb = sum(p.stat().st_size for p in clinic.glob("*.csv")) / 1e6
    print(f"input: {', '.join(f'{k} {v:,}' for k, v in rows.items())} rows, {size_mb:,.0f} MB")

    # Raw and validated runs alternate, each into a new database, and the medians are
    # compared, so a noisy neighbour on a shared machine cannot favour one side.
    raw_runs, validated_runs, loads = [], [], []
    for repeat in range(args.repeats):
        databases = work / "databases"
        shutil.rmtree(databases, ignore_errors=True)
        databases.mkdir(parents=True)
        raw_runs.append(timed([sys.executable, "-c", RAW_LOAD, str(databases / "raw.duckdb"), str(clinic)]))
        validated_runs.append(timed([sys.executable, "-m", "pipelines.cli", "ingest", str(clinic),
                                     "--db", str(databases / "validated.duckdb"), "--quiet"]))
        loads.append(load_seconds(databases / "validated.duckdb"))
        print(f"  run {repeat + 1}: raw {raw_runs[-1].seconds:.2f} s ({raw_runs[-1].cpu_seconds:.1f} CPU s), "
              f"validated {validated_runs[-1].seconds:.2f} s ({validated_runs[-1].cpu_seconds:.1f} CPU s; "
              f"load {loads[-1]:.2f} s)", flush=True)
    raw_s, raw_gb = statistics.median(r.seconds for r in raw_runs), max(r.peak_gb for r in raw_runs)
    validated_s = statistics.median(r.seconds for r in validated_runs)
    validated_gb = max(r.peak_gb for r in validated_runs)
    raw_cpu, validated_cpu = (statistics.median(r.cpu_seconds for r in runs) for runs in (raw_runs, validated_runs))
    load_s = statistics.median(loads)
    total_rows = sum(rows.values())
    ratio = raw_s / validated_s
    print(f"raw read_csv      {raw_s:7.2f} s  {total_rows / raw_s:12,.0f} rows/s  peak {raw_gb:.2f} GB  "
          f"{raw_cpu:6.1f} CPU s")
    print(f"outcomes ingest   {validated_s:7.2f} s  {total_rows / validated_s:12,.0f} rows/s  peak {validated_gb:.2f} GB  "
          f"{validated_cpu:6.1f} CPU s ({validated_cpu / raw_cpu:.1f}x the raw read's)")
    print(f"  of which load   {load_s:7.2f} s  (read, validate, merge, record: raw / load {raw_s / load_s:.2f})")
    print(f"  and the rest    {validated_s - load_s:7.2f} s  (outcome tables and references for the dashboard, "
          f"swap, process start)")
    print(f"throughput ratio  {ratio:.2f} (target >= {RATIO_TARGET}: {'met' if ratio >= RATIO_TARGET else 'NOT met'})")
    print(f"peak memory       {validated_gb:.2f} GB (target < {MEMORY_TARGET_GB} GB: "
          f"{'met' if validated_gb < MEMORY_TARGET_GB else 'NOT met'})")


if __name__ == "__main__":
    main()
