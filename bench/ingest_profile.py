"""Where one `outcomes ingest` spends its time: seconds per step, in one process.

Runs the real ingest (pipelines.ingest.ingest, as `outcomes ingest` does) of a folder into a new
database, with every statement the run sends to DuckDB timed and named: by the SQL file it came
from (`validation/assessments`, `load/matched`, ...), by the stored outcome table it creates
(`precompute scores`), or by its first words. Python steps around them are timed too (the
line scan before DuckDB parses a file, the copy-and-swap, closing = the final checkpoint).
Prints the steps longest first (wall and CPU seconds, and the GB in DuckDB's temporary files
just after the step: what spilled under OUTCOMES_INGEST_MEMORY), their sum per stage, and
the run's wall and CPU seconds.

Why a wrapper and not timers in the ingest: the profile is the ingest's own code path,
unchanged, so what it measures is what a clinic runs.
Usage: python bench/ingest_profile.py CLINIC_FOLDER [--workdir DIR] [--top N] [--memory 1GB]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import shutil
import sys
import time
from pathlib import Path

from pipelines import ingest as ingest_module
from pipelines import sql
from pipelines.readers import csv_export
from pipelines.settings import Settings

TIMES: dict[str, float] = collections.defaultdict(float)
CPU: dict[str, float] = collections.defaultdict(float)  # CPU seconds of the process (all threads)
CALLS: dict[str, int] = collections.defaultdict(int)
SPILL: dict[str, float] = collections.defaultdict(float)  # GB in DuckDB's temporary files after the step, peak
NAMES: dict[str, str] = {}  # SQL text -> the file it was read from


def _named_read(original):
    def read(name: str) -> str:
        text = original(name)
        NAMES.setdefault(text, name)
        return text
    return read


def _named_render(original):
    def render(name: str, **fragments: str) -> str:
        text = original(name, **fragments)
        NAMES.setdefault(text, name)
        return text
    return render


def label(query: str) -> str:
    """A short name for a statement: its SQL file, the stored table it creates, or its first words."""
    created = re.search(r'(?:CREATE TABLE|INSERT INTO) (?:"\w+"\.)?precomputed\.(\w+)', query)
    if created:
        return f"precompute {created.group(1)}"
    computed = re.search(r"CREATE OR REPLACE TABLE computed\.(\w+)", query)
    if computed:  # a batch's table computed in the scratch database (pipelines/incremental.py)
        return f"precompute (scratch) {computed.group(1)}"
    for text, name in NAMES.items():
        if text in query:
            return name
    words = " ".join(query.split())
    table = re.match(r"(CREATE OR REPLACE TEMP TABLE \w+|INSERT INTO \w+|DELETE FROM \w+|CREATE \w+ \w+)", words)
    return (table.group(1) if table else words[:60]).strip()


class Timed:
    """A DuckDB connection whose statements are timed per label."""

    def __init__(self, con, closing: str = "close (final checkpoint)"):
        self._con = con
        self._probe = con.cursor()  # its own statements leave the run's pending result alone
        self._closing = closing  # what closing it is timed as

    def execute(self, query, *args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return self._con.execute(query, *args, **kwargs)
        finally:
            name = label(query)
            TIMES[name] += time.perf_counter() - start
            CPU[name] += time.process_time() - cpu
            CALLS[name] += 1
            SPILL[name] = max(SPILL[name], self.spilled())

    def spilled(self) -> float:
        try:
            (size,) = self._probe.execute("SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()").fetchone()
        except Exception:  # noqa: BLE001 - a failed transaction refuses every statement
            return 0.0
        return size / 1e9

    def cursor(self):
        """A cursor timed like the connection (the outcome tables are computed on one)."""
        return Timed(self._con.cursor(), closing="close (a cursor)")

    def executemany(self, query, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._con.executemany(query, *args, **kwargs)
        finally:
            TIMES["executemany (reference tables)"] += time.perf_counter() - start

    def close(self):
        self._probe.close()
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return self._con.close()
        finally:
            TIMES[self._closing] += time.perf_counter() - start
            CPU[self._closing] += time.process_time() - cpu

    def __getattr__(self, name):
        return getattr(self._con, name)


def timed_function(name: str, function):
    def wrapper(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - start
            CPU[name] += time.process_time() - cpu
            CALLS[name] += 1
    return wrapper


STAGES = (  # (stage, how its steps' names start), first match wins
    ("read and type the files", ("CREATE OR REPLACE TEMP TABLE staged_raw", "python: line scan", "readers/")),
    ("validation", ("validation/",)),
    ("merge and quarantine", ("INSERT INTO", "load/", "DELETE FROM", "CREATE OR REPLACE TEMP VIEW merge_target")),
    ("outcome tables (precompute)", ("precompute", "analytics/snapshot", "-- ", "ALTER VIEW", "CREATE OR REPLACE TEMP")),
    ("commit and checkpoints", ("COMMIT", "CHECKPOINT", "close (")),
    ("copy-and-swap", ("copy-and-swap",)),
)


def stages() -> dict[str, tuple[float, float]]:
    """The steps summed per stage of the run (the rest under "other")."""
    totals: dict[str, list[float]] = {stage: [0.0, 0.0] for stage, _ in STAGES}
    totals["other (init_db, views, small statements)"] = [0.0, 0.0]
    for name, seconds in TIMES.items():
        stage = next((s for s, prefixes in STAGES if name.startswith(prefixes)),
                     "other (init_db, views, small statements)")
        totals[stage][0] += seconds
        totals[stage][1] += CPU.get(name, 0.0)
    return {stage: (t[0], t[1]) for stage, t in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clinic")
    parser.add_argument("--workdir", default=".bench/profile")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    sql.read = _named_read(sql.read)
    sql.render = _named_render(sql.render)
    connect = ingest_module.connect_for_ingest
    ingest_module.connect_for_ingest = lambda path: Timed(connect(path))
    csv_export.scan_lines = timed_function("python: line scan before parsing", csv_export.scan_lines)
    ingest_module.working_copy = timed_function("copy-and-swap: working copy", ingest_module.working_copy)
    ingest_module.publish = timed_function("copy-and-swap: fsync and rename", ingest_module.publish)

    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started, cpu = time.perf_counter(), time.process_time()
    ingest_module.ingest(work / "outcomes.duckdb", [args.clinic], Settings())
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024

    ranked = sorted(TIMES.items(), key=lambda item: -item[1])
    width = max(len(name) for name, _ in ranked[: args.top])
    for name, seconds in ranked[: args.top]:
        print(f"{name:<{width}}  {seconds:8.2f} s  {seconds / wall:5.1%}  CPU {CPU.get(name, 0):7.2f} s  "
              f"spill {SPILL.get(name, 0):5.2f} GB  x{CALLS.get(name, 1)}")
    print(f"{'(sum of the steps)':<{width}}  {sum(TIMES.values()):8.2f} s  CPU {sum(CPU.values()):7.2f} s")
    for stage, (seconds, cpu_seconds) in stages().items():
        print(f"  stage {stage:<24} {seconds:8.2f} s  {seconds / wall:5.1%}  CPU {cpu_seconds:7.2f} s")
    print(f"spill: {max(SPILL.values(), default=0):.2f} GB at most in DuckDB's temporary files after a step")
    print(f"wall {wall:.2f} s, CPU {cpu:.2f} s, peak RSS {peak:.2f} GB, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"OUTCOMES_INGEST_MEMORY={os.environ.get('OUTCOMES_INGEST_MEMORY', '(default)')}")
    shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
