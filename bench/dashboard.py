"""Dashboard benchmark: each page's full script run on the 200,000-patient synthetic clinic.

The app runs in this process through Streamlit's AppTest (the real scripts, router included),
so this process is the server and its peak resident memory is the server's. Timed:

  open      the first run after start-up: opens the database snapshot and warms the
            expected-trajectory references - once per database version, not per page
  first     a page's first run since the process started, every cached answer cleared: the
            page's own modules are imported then (once per server start), and its queries
            are the first to read their tables into DuckDB's buffer pool (as after an ingest,
            when the new version's file is opened)
  cold      a page's run with every cached answer cleared (`st.cache_data.clear()`), the
            snapshot open and the page run before: the first visit after an ingest or with a
            new filter (the server has been running; before 7 December 2026 "cold" was the
            "first" run, which added the page's imports to every figure)
  warm      the median of 5 reruns of the same page (a widget change that hits the cache)
  patient   the Patient page, open in a session, showing a patient not opened before (other
            patients' answers do not help), median over 10 patients, and warm reruns

Targets: Clinic outcomes under 2 s cold and 300 ms warm; Patient page under 300 ms; the
server's memory under 1.5 GB (issue 18).
Usage: python bench/dashboard.py [--patients N] [--seed S] [--workdir DIR] [--pages NAME ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

# Python puts this script's folder first on the path, where this file would shadow the
# `dashboard` package: put the repository there instead.
REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)

import duckdb  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.clinic import clinic_database  # noqa: E402

APP = str(REPO / "dashboard" / "app.py")
PAGES = {"Worklist": "views/worklist.py", "Clinic outcomes": "views/clinic.py",
         "Data quality": "views/data_quality.py", "Patient": "views/patient.py"}
CLINIC_COLD_S, CLINIC_WARM_S, PATIENT_S, MEMORY_GB = 2.0, 0.3, 0.3, 1.5


def run(app: AppTest) -> float:
    start = time.perf_counter()
    app.run()
    seconds = time.perf_counter() - start
    if app.exception:
        raise SystemExit(f"the page failed: {[e.value for e in app.exception]}")
    return seconds


def page_app(page: str, query: dict | None = None) -> AppTest:
    """An AppTest on `page`, already switched there (the switch itself is not timed)."""
    app = AppTest.from_file(APP, default_timeout=600)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    app.switch_page(page)
    return app


def peak_memory_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KiB on Linux


def memory_now_gb() -> float:
    """The process's resident memory now (Linux /proc): what the server holds after a step."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 ** 3


def patients_to_open(db: Path, n: int) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [p for (p,) in con.execute(
            "SELECT patient_id FROM patients ORDER BY hash(patient_id) LIMIT ?", [n]).fetchall()]
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES),
                        help="time only these pages (targets of the others are then not reported)")
    args = parser.parse_args()
    db = clinic_database(args.patients, args.seed, args.workdir)
    os.environ["OUTCOMES_DB"] = str(db)

    start = time.perf_counter()
    AppTest.from_file(APP, default_timeout=600).run()
    open_s = time.perf_counter() - start
    print(f"open: snapshot and expected references (once per database version)  {open_s:6.2f} s"
          f"   memory now {memory_now_gb():.2f} GB")

    results = {}
    for name, page in PAGES.items():
        if name == "Patient" or name not in args.pages:
            continue
        app = page_app(page)
        st.cache_data.clear()
        first = run(app)  # the page's first visit since the server started: its modules imported
        st.cache_data.clear()
        cold = run(app)
        warm = statistics.median(run(app) for _ in range(5))
        results[name] = (cold, warm)
        print(f"{name:<16} first {first * 1000:6.0f} ms   cold {cold * 1000:7.0f} ms   warm {warm * 1000:6.0f} ms"
              f"   memory now {memory_now_gb():.2f} GB, peak {peak_memory_gb():.2f} GB")

    # A clinician opens one patient after another in the same browser session: the page is
    # already open, a new patient id arrives (search or link) and the page reruns.
    firsts, warms = [], []
    if "Patient" in args.pages:
        first, *others = patients_to_open(db, 11)
        app = page_app(PAGES["Patient"], {"patient": first})
        session_s = run(app)
        print(f"{'Patient':<16} first page of a new session {session_s * 1000:5.0f} ms")
        for patient in others:
            app.query_params["patient"] = patient
            firsts.append(run(app))
            warms.append(run(app))
        print(f"{'Patient':<16} {len(firsts)} patients opened   memory now {memory_now_gb():.2f} GB,"
              f" peak {peak_memory_gb():.2f} GB")

    memory = peak_memory_gb()
    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    print()
    if firsts:
        patient_first, patient_warm = statistics.median(firsts), statistics.median(warms)
        print(f"{'Patient':<16} new patient {patient_first * 1000:5.0f} ms   warm {patient_warm * 1000:6.0f} ms"
              f"   (median of {len(firsts)} patients)")
        print(f"Patient page          {patient_first * 1000:6.0f} ms  (target < {PATIENT_S * 1000:.0f} ms: "
              f"{verdict(patient_first < PATIENT_S)})")
    if "Clinic outcomes" in results:
        clinic_cold, clinic_warm = results["Clinic outcomes"]
        print(f"Clinic outcomes cold  {clinic_cold:6.2f} s   (target < {CLINIC_COLD_S} s: "
              f"{verdict(clinic_cold < CLINIC_COLD_S)})")
        print(f"Clinic outcomes warm  {clinic_warm * 1000:6.0f} ms  (target < {CLINIC_WARM_S * 1000:.0f} ms: "
              f"{verdict(clinic_warm < CLINIC_WARM_S)})")
    print(f"server peak memory    {memory:6.2f} GB  (target < {MEMORY_GB} GB: {verdict(memory < MEMORY_GB)})")


if __name__ == "__main__":
    main()
