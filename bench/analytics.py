"""Analytics benchmark: the analytics module against a straightforward pandas implementation.

On the 200,000-patient synthetic clinic (generated and ingested by bench/ingest.py's data,
or here if missing), in one run:

  snapshot   open_snapshot(use_stored=False): the outcome views computed once for a read-only
             session (the cost the ingest now pays, pipelines/precomputed.py), and opening the
             tables the ingest stored (copied into memory: what a notebook or the CLI pays)
  clinic     the clinic-wide set the issue names: cohort outcomes (PHQ-9), trajectory by
             infusion, Kaplan-Meier time to response and the worklist (whose reasons include
             item 9 at the latest PHQ-9) - timed warm, median of 3
  pandas     the same headline numbers from the base rows in pandas (bench/pandas_reference.py),
             after checking that both give the same numbers
  patient    one patient's expected trajectory, warm, median of 20 patients

Targets: clinic-wide set >= 5x faster than pandas and under 1 s; one patient under 50 ms.
Usage: python bench/analytics.py [--patients N] [--seed S] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pandas_reference  # noqa: E402
from clinic import clinic_database  # noqa: E402

from pipelines.analytics import expected, outcomes, survival, trajectories, worklist  # noqa: E402
from pipelines.analytics.snapshot import open_snapshot, opened_from  # noqa: E402
from pipelines.settings import Settings  # noqa: E402

SPEEDUP_TARGET, CLINIC_SECONDS_TARGET, PATIENT_MS_TARGET = 5.0, 1.0, 50.0


CPU_SECONDS: dict = {}  # function -> median CPU seconds of its last `timed` (all threads of the process)


def timed(function, repeats: int = 3):
    """Median seconds of `repeats` calls, and the last result (the median CPU seconds of the
    process, DuckDB's threads included, in CPU_SECONDS: a shared machine's load inflates them less)."""
    seconds, cpu, result = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU_SECONDS[function] = statistics.median(cpu)
    return statistics.median(seconds), result


def clinic_set(con, settings: Settings) -> dict:
    return {
        "outcomes": outcomes.cohort_outcomes(con, settings, "PHQ-9"),
        "trajectory": trajectories.by_infusion(con, settings, "PHQ-9"),
        "survival": survival.time_to_response(con, settings, "PHQ-9"),
        "worklist": worklist.worklist(con, settings),
    }


def check_agreement(analytics: dict, reference: dict) -> None:
    """The two implementations must give the same numbers, or the timing means nothing."""
    row = analytics["outcomes"].iloc[0]
    pairs = {
        "patients evaluable": (row["n_evaluable"], reference["n_evaluable"]),
        "response rate": (row["response_rate"], reference["response_rate"]),
        "remission rate": (row["remission_rate"], reference["remission_rate"]),
        "mean change": (row["mean_change"], reference["mean_change"]),
        "median days to response": (analytics["survival"]["summary"].iloc[0]["median_days"],
                                    reference["median_days_to_response"]),
        "item 9 positive at latest PHQ-9": (int(analytics["worklist"]["item9_positive"].sum()),
                                            reference["item9_positive_latest"]),
    }
    trajectory = analytics["trajectory"].set_index("infusion")
    for k, mean in reference["trajectory_means"].items():
        pairs[f"mean PHQ-9 before infusion {k}"] = (trajectory.loc[k, "mean"], mean)
    for name, (ours, theirs) in pairs.items():
        if not math.isclose(float(ours), float(theirs), rel_tol=1e-9, abs_tol=1e-9):
            raise SystemExit(f"analytics and pandas disagree on {name}: {ours} vs {theirs}")
    print(f"agreement: {len(pairs)} numbers identical")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=".bench")
    args = parser.parse_args()
    settings = Settings()

    db = clinic_database(args.patients, args.seed, args.workdir)
    start = time.perf_counter()
    con = open_snapshot(db, use_stored=False)
    snapshot_s = time.perf_counter() - start
    start = time.perf_counter()
    stored = open_snapshot(db)
    stored_s = time.perf_counter() - start
    stored_how = opened_from(stored)
    stored.close()
    clinic_s, analytics = timed(clinic := lambda: clinic_set(con, settings))
    clinic_cpu = CPU_SECONDS[clinic]

    frames = pandas_reference.load_frames(con)
    pandas_s, reference = timed(lambda: pandas_reference.clinic_numbers(frames))
    check_agreement(analytics, reference)

    patients = [p for (p,) in con.execute(
        "SELECT patient_id FROM patient_outcomes WHERE instrument = 'PHQ-9' ORDER BY hash(patient_id) LIMIT 20"
    ).fetchall()]
    expected.patient_expected(con, settings, patients[0])  # warm the reference once
    patient_s = statistics.median(timed(lambda p=p: expected.patient_expected(con, settings, p), 1)[0]
                                  for p in patients)

    speedup = pandas_s / clinic_s
    print(f"snapshot of the outcome views (cold, once per database version)  {snapshot_s:6.2f} s")
    print(f"the same from the tables the ingest stored ({stored_how})            {stored_s:6.2f} s")
    print(f"clinic-wide set, analytics module (warm)                         {clinic_s:6.3f} s"
          f"  (target < {CLINIC_SECONDS_TARGET} s: {'met' if clinic_s < CLINIC_SECONDS_TARGET else 'NOT met'})")
    print(f"  its CPU seconds (all threads), load average now                 {clinic_cpu:6.3f} s"
          f"  (load {os.getloadavg()[0]:.1f})")
    print(f"same numbers, pandas                                             {pandas_s:6.3f} s")
    print(f"speed-up over pandas                                             {speedup:6.1f}x"
          f"  (target >= {SPEEDUP_TARGET}x: {'met' if speedup >= SPEEDUP_TARGET else 'NOT met'})")
    print(f"one patient's expected trajectory (warm)                         {patient_s * 1000:6.1f} ms"
          f"  (target < {PATIENT_MS_TARGET} ms: {'met' if patient_s * 1000 < PATIENT_MS_TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
