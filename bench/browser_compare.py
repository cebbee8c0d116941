"""Browser benchmark, before and after a change, interleaved: for a loaded machine.

`bench/browser.py` times one version of the dashboard; two of its runs back to back see different
loads when other work shares the machine (a 2-core machine at a load average of 15 gives
run-to-run spreads of 2x). This script serves two checkouts at once (`--before DIR`, e.g. a
`git archive` of main unpacked somewhere, and this repository), each on its own copy of the
same benchmark database, and alternates every visit between them (A B, then B A), so both see
the same load. For each scenario it prints the medians, the median of the paired ratios
(after / before) and the CPU seconds each visit cost the browser (Chromium, all its processes)
and the server: CPU seconds move much less with the load than wall-clock seconds do.

Scenarios (as bench/browser.py times them): `new:<page>` a new session, `in:<page>` the page by
the sidebar's link from another page, `change:Patient` the Patient page choosing another patient.

Usage: python bench/browser_compare.py --before DIR [--patients N] [--workdir DIR] [--runs R]
                                       [--scenarios "new:Clinic outcomes,in:Clinic outcomes,..."]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[0] = str(REPO)

import duckdb  # noqa: E402
import psutil  # noqa: E402

from bench.browser import Browser  # noqa: E402
from bench.clinic import clinic_database  # noqa: E402
from bench.load import CHROMIUM, PAGES, free_port  # noqa: E402

SCENARIOS = "new:Clinic outcomes,in:Clinic outcomes,new:Patient,change:Patient"


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its descendants, counting those already ended (their time is
    in their parent's `children_*` once reaped: a closed tab's renderer)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def serve(tree: Path, source: Path, work: Path, name: str) -> tuple[subprocess.Popen, str]:
    """`streamlit run` of `tree`'s dashboard on a copy of `source` (the checkout's own code:
    PYTHONPATH and the working folder are the tree)."""
    db = work / f"compare-{name}.duckdb"
    shutil.copyfile(source, db)
    port = free_port()
    env = {**os.environ, "OUTCOMES_DB": str(db), "OUTCOMES_AUDIT_LOG": str(work / f"compare-{name}-audit.log"),
           "XDG_CONFIG_HOME": str(work / f"compare-{name}-config"), "PYTHONPATH": str(tree)}
    env.pop("OUTCOMES_CONFIG", None)
    log = open(work / f"compare-{name}-streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(tree / "dashboard" / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"the {name} server did not start: see {log.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a checkout of the version to compare with")
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenarios", default=SCENARIOS)
    args = parser.parse_args()
    if CHROMIUM is None:
        raise SystemExit("no Chromium (apt-get install chromium)")
    work = Path(args.workdir).resolve()
    source = clinic_database(args.patients, args.seed, work)
    trees = {"before": Path(args.before).resolve(), "after": REPO}
    scenarios = [tuple(s.split(":", 1)) for s in args.scenarios.split(",")]
    con = duckdb.connect(str(source), read_only=True)
    try:
        patients = [p for (p,) in con.execute(
            "SELECT patient_id FROM sessions GROUP BY patient_id HAVING count(*) >= 3 "
            "ORDER BY hash(patient_id || 'compare') LIMIT ?", [8 * args.runs * len(scenarios) + 16]).fetchall()]
    finally:
        con.close()

    servers = {name: serve(tree, source, work, name) for name, tree in trees.items()}
    browser = Browser("", patients, 300)
    me = os.getpid()

    def browser_cpu() -> float:  # this script's descendants but the servers: Playwright and Chromium
        return cpu_seconds(me) - sum(cpu_seconds(process.pid) for process, _ in servers.values())

    times = {(s, n): [] for s in scenarios for n in trees}
    cpu = {(s, n): [] for s in scenarios for n in trees}
    loads = [os.getloadavg()[0]]
    try:
        for name in trees:  # warm-up: each server's database version opened, every page once
            browser.url = servers[name][1]
            for page in PAGES:
                browser.new_session(page)
        for run in range(args.runs):
            order = list(trees) if run % 2 == 0 else list(trees)[::-1]
            for scenario in scenarios:
                kind, page = scenario
                for name in order:
                    browser.url = servers[name][1]
                    server = servers[name][0].pid
                    client0, server0 = browser_cpu(), cpu_seconds(server)
                    seconds = (browser.new_session(page) if kind == "new" else
                               browser.in_session(page) if kind == "in" else browser.patient_change())
                    times[(scenario, name)].append(seconds)
                    cpu[(scenario, name)].append((browser_cpu() - client0, cpu_seconds(server) - server0))
            loads.append(os.getloadavg()[0])
            print(f"run {run + 1}: " + "; ".join(
                f"{k}:{p} {times[((k, p), 'before')][-1]:.2f} / {times[((k, p), 'after')][-1]:.2f} s"
                for k, p in scenarios), flush=True)
    finally:
        browser.close()
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)

    print(f"\n{args.patients:,} patients; {args.runs} alternated runs; load average (1 min) "
          f"{statistics.mean(loads):.1f} mean, {max(loads):.1f} max on {os.cpu_count()} cores")
    print(f"{'scenario':<24} {'before':>8} {'after':>8} {'ratio':>6}   CPU s browser (before/after)   server")
    for scenario in scenarios:
        before, after = times[(scenario, "before")], times[(scenario, "after")]
        ratio = statistics.median(a / b for a, b in zip(after, before))
        client = [statistics.median(c for c, _ in cpu[(scenario, n)]) for n in trees]
        server = [statistics.median(s for _, s in cpu[(scenario, n)]) for n in trees]
        print(f"{':'.join(scenario):<24} {statistics.median(before):7.2f}s {statistics.median(after):7.2f}s "
              f"{ratio:6.2f}   {client[0]:5.2f} / {client[1]:5.2f}                  "
              f"{server[0]:5.2f} / {server[1]:5.2f}")


if __name__ == "__main__":
    main()
