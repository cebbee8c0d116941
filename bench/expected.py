"""Expected-course references benchmark: what the ingest pays to store them, and what a reader
pays to open a database version with them stored or computed (pipelines/precomputed_expected.py).

  store     `store_expected` on a copy of the database (every scale, from the stored
            `precomputed.scores_by_infusion`): the step every ingest run, full or incremental,
            adds; wall and CPU seconds (CPU of every thread), median of 3
  open      the first answers after a new database version, on a dashboard-style snapshot
            (read in place): every scale's reference and patients behind, read stored
            (`expected_reference.stored`) and computed (`compute`: every patient's scores
            fetched into memory), alternated, median of 3
  patient   one patient's expected course, each way, median of 20 patients (first call for
            that patient; the reference already open)

Usage: python bench/expected.py [--patients N] [--seed S] [--workdir DIR] [--db FILE]
(--db: an existing outcomes database, only read: the store is timed on a copy in --workdir,
expected-<name>.duckdb, which the rest reads and --keep keeps)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from clinic import clinic_database  # noqa: E402

from pipelines import precomputed_expected  # noqa: E402
from pipelines.db import connect_for_ingest  # noqa: E402
from pipelines.analytics import expected, expected_reference  # noqa: E402
from pipelines.analytics.snapshot import open_snapshot  # noqa: E402
from pipelines.settings import Settings  # noqa: E402


def clocked(function):
    """(wall seconds, CPU seconds of the process's threads, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def medians(samples: list[tuple]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def time_store(copy: Path, settings: Settings) -> tuple[float, float]:
    """Median (wall, CPU) seconds of storing the references in `copy`, three times over, on the
    ingest's own connection (its memory cap, $OUTCOMES_INGEST_MEMORY, 1 GB by default)."""
    con = connect_for_ingest(copy)
    try:
        samples = []
        for _ in range(3):
            con.execute("BEGIN TRANSACTION")
            samples.append(clocked(lambda: precomputed_expected.store_expected(con, settings)))
            con.execute("COMMIT")
        con.execute("CHECKPOINT")
        return medians(samples)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--db", help="an existing outcomes database (only read: the store is timed on a copy)")
    parser.add_argument("--keep", action="store_true", help="keep the copy with the references stored")
    args = parser.parse_args()
    settings = Settings()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    db = Path(args.db) if args.db else clinic_database(args.patients, args.seed, workdir)

    copy = workdir / f"expected-{db.stem}.duckdb"  # the store writes: never into the given file
    shutil.copy(db, copy)
    store_wall, store_cpu = time_store(copy, settings)
    print(f"store: every scale's references from the stored tables   {store_wall:6.2f} s wall  {store_cpu:6.2f} s CPU")
    try:
        read(copy, settings)
    finally:
        if not args.keep:
            for leftover in (copy, Path(f"{copy}.wal")):
                leftover.unlink(missing_ok=True)


def read(db: Path, settings: Settings) -> None:
    con = open_snapshot(db, store=Path(tempfile.gettempdir()) / f"expected-bench-{os.getpid()}.duckdb")
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    if not precomputed_expected.current(con, catalog, settings):
        raise SystemExit(f"{db}: the references were not stored (are its outcome tables current?)")
    prefix = precomputed_expected.prefix(catalog)
    scales = [s for (s,) in con.execute("SELECT DISTINCT instrument FROM patient_outcomes ORDER BY 1").fetchall()]
    ways = {"stored": lambda scale: expected_reference.stored(con, settings, scale, prefix),
            "computed": lambda scale: expected_reference.compute(con, settings, scale)}
    opened = {way: [] for way in ways}
    for _ in range(3):  # alternated, so both see the same load on a shared machine
        for way, make in ways.items():
            opened[way].append(clocked(lambda make=make: {scale: make(scale) for scale in scales}))
    patients = [p for (p,) in con.execute(
        "SELECT patient_id FROM patient_outcomes WHERE instrument = 'PHQ-9' ORDER BY hash(patient_id) LIMIT 20"
    ).fetchall()]
    for way in ways:
        wall, cpu = medians(opened[way])
        made = opened[way][-1][2]["PHQ-9"]
        reply = []
        for patient in patients:
            start = time.perf_counter()
            progress = expected_reference.patient_progress(con, made, settings, patient, "PHQ-9")
            progress.rows_of(patient)
            reply.append(time.perf_counter() - start)
        print(f"open: {len(scales)} scales' references, {way:<8}                {wall:6.2f} s wall  {cpu:6.2f} s CPU"
              f"   one patient's rows {statistics.median(reply) * 1000:6.1f} ms")
    expected.clear_cache()
    con.close()


if __name__ == "__main__":
    main()
