"""Large-file benchmark: does a 1 GB export ingest in bounded memory?

A clinic network's full history can be a single multi-gigabyte assessments export; ingest
must stream it (DuckDB parses it in chunks and spills to disk past $OUTCOMES_INGEST_MEMORY),
never hold it whole in RAM. For each --size-mb this script

  1. writes an assessments CSV of about that size, streaming, by repeating the committed
     sample's rows with fresh ids (copy k of patient 000003 is `00012-000003`), plus the
     matching patients and sessions files, so every reference resolves and the rows validate
     exactly as the sample's do;
  2. runs `outcomes ingest` on the three files in a child process into a new database;
  3. reports the child's peak resident memory (getrusage of the child) against the file size.

Targets: peak RSS < 1.5 GB for a 1 GB assessments file, and flat in file size (peak at the
largest size at most 1.25x the peak at the smallest). Figures are in docs/ingest.md.
Usage: python bench/large_csv.py [--size-mb MB [MB ...]] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
PEAK_TARGET_GB = 1.5  # peak RSS, for a 1 GB file and so for any size if memory is flat
FLAT_TARGET = 1.25  # peak at the largest size / peak at the smallest
# The id columns of each export, which get the copy's prefix.
ID_COLUMNS = {"patients": ("patient_id",), "sessions": ("session_id", "patient_id"),
              "assessments": ("assessment_id", "patient_id", "session_id")}
MARK = "\x01"


def templates(name: str) -> tuple[str, list[str]]:
    """The sample file's header line and, per data row, a format string taking the copy
    prefix `{k}` in front of every non-blank id (written once with the csv module, so quoting
    is exactly the sample's)."""
    with open(SAMPLE / f"{name}.csv", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        ids = [header.index(c) for c in ID_COLUMNS[name]]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in reader:
            writer.writerow([MARK + cell if i in ids and cell else cell for i, cell in enumerate(row)])
    header_line = ",".join(header) + "\n"
    body = out.getvalue().replace("{", "{{").replace("}", "}}").replace(MARK, "{k}")
    return header_line, body.splitlines(keepends=True)


def generate(folder: Path, size_mb: float) -> dict[str, int]:
    """Write patients/sessions/assessments.csv into `folder`, copies of the sample until the
    assessments file reaches `size_mb`; returns the data rows of each file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = size_mb * 1e6
    forms = {name: templates(name) for name in ("patients", "sessions", "assessments")}
    handles = {name: open(folder / f"{name}.csv", "w", encoding="utf-8", newline="", buffering=1 << 20)
               for name in forms}
    rows = dict.fromkeys(forms, 0)
    try:
        for name, (header, _) in forms.items():
            handles[name].write(header)
        written, copy = 0, 0
        while written < target:
            prefix = f"{copy:05d}-"
            for name, (_, lines) in forms.items():
                chunk = "".join(line.format(k=prefix) for line in lines)
                handles[name].write(chunk)
                rows[name] += len(lines)
                if name == "assessments":
                    written += len(chunk.encode("utf-8"))
            copy += 1
    finally:
        for handle in handles.values():
            handle.close()
    return rows


def ingest_peak(files: list[Path], db: Path) -> tuple[float, float, int]:
    """Seconds, peak RSS in bytes and exit code of `outcomes ingest` in a child process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ingest", *map(str, files),
                                "--db", str(db), "--quiet"], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, nargs="+", default=[1024.0],
                        help="assessments file size(s) in MB (default 1024); give several to check flatness")
    parser.add_argument("--workdir", default=".bench/large")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and databases")
    args = parser.parse_args()

    memory = os.environ.get("OUTCOMES_INGEST_MEMORY", "1GB (default)")
    print(f"OUTCOMES_INGEST_MEMORY={memory}; peak RSS is the ingest process's, Python included")
    print(f"{'size':>9} {'rows (p/s/a)':>30} {'input total':>12} {'seconds':>8} {'peak RSS':>9} {'RSS/file':>9}")
    peaks = []
    for size_mb in sorted(args.size_mb):
        folder = Path(args.workdir) / f"{size_mb:g}MB"
        shutil.rmtree(folder, ignore_errors=True)
        rows = generate(folder, size_mb)
        files = [folder / f"{name}.csv" for name in ("patients", "sessions", "assessments")]
        assessments_bytes, total_bytes = files[2].stat().st_size, sum(f.stat().st_size for f in files)
        seconds, peak, code = ingest_peak(files, folder / "outcomes.duckdb")
        if code != 0:
            raise SystemExit(f"ingest of {folder} failed with exit code {code}")
        peaks.append((assessments_bytes, peak))
        print(f"{assessments_bytes / 1e6:7.0f}MB {rows['patients']:>9,}/{rows['sessions']:>9,}/"
              f"{rows['assessments']:>9,} {total_bytes / 1e6:10.0f}MB {seconds:8.1f} {peak / 1e9:7.2f}GB "
              f"{peak / assessments_bytes:9.2f}", flush=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    largest_bytes, largest_peak = peaks[-1]
    allowed = PEAK_TARGET_GB * 1e9
    print(f"peak RSS {largest_peak / 1e9:.2f} GB for a {largest_bytes / 1e9:.2f} GB file "
          f"(target < {allowed / 1e9:.2f} GB: {'met' if largest_peak < allowed else 'NOT met'})")
    if len(peaks) > 1:
        growth = largest_peak / peaks[0][1]
        print(f"peak growth {peaks[0][0] / 1e6:.0f} MB -> {largest_bytes / 1e6:.0f} MB: x{growth:.2f} "
              f"(target <= {FLAT_TARGET}: {'met' if growth <= FLAT_TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
