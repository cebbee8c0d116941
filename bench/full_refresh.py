"""Full computation of the stored outcome tables, in batches of patients: time and memory.

What a first ingest, an upgrade or a change of definitions or outcome settings pays after its
load (pipelines/incremental.py `refresh_full`): a copy of an ingested clinic database is opened
as the ingest opens its working copy (`connect_for_ingest`: $OUTCOMES_INGEST_MEMORY, default
1 GB) and its stored tables are computed in full, BATCH_PATIENTS patients at a time (--batch to
change it). Run it under `/usr/bin/time -v` for the peak memory. The copy is deleted after.

Usage: python bench/full_refresh.py --database FILE [--workdir DIR] [--batch N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)

from pipelines import incremental  # noqa: E402
from pipelines.db import connect_for_ingest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="an ingested clinic database (copied, never written)")
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--batch", type=int, default=incremental.BATCH_PATIENTS, help="patients per batch")
    args = parser.parse_args()
    incremental.BATCH_PATIENTS = args.batch
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    db = work / "full-refresh.duckdb"
    shutil.copy(args.database, db)
    try:
        con = connect_for_ingest(db)
        (run_id,) = con.execute("SELECT max(run_id) FROM ingest_runs").fetchone()
        (patients,) = con.execute("SELECT count(*) FROM patients").fetchone()
        load, cpu, start = os.getloadavg()[0], time.process_time(), time.perf_counter()
        incremental.refresh_full(con, run_id, "benchmark")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        rows = con.execute("SELECT count(*) FROM precomputed.scores").fetchone()[0]
        con.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"{patients:,} patients, batches of {args.batch:,} "
              f"({len(range(0, patients, args.batch)) or 1}): full computation {seconds:.1f} s, cpu {cpu:.1f} s, "
              f"peak RSS {peak:.2f} GB, {rows:,} stored scores; memory cap "
              f"{os.environ.get('OUTCOMES_INGEST_MEMORY') or '1GB (default)'}; load average "
              f"{load:.1f} -> {os.getloadavg()[0]:.1f}")
    finally:
        for leftover in (db, Path(f"{db}.wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(f"{db}.tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
