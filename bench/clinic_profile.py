"""Profile of the clinic-wide set on the snapshot as the dashboard opens it.

The dashboard opens a database version with `open_snapshot(path, store=..., memory_limit=...)`:
the tables the ingest stored (pipelines/precomputed.py) are named in place and read through
DuckDB's buffer pool within `dashboard.data.memory_limit`. This script opens the database the
same way and runs the clinic-wide set of bench/analytics.py (`clinic_set`) through a connection
that records every statement, then runs each statement again under DuckDB's profiler and prints,
per statement: its wall and CPU seconds, DuckDB's peak buffer memory and bytes spilled, and the
operators that took the most time (with their output rows). It also prints the process's
resident memory after each step, and what each answer holds in Python (pandas frames).

Usage: python bench/clinic_profile.py DATABASE [--memory-limit 2GB] [--repeats 3] [--operators 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import pandas as pd  # noqa: E402

from dashboard.data import memory_limit  # noqa: E402  (before bench/ goes on the path: bench/dashboard.py)
from bench.analytics import clinic_set  # noqa: E402
from pipelines.analytics import expected  # noqa: E402
from pipelines.analytics.snapshot import open_snapshot, opened_from  # noqa: E402
from pipelines.settings import Settings  # noqa: E402


class Recording:
    """A connection that passes everything through and records each `execute`'s SQL and parameters."""

    def __init__(self, con):
        self._con, self.statements = con, []

    def execute(self, query, parameters=None):
        self.statements.append((query, parameters))
        return self._con.execute(query, parameters) if parameters is not None else self._con.execute(query)

    def __getattr__(self, name):
        return getattr(self._con, name)


def rss_gb() -> float:
    """The process's resident memory now (Linux /proc), in GB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def frame_mb(answer) -> float:
    """What an answer's pandas frames hold (deep), in MB."""
    frames = answer.values() if isinstance(answer, dict) else [answer]
    return sum(f.memory_usage(deep=True).sum() for f in frames if isinstance(f, pd.DataFrame)) / 1e6


def operators(node: dict, found: list) -> list:
    """Every operator of a profile tree as (seconds, name, output rows, detail)."""
    info = node.get("extra_info") or {}
    detail = info.get("Table") or info.get("Join Type") or info.get("Aggregates") or ""
    if node.get("type") not in (None, "RESULT_COLLECTOR"):
        found.append((node.get("timing", 0.0), node.get("name", "?"), node.get("intermediate_rows", 0),
                      str(detail)[:60]))
    for child in node.get("children", []):
        operators(child, found)
    return found


def profile(con, query: str, parameters, top: int) -> dict:
    con.execute("SET enable_profiling = 'no_output'")
    con.execute("SET profiling_mode = 'detailed'")
    try:
        start = time.perf_counter()
        (con.execute(query, parameters) if parameters is not None else con.execute(query)).fetchall()
        wall = time.perf_counter() - start
        report = json.loads(con.get_profiling_information(format="json"))
    finally:
        con.execute("SET enable_profiling = 'no_output'")
        con.execute("RESET enable_profiling")
    found = sorted((op for root in report["operator"] for op in operators(root, [])), reverse=True)[:top]
    return {"wall": wall, "cpu": report["query"]["cpu_time"],
            "peak_mb": report["system"]["peak_buffer_memory"] / 1e6,
            "spilled_mb": report["system"]["total_bytes_spilled"] / 1e6, "operators": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database")
    parser.add_argument("--memory-limit", default=None, help="DuckDB's cap (default: dashboard.data.memory_limit)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--operators", type=int, default=6)
    args = parser.parse_args()
    settings = Settings()
    if args.memory_limit is None:
        args.memory_limit = memory_limit(args.database)

    print(f"process at start {rss_gb():.2f} GB; DuckDB memory_limit {args.memory_limit}")
    store = Path(tempfile.gettempdir()) / f"clinic-profile-{uuid.uuid4().hex}.duckdb"
    start = time.perf_counter()
    raw = open_snapshot(args.database, store=store, memory_limit=args.memory_limit)
    print(f"open_snapshot ({opened_from(raw)}) {time.perf_counter() - start:.2f} s, process {rss_gb():.2f} GB")
    start = time.perf_counter()
    expected.warm(raw, settings)
    print(f"expected.warm {time.perf_counter() - start:.2f} s, process {rss_gb():.2f} GB")

    con = Recording(raw)
    answers = clinic_set(con, settings)  # warms anything cached per connection
    print(f"clinic-wide set, first run: process {rss_gb():.2f} GB")
    for name, answer in answers.items():
        print(f"  answer {name:<11} {frame_mb(answer):8.1f} MB in pandas")
    timings, cpu = [], []
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        clinic_set(raw, settings)
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(f"clinic-wide set warm: median {statistics.median(timings):.3f} s of {args.repeats} "
          f"({', '.join(f'{t:.3f}' for t in timings)}), CPU {statistics.median(cpu):.3f} s, "
          f"load average {os.getloadavg()[0]:.1f}, process {rss_gb():.2f} GB")
    for name, function in (("outcomes", lambda: clinic_set.__globals__["outcomes"].cohort_outcomes(raw, settings)),
                           ("trajectory", lambda: clinic_set.__globals__["trajectories"].by_infusion(raw, settings)),
                           ("survival", lambda: clinic_set.__globals__["survival"].time_to_response(raw, settings)),
                           ("worklist", lambda: clinic_set.__globals__["worklist"].worklist(raw, settings))):
        seconds, cpu = [], []
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            function()
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        print(f"  {name:<11} median {statistics.median(seconds):.3f} s, CPU {statistics.median(cpu):.3f} s"
              " (all threads)")

    print("\nstatements, profiled (each run once more under the profiler):")
    # The worklist's query reads the not-on-track patients it registers for the call's length.
    raw.register(f"worklist_not_on_track_{threading.get_ident()}",
                 expected.patients_not_on_track(raw, settings)[["patient_id"]])
    for i, (query, parameters) in enumerate(con.statements):
        result = profile(raw, query, parameters, args.operators)
        first = " ".join(line.strip() for line in query.strip().splitlines() if not line.strip().startswith("--"))
        print(f"\n[{i}] {first[:110]}")
        print(f"    wall {result['wall']:.3f} s  cpu {result['cpu']:.3f} s  peak buffer {result['peak_mb']:.0f} MB"
              f"  spilled {result['spilled_mb']:.0f} MB")
        for seconds, name, rows, detail in result["operators"]:
            print(f"    {seconds:7.3f} s  {name:<24} {rows:>10,} rows  {detail}")
    print(f"\nprocess at the end {rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
