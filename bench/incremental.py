"""Incremental ingest benchmark: one day's new rows ingested and published, end to end.

Issue 18's target: on 1,000,000 patients, a day's new rows ingested and published (the
copy-and-swap included) in under 30 s. From a clinic database of N patients whose stored outcome
tables are current (`precomputed`, this version's), "the next day" (an infusion and a PHQ-9 for
the ~0.2% of patients treated most recently, bench/load.py `next_day_export`) is ingested with
`pipelines.ingest.ingest` into a fresh copy of that database, as `outcomes ingest` does (the
interpreter's start aside), timed from the call to the swapped-in file:

  incremental  the stored tables recomputed for the changed patients only (pipelines/incremental.py)
  full         the same run with a full recomputation forced (FULL_SHARE below zero), as every
               ingest did before (the incremental side sets it above one: incremental at any share)

alternating, --runs times each (medians), with each run's parts: the working copy's file copy,
the load, the stored tables' refresh, and the publish (fsync and rename), so the copy-and-swap's
share shows. CPU seconds are the process's (DuckDB's threads included). --shares also times
the refresh alone for larger days (the share of patients changed), both ways, for the
break-even that sets incremental.FULL_SHARE.

The clinic: --database, an ingested clinic database to start from (copied, never written), with
--clinic, its CSV folder (for the next day's rows); else the benchmarks' cached clinic of
--patients (bench/clinic.py, in --workdir). The first run brings the copy's stored tables to
this version (a full refresh, once; kept as `incremental-base-N-S.duckdb` in --workdir).

Usage: python bench/incremental.py [--patients N] [--seed S] [--workdir DIR] [--runs R]
                                   [--database FILE --clinic DIR] [--shares 0.01,0.05,...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)

import duckdb  # noqa: E402

import pipelines.ingest as ingest_module  # noqa: E402
from bench.clinic import clinic_database  # noqa: E402
from bench.load import next_day_export  # noqa: E402
from pipelines import incremental, precomputed  # noqa: E402
from pipelines.db import connect_for_ingest  # noqa: E402
from pipelines.settings import Settings  # noqa: E402

TARGET_S = 30.0
DAY_SHARE = 0.002  # the patients treated on "the next day"


def prepared_base(args, work: Path) -> Path:
    """A copy of the clinic's database whose stored tables are this version's and current."""
    base = work / f"incremental-base-{args.patients}-{args.seed}.duckdb"
    if not base.exists():
        source = Path(args.database) if args.database else clinic_database(args.patients, args.seed, work)
        print(f"copying {source} ...", flush=True)
        shutil.copyfile(source, base.with_suffix(".partial"))
        con = connect_for_ingest(base.with_suffix(".partial"))
        try:
            about = incremental.stored_about(con)
            (run_id,) = con.execute("SELECT max(run_id) FROM ingest_runs").fetchone()
            if about is None or about.get("reference") is None or about["definitions"] != precomputed.definitions():
                print("computing the stored tables with this version (once) ...", flush=True)
                clock = time.perf_counter()
                incremental.refresh_full(con, run_id, "benchmark preparation")
                print(f"  {time.perf_counter() - clock:.1f} s", flush=True)
        finally:
            con.close()
        base.with_suffix(".partial").rename(base)
    return base


def timed(module, name: str, times: dict[str, float], key: str) -> None:
    """Wrap `module.name` so each call adds its seconds to times[key]."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        clock = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            times[key] = times.get(key, 0.0) + time.perf_counter() - clock

    setattr(module, name, wrapper)


def one_ingest(base: Path, export: Path, work: Path, full: bool) -> dict[str, float]:
    """Ingest `export` into a fresh copy of `base`, timed; a full refresh forced when `full`."""
    db = work / "incremental-served.duckdb"
    for leftover in work.glob(f"{db.name}*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    shutil.copyfile(base, db)  # the served database before the day: not timed
    times: dict[str, float] = {}
    saved = (ingest_module.working_copy, ingest_module.publish, incremental.refresh, incremental.FULL_SHARE)
    timed(ingest_module, "working_copy", times, "copy")
    timed(ingest_module, "publish", times, "publish")
    timed(incremental, "refresh", times, "refresh")
    # Full forced, or incremental whatever the share (the other reasons for a full refresh
    # still apply: the check below fails if one did).
    incremental.FULL_SHARE = -1.0 if full else 1.1
    try:
        cpu, clock = time.process_time(), time.perf_counter()
        ingest_module.ingest(db, [export], Settings())
        times["total"] = time.perf_counter() - clock
        times["cpu"] = time.process_time() - cpu
    finally:
        ingest_module.working_copy, ingest_module.publish, incremental.refresh, incremental.FULL_SHARE = saved
    times["load"] = times["total"] - times["copy"] - times["refresh"] - times["publish"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        refresh, patients = con.execute("SELECT refresh, patients FROM precomputed.about").fetchone()
    finally:
        con.close()
    assert refresh == ("full" if full else "incremental"), refresh
    times["patients"] = patients
    times["size_gb"] = db.stat().st_size / 1e9
    return times


def summary(label: str, runs: list[dict[str, float]]) -> str:
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    verdict = "met" if med["total"] <= TARGET_S else "NOT met"
    swap = med["copy"] + med["publish"]
    return (f"{label:<12} {med['total']:7.2f} s end to end (target <= {TARGET_S:.0f} s: {verdict}; "
            f"{len(runs)} run(s), {min(r['total'] for r in runs):.2f}-{max(r['total'] for r in runs):.2f}); "
            f"cpu {med['cpu']:.1f} s\n{'':<12} copy {med['copy']:.2f} s + load {med['load']:.2f} s + "
            f"refresh {med['refresh']:.2f} s + publish {med['publish']:.2f} s; copy-and-swap "
            f"{swap:.2f} s = {100 * swap / med['total']:.0f}% of it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (medians are reported)")
    parser.add_argument("--database", help="an ingested clinic database to start from (copied)")
    parser.add_argument("--clinic", help="its CSV folder (default: the benchmarks' clinic-N-S in --workdir)")
    parser.add_argument("--no-full", action="store_true", help="time the incremental side only")
    parser.add_argument("--shares", default="", help="comma-separated shares of patients changed, for the "
                                                     "refresh's break-even (e.g. 0.01,0.05,0.1,0.25,0.5)")
    args = parser.parse_args()

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    base = prepared_base(args, work)
    clinic = Path(args.clinic) if args.clinic else work / f"clinic-{args.patients}-{args.seed}"
    export = work / f"incremental-next-day-{args.patients}-{args.seed}"
    shutil.rmtree(export, ignore_errors=True)
    day, chosen = next_day_export(clinic, export, max(1, round(DAY_SHARE * args.patients)))

    loads = [os.getloadavg()[0]]
    results: dict[str, list[dict[str, float]]] = {"incremental": [], **({} if args.no_full else {"full": []})}
    for _ in range(args.runs):
        for side in results:
            results[side].append(one_ingest(base, export, work, full=side == "full"))
            loads.append(os.getloadavg()[0])
            print(f"  {side}: {results[side][-1]['total']:.2f} s (load average {loads[-1]:.1f})", flush=True)
    print()
    print(f"{args.patients:,} patients; the next day ({day}): an infusion and a PHQ-9 for {len(chosen):,} "
          f"patients; database {results['incremental'][0]['size_gb']:.2f} GB; ingest memory limit "
          f"{os.environ.get('OUTCOMES_INGEST_MEMORY') or '1GB (default)'}")
    for side in results:
        print(summary(side, results[side]))
    if "full" in results:
        ratio = statistics.median(r["total"] for r in results["full"]) / statistics.median(
            r["total"] for r in results["incremental"])
        print(f"full / incremental, end to end: {ratio:.1f}x")

    for share in [float(s) for s in args.shares.split(",") if s.strip()]:
        shutil.rmtree(export, ignore_errors=True)
        _, chosen = next_day_export(clinic, export, max(1, round(share * args.patients)))
        sides = {side: one_ingest(base, export, work, full=side == "full") for side in ("incremental", "full")}
        loads.append(os.getloadavg()[0])
        print(f"share {share:6.1%} ({len(chosen):,} patients): refresh incremental "
              f"{sides['incremental']['refresh']:.2f} s, full {sides['full']['refresh']:.2f} s; end to end "
              f"{sides['incremental']['total']:.2f} s against {sides['full']['total']:.2f} s")
    print(f"load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f}")
    for leftover in work.glob("incremental-served.duckdb*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


if __name__ == "__main__":
    main()
