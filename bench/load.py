"""Load benchmark: concurrent browser sessions on the real dashboard while an ingest runs.

The real server (`streamlit run dashboard/app.py`, loopback, headless) serves a copy of the
N-patient synthetic clinic's database. One headless Chromium (Playwright) with S browser
contexts acts as S clinicians and directors, each looping for D seconds: open a page (Worklist,
Patient with a random patient, Clinic outcomes, Data quality), wait until it is fully drawn,
record the time, check it, pause (--think), open the next. A patient is opened by its address
(as the Worklist's link, in a new tab, and a bookmark do: a fresh page load and a new Streamlit
session); the other pages by the sidebar's link. Sessions arrive over --ramp-up seconds, after
one warm-up page load has opened the database version. The test's tabs run without animations
(they would take the cores from the server; a user's browser runs on their own machine).

After --ingest-after seconds, `outcomes ingest` loads "the next day" into the served database
(copy-and-swap, pipelines/publish.py): an infusion and a PHQ-9 before it, the day after the
latest infusion, for the patients treated most recently, under new ids. Sessions therefore
cross a database version change.

A page view is an error when
  - it is not fully drawn within --timeout seconds: drawn means the page's key texts shown
    and Streamlit showing neither its "running" indicator nor skeletons nor stale elements,
    twice half a second apart (the check of tests/test_e2e_browser.py);
  - it shows an error box or an exception, "Page not found", or the browser reports a script
    error;
  - it shows partial data: its key figures are not those of one database version, the one
    before the ingest or the one after it, computed here with the same analytics functions
    on a snapshot of each version:
      Worklist         "Patients shown" and the three reason counts (as one tuple)
      Patient          the requested patient's header and "Infusions so far"
      Clinic outcomes  "Active patients", "New starts", "Infusions delivered" (one tuple)
      Data quality     the latest run's number and its five row counts (one tuple)
    A page whose figures mix two versions, or match neither, is partial.

Page time is from the start of the page load to the first "fully drawn" check that passes.
Reported: page views, errors (must be 0), p50/p95/max per page and overall, views per
version, the ingest's duration and the server's peak resident memory (VmHWM).

The browser runs on the same machine as the server and takes its share of the cores: the times
are what a clinician would see with the server this loaded, plus the client's own contention.

Usage: python bench/load.py [--patients N] [--seed S] [--workdir DIR] [--sessions S]
                            [--seconds D] [--ingest-after T] [--ramp-up T] [--think T] [--timeout T]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# Python puts this script's folder first on the path, where this file would shadow the
# `dashboard` package: put the repository there instead.
REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)

import duckdb  # noqa: E402

from bench.clinic import clinic_database  # noqa: E402
from pipelines.analytics.worklist import REASON_LABELS  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1280, 1000
# The checks of tests/test_e2e_browser.py.
ERROR_BOXES = '[data-testid="stException"], [data-testid="stAlertContentError"]'
NOT_FOUND = "Page not found"
SETTLED = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-testid="stSkeleton"]')
                 && !document.querySelector('.stale-element')
                 && Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
                         .every(chart => chart.querySelector('canvas, svg'))
                 && Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
                         .every(chart => chart.querySelector('.main-svg'))"""
METRICS = """() => Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => [
    (m.querySelector('[data-testid="stMetricLabel"]') || {}).innerText || '',
    (m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || ''])"""
# No animations or transitions in the test's tabs: 25 tabs each animating Streamlit's running
# indicator and skeletons while they wait take the machine's cores from the server (a user's
# browser runs on their own machine). What is drawn, and when, is unchanged.
STILL = """document.addEventListener('DOMContentLoaded', () => {
    const style = document.createElement('style');
    style.textContent = '*, *::before, *::after { animation: none !important; transition: none !important; }';
    document.head.appendChild(style);
});"""
HEADINGS = """() => Array.from(document.querySelectorAll('h1, h2, h3')).map(h => h.innerText.trim())"""

# page: (url path, key texts) - the key texts of tests/test_e2e_browser.py
PAGES = {
    "Worklist": ("worklist", ["Worklist", "Patients shown"]),
    "Patient": ("patient?patient={patient}", ["Patient {patient}", "Infusions so far", "Course"]),
    "Clinic outcomes": ("clinic", ["Clinic outcomes", "Response rate", "Remission rate"]),
    "Data quality": ("data-quality", ["Data quality", "Latest run", "Inserted", "What the database holds"]),
}
WORKLIST_REASONS = ("item9_positive", "reliable_deterioration", "bp_excursion_last_infusion")  # as the page shows
WORKLIST_METRICS = ("Patients shown", *(REASON_LABELS[reason] for reason in WORKLIST_REASONS))
CLINIC_METRICS = ("Active patients", "New starts", "Infusions delivered",  # one answer (activity)
                  "Response rate", "Remission rate", "Median change")  # another (outcomes)
RUN_METRICS = ("Rows in", "Inserted", "Updated", "Unchanged", "Quarantined")
PATIENTS_SAMPLED = 120  # patients the sessions open: half get the new day's infusion


# --- the database and the next day's export -----------------------------------------------------

def next_day_export(clinic: Path, out: Path, patients: int) -> tuple[str, list[str]]:
    """CSV files of "the next day" for the `patients` patients treated most recently: for each,
    an infusion copied from their latest (new id, the day after the clinic's latest infusion,
    same time of day) and a PHQ-9 of 0 (every item 0) 30 minutes before it (new id), so the
    clinic's outcome rates change with the version too. Returns the day and the patients."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        sessions = f"read_csv('{clinic / 'sessions.csv'}', all_varchar=true, header=true)"
        assessments = f"read_csv('{clinic / 'assessments.csv'}', all_varchar=true, header=true)"
        con.execute(f"""
            CREATE TEMP TABLE latest AS
            SELECT * FROM {sessions}
            QUALIFY row_number() OVER (PARTITION BY patient_id ORDER BY started_at DESC, session_id DESC) = 1""")
        last_day = con.execute("SELECT max(started_at::TIMESTAMP)::DATE FROM latest").fetchone()[0]
        day = min(last_day + dt.timedelta(days=1), dt.date.today())  # the ingest refuses the future
        con.execute(f"""
            CREATE TEMP TABLE chosen AS
            SELECT * REPLACE ('LOAD-' || session_id AS session_id,
                              strftime(make_timestamp(year(DATE '{day}'), month(DATE '{day}'), day(DATE '{day}'),
                                       hour(started_at::TIMESTAMP), minute(started_at::TIMESTAMP), 0),
                                       '%Y-%m-%dT%H:%M:%S') AS started_at)
            FROM latest ORDER BY started_at DESC, patient_id LIMIT {int(patients)}""")
        con.execute(f"COPY chosen TO '{out / 'sessions.csv'}' (HEADER)")
        con.execute(f"""
            COPY (
                SELECT a.* REPLACE ('LOAD-' || a.assessment_id AS assessment_id,
                                    c.session_id AS session_id,
                                    {', '.join(f"'0' AS item_{i}" for i in range(1, 10))}, '0' AS total,
                                    strftime(c.started_at::TIMESTAMP - INTERVAL 30 MINUTE, '%Y-%m-%dT%H:%M:%S')
                                        AS administered_at)
                FROM {assessments} AS a JOIN chosen AS c USING (patient_id)
                WHERE a.instrument = 'PHQ-9'
                QUALIFY row_number() OVER (PARTITION BY a.patient_id
                                           ORDER BY a.administered_at DESC, a.assessment_id DESC) = 1
            ) TO '{out / 'assessments.csv'}' (HEADER)""")
        chosen = [p for (p,) in con.execute("SELECT patient_id FROM chosen ORDER BY patient_id").fetchall()]
    finally:
        con.close()
    return str(day), chosen


@dataclass
class Version:
    """The key figures of one database version, as the pages show them."""
    worklist: tuple
    clinic: tuple
    run: tuple
    infusions: dict[str, str]  # patient id -> "Infusions so far"


def figures(db: Path, patients: list[str]) -> Version:
    """Each page's key figures on `db`, from the functions the pages call, formatted as shown."""
    import logging

    import pandas as pd
    import streamlit  # noqa: F401 - creates its loggers, quietened before the dashboard's caches warn

    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)  # "No runtime found"
    from dashboard.charts.quality import reason_counts
    from dashboard.display import percent
    from dashboard.summary import header_facts
    from pipelines.analytics.cohorts import CohortFilter
    from pipelines.analytics.ingest_log import ingest_runs
    from pipelines.analytics.patient import patient_summary
    from pipelines.analytics.snapshot import open_snapshot
    from pipelines.analytics.worklist import worklist
    from pipelines.reports.clinic import headline_activity, headline_outcomes, scales_with_data
    from pipelines.settings import Settings

    settings = Settings()
    with tempfile.TemporaryDirectory() as folder:
        con = open_snapshot(db, store=Path(folder) / "snapshot.duckdb")
        try:
            frame = worklist(con, settings)
            counts = reason_counts(frame)
            reasons = [int(counts.loc[counts["reason"] == reason, "patients"].iloc[0]) for reason in WORKLIST_REASONS]
            wl = (f"{len(frame):,}", *(f"{n:,}" for n in reasons))
            activity = headline_activity(con, settings).iloc[0]
            count = lambda value: f"fewer than {settings.privacy.min_cell_size}" if value != value or value is None \
                else f"{int(value)}"  # noqa: E731 - as dashboard/views/clinic.py shows it
            scale = scales_with_data(con, settings, CohortFilter())["instrument"].iloc[0]  # the page's default
            overall = headline_outcomes(con, settings, scale, CohortFilter(), "latest").iloc[0]
            median = overall["median_change"]
            outcomes = (("—", "—", "—") if overall["suppressed"] else
                        (percent(overall["response_rate"]), percent(overall["remission_rate"]),
                         "—" if pd.isna(median) else f"{median:+.1f} points"))
            clinic = (count(activity["active_patients"]), count(activity["new_starts"]),
                      f"{int(activity['infusions']):,}", *outcomes)
            latest = ingest_runs(con).iloc[0]
            run = (f"Latest run: run {latest.run_id}", *(f"{int(latest[k]):,}" for k in
                                                         ("rows_in", "inserted", "updated", "unchanged", "quarantined")))
            infusions = {p: dict(header_facts(patient_summary(con, settings, p).iloc[0]))["Infusions so far"]
                         for p in patients}
        finally:
            con.close()
    return Version(wl, clinic, run, infusions)


# --- the server -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_copy(source: Path, work: Path, name: str) -> tuple[Path, Path]:
    """A copy of the benchmarks' database `source` to serve and change (`<name>.duckdb`, with
    whatever an earlier run left beside it removed) and an empty folder for its next-day export
    (`<prefix>-next-day-<rest>`): a benchmark that ingests never touches the shared database."""
    db = work / f"{name}.duckdb"
    for leftover in work.glob(f"{db.name}*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    shutil.copyfile(source, db)
    prefix, _, rest = name.partition("-")
    export = work / f"{prefix}-next-day-{rest}"
    shutil.rmtree(export, ignore_errors=True)
    return db, export


def start_server(db: Path, work: Path, name: str = "load", port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`outcomes dashboard` (`dashboard/serve.py`) serving `db` on a free loopback port; its log, audit log and
    config folder in `work`, named after the benchmark (`name`)."""
    port = port or free_port()  # a given port: a restart, whose visitors' browsers cached this origin
    env = {**os.environ, "OUTCOMES_DB": str(db), "OUTCOMES_AUDIT_LOG": str(work / f"{name}-audit.log"),
           "XDG_CONFIG_HOME": str(work / f"{name}-config")}
    env.pop("OUTCOMES_CONFIG", None)
    log = open(work / f"{name}-streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard.serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"streamlit did not start:\n{(work / f'{name}-streamlit.log').read_text()}")
        time.sleep(0.5)


def peak_rss_gb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), read while it runs."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 ** 2
    return float("nan")


# --- the sessions -----------------------------------------------------------------------------------

@dataclass
class View:
    page: str
    started: float  # seconds since the load began
    seconds: float | None  # None: not drawn in time
    error: str | None = None
    version: str | None = None  # "before", "after" (figures of that version), None when an error
    how: str = "address"  # "address": a fresh load of the page's address; "link": the sidebar's link


@dataclass
class Run:
    url: str
    patients: list[str]
    versions: dict[str, Version] = field(default_factory=dict)
    views: list[View] = field(default_factory=list)
    origin: float = 0.0
    load_average: list[float] = field(default_factory=list)  # the machine's, sampled each second
    cpu: dict[tuple, tuple[str, float]] = field(default_factory=dict)  # (pid, start) -> (role, CPU s)


def metric_values(pairs: list[list[str]], labels: tuple[str, ...]) -> tuple:
    found = {}
    for label, value in pairs:
        for wanted in labels:
            if label.strip() == wanted and wanted not in found:
                found[wanted] = value.strip()
    return tuple(found.get(label) for label in labels)


def which_version(run: Run, page: str, shown: tuple, patient: str | None) -> str | None:
    """The version whose figures the page shows, or None (partial: none matches whole)."""
    for name, version in run.versions.items():
        expected = {"Worklist": version.worklist, "Clinic outcomes": version.clinic, "Data quality": version.run,
                    "Patient": (f"Patient {patient}", version.infusions.get(patient))}[page]
        if tuple(shown) == tuple(expected):
            return name
    return None


async def visit(run: Run, page, errors: list[str], page_name: str, by_link: bool, timeout_s: float,
                rng: random.Random) -> View:
    """One page view: by its address (a fresh load), or by the sidebar's link from the page shown."""
    path, texts = PAGES[page_name]
    patient = rng.choice(run.patients) if page_name == "Patient" else None
    url = f"{run.url}/{path.format(patient=patient)}"
    texts = [t.format(patient=patient) for t in texts]
    errors.clear()
    start = time.perf_counter()
    view = View(page_name, start - run.origin, None, how="link" if by_link else "address")
    timeout_ms = timeout_s * 1000
    try:
        if by_link:
            await page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').first.click(timeout=timeout_ms)
        else:
            await page.goto(url, timeout=timeout_ms)
        for text in texts:
            remaining = max(1.0, timeout_ms - (time.perf_counter() - start) * 1000)
            await page.get_by_text(text, exact=False).filter(visible=True).first.wait_for(timeout=remaining)
        remaining = max(1.0, timeout_ms - (time.perf_counter() - start) * 1000)
        await page.wait_for_function(SETTLED, timeout=remaining, polling=100)
        view.seconds = time.perf_counter() - start
        await page.wait_for_timeout(500)  # settled twice, half a second apart (not timed)
        await page.wait_for_function(SETTLED, timeout=timeout_ms, polling=100)
        if await page.locator(ERROR_BOXES).count():
            view.error = "error box: " + (await page.locator(ERROR_BOXES).first.inner_text())[:200]
        elif await page.get_by_text(NOT_FOUND).count():
            view.error = NOT_FOUND
        elif errors:
            view.error = f"script error: {errors[0][:200]}"
        else:
            pairs = await page.evaluate(METRICS)
            if page_name == "Worklist":
                shown = metric_values(pairs, WORKLIST_METRICS)
            elif page_name == "Clinic outcomes":
                shown = metric_values(pairs, CLINIC_METRICS)
            elif page_name == "Data quality":
                headings = await page.evaluate(HEADINGS)
                latest = next((h for h in headings if h.startswith("Latest run")), None)
                shown = (latest, *metric_values(pairs, RUN_METRICS))
            else:
                headings = await page.evaluate(HEADINGS)
                header = next((h for h in headings if h == f"Patient {patient}"), None)
                shown = (header, *metric_values(pairs, ("Infusions so far",)))
            view.version = which_version(run, page_name, shown, patient)
            if view.version is None:
                view.error = f"partial data: shows {shown}" + (f" for {patient}" if patient else "")
    except Exception as error:  # a timeout or a failed load: an error, reported, not raised
        view.error = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    return view


async def session(run: Run, browser, number: int, until: float, timeout_s: float, arrive: float,
                  think: float) -> None:
    """One user: a browser context and tab of their own, pages one after another until `until`.
    A patient is opened by address (as the Worklist's link does, in a new tab, and a bookmark);
    the other pages by the sidebar's link, as a user moves between them, unless the last view
    failed (then by address, a reload)."""
    rng = random.Random(number)
    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, reduced_motion="reduce")
    await context.add_init_script(STILL)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await asyncio.sleep(arrive)  # users arrive one after another over the ramp-up
        current, ok = None, False
        while time.perf_counter() < until:
            name = rng.choice([n for n in PAGES if n != current or n == "Patient"])
            by_link = ok and name != "Patient"
            view = await visit(run, page, errors, name, by_link, timeout_s, rng)
            run.views.append(view)
            current, ok = name, view.error is None
            if view.error:
                print(f"  session {number}: {view.page} at {view.started:5.0f} s: {view.error}", flush=True)
            await asyncio.sleep(rng.uniform(0, 2 * think))  # reading the page
    finally:
        await context.close()


async def ingest_later(db: Path, export: Path, delay: float, log: Path) -> tuple[float, float, int]:
    """`outcomes ingest` of the next day into the served database after `delay` s: (start, duration, rc)."""
    await asyncio.sleep(delay)
    start = time.perf_counter()
    with open(log, "w") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pipelines.cli", "ingest", str(export), "--db", str(db), "--quiet",
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        code = await process.wait()
    return start, time.perf_counter() - start, code


async def load(run: Run, db: Path, export: Path, work: Path, sessions: int, seconds: float,
               ingest_after: float, timeout_s: float, server_pid: int, ramp_up: float, think: float) -> tuple[float, float, int, float]:
    from playwright.async_api import async_playwright

    peak = [0.0]

    async def watch_memory() -> None:
        while True:
            peak[0] = max(peak[0], peak_rss_gb(server_pid))
            run.load_average.append(os.getloadavg()[0])
            sample_cpu(run, server_pid)
            await asyncio.sleep(1)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            # A server in service has its database version open: one page load before the
            # sessions start opens it (the snapshot; untimed in the table, printed here). The
            # ingest then makes the server open the next version under load.
            clock = time.perf_counter()
            context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            page = await context.new_page()
            await page.goto(f"{run.url}/worklist", timeout=600_000)
            await page.get_by_text("Patients shown").filter(visible=True).first.wait_for(timeout=600_000)
            await page.wait_for_function(SETTLED, timeout=600_000, polling=100)
            await context.close()
            print(f"  warm-up: the first page (opening the database version) {time.perf_counter() - clock:.1f} s",
                  flush=True)
            run.origin = time.perf_counter()
            until = run.origin + seconds
            watcher = asyncio.create_task(watch_memory())
            ingest = asyncio.create_task(ingest_later(db, export, ingest_after, work / "load-ingest.log"))
            await asyncio.gather(*(session(run, browser, n, until, timeout_s, ramp_up * n / sessions, think)
                                   for n in range(sessions)))
            ingest_start, ingest_s, code = await ingest
            watcher.cancel()
            sample_cpu(run, server_pid)
        finally:
            await browser.close()
    return ingest_start - run.origin, ingest_s, code, max(peak[0], peak_rss_gb(server_pid))


def sample_cpu(run: Run, server_pid: int) -> None:
    """Record the CPU seconds used so far by each process of this benchmark, by role: the server,
    the ingest, the browser (Chromium and Playwright's driver). A process's last sample stands
    for it once it has exited."""
    import psutil

    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            with process.oneshot():
                times = process.cpu_times()
                used = times.user + times.system
                if process.pid == server_pid:
                    role = "server"
                elif process.pid == me.pid:
                    role = "benchmark"
                elif "pipelines.cli" in " ".join(process.cmdline()):
                    role = "ingest"
                else:
                    role = "browser"
                run.cpu[(process.pid, process.create_time())] = (role, used)
        except psutil.Error:
            continue


# --- the report -------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def report(run: Run, args, ingest_at: float, ingest_s: float, ingest_rc: int, peak_gb: float,
           new_day: str, changed: int) -> int:
    views = run.views
    errors = [v for v in views if v.error]
    print()
    print(f"{args.patients:,} patients, {args.sessions} sessions (arriving over {args.ramp_up:.0f} s, "
          f"{args.think:.0f} s mean pause between pages), {args.seconds:.0f} s; "
          f"ingest of {new_day} ({changed:,} patients' infusion and PHQ-9) started at {ingest_at:.0f} s, "
          f"took {ingest_s:.1f} s (exit {ingest_rc})")
    print()
    print(f"{'page':<16} {'views':>6} {'errors':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7}   before/after ingest")
    groups = [(name, [v for v in views if v.page == name]) for name in PAGES]
    groups += [("all pages", views), ("  by address", [v for v in views if v.how == "address"]),
               ("  by link", [v for v in views if v.how == "link"])]
    for label, chosen in groups:
        timed = [v.seconds for v in chosen if v.seconds is not None and not v.error]
        before = sum(v.version == "before" for v in chosen)
        after = sum(v.version == "after" for v in chosen)
        if timed:
            print(f"{label:<16} {len(chosen):>6} {sum(bool(v.error) for v in chosen):>6} "
                  f"{statistics.median(timed):7.2f} {percentile(timed, 95):7.2f} {max(timed):7.2f}   {before}/{after}")
        else:
            print(f"{label:<16} {len(chosen):>6} {sum(bool(v.error) for v in chosen):>6} {'-':>7} {'-':>7} {'-':>7}")
    print()
    print(f"page views         {len(views):6d}  ({len(views) / args.seconds * 60:.0f} per minute)")
    print(f"errors             {len(errors):6d}  (target 0: {'met' if not errors else 'NOT met'})")
    print(f"ingest             {ingest_s:6.1f} s  (exit {ingest_rc}; the served database swapped while pages loaded)")
    print(f"server peak memory {peak_gb:6.2f} GB (VmHWM of the streamlit process)")
    roles = {}
    for role, used in run.cpu.values():
        roles[role] = roles.get(role, 0.0) + used
    print("CPU seconds        " + ", ".join(f"{role} {roles.get(role, 0):.0f}" for role in
                                           ("server", "browser", "ingest", "benchmark"))
          + f"  ({os.cpu_count()} cores x {args.seconds:.0f} s = {os.cpu_count() * args.seconds:.0f})")
    if run.load_average:
        print(f"load average       {statistics.mean(run.load_average):6.1f}  (1-minute, mean over the run; max "
              f"{max(run.load_average):.1f}; {os.cpu_count()} cores)")
    return 1 if errors or ingest_rc else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--sessions", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--ingest-after", type=float, default=30, help="seconds into the load (default 30)")
    parser.add_argument("--ramp-up", type=float, default=30,
                        help="the sessions start one after another over this many seconds (default 30)")
    parser.add_argument("--think", type=float, default=5,
                        help="mean pause between a session's pages, uniform from 0 to twice this (default 5 s)")
    parser.add_argument("--timeout", type=float, default=180, help="a page not drawn in this many seconds is an error")
    parser.add_argument("--new-day-patients", type=int, default=2000,
                        help="patients given an infusion on the next day (default 2000)")
    args = parser.parse_args()
    if CHROMIUM is None:
        raise SystemExit("no Chromium (apt-get install chromium)")

    work = Path(args.workdir)
    source = clinic_database(args.patients, args.seed, work)
    # The load test changes the database it serves: it works on a copy, not the benchmarks' one.
    db, export = fresh_copy(source, work, f"load-{args.patients}-{args.seed}")
    new_day, changed = next_day_export(work / f"clinic-{args.patients}-{args.seed}", export, args.new_day_patients)

    con = duckdb.connect(str(db), read_only=True)
    try:
        others = [p for (p,) in con.execute("SELECT patient_id FROM patients ORDER BY hash(patient_id || 'load') "
                                            "LIMIT ?", [PATIENTS_SAMPLED]).fetchall()]
    finally:
        con.close()
    rng = random.Random(args.seed)
    patients = sorted(set(rng.sample(changed, min(len(changed), PATIENTS_SAMPLED // 2)))
                      | set(others[:PATIENTS_SAMPLED // 2]))

    print("key figures before the ingest ...", flush=True)
    clock = time.perf_counter()
    run = Run("", patients)
    run.versions["before"] = figures(db, patients)
    # Figures after the ingest, to judge pages loaded after it: from a copy of the database with
    # the next day loaded (the same files into the same data give the same rows and counts).
    print("key figures after the ingest (on a copy) ...", flush=True)
    after = work / f"load-after-{args.patients}-{args.seed}.duckdb"
    for leftover in work.glob(f"{after.name}*"):
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    shutil.copyfile(db, after)
    subprocess.run([sys.executable, "-m", "pipelines.cli", "ingest", str(export), "--db", str(after), "--quiet"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    run.versions["after"] = figures(after, patients)
    after.unlink()
    for name in ("worklist", "clinic", "run"):
        if getattr(run.versions["after"], name) == getattr(run.versions["before"], name):
            print(f"  note: the next day does not change the {name} figures", flush=True)
    print(f"  {time.perf_counter() - clock:.1f} s", flush=True)

    server, url = start_server(db, work)
    run.url = url
    try:
        print(f"{args.sessions} sessions for {args.seconds:.0f} s against {url} ...", flush=True)
        ingest_at, ingest_s, ingest_rc, peak_gb = asyncio.run(load(
            run, db, export, work, args.sessions, args.seconds, args.ingest_after, args.timeout, server.pid,
            args.ramp_up, args.think))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    code = report(run, args, ingest_at, ingest_s, ingest_rc, peak_gb, new_day, len(changed))
    sys.exit(code)


if __name__ == "__main__":
    main()
