"""Start the publish of saved check-ins into the outcomes database, in the background.

The dashboard serves the database read-only and an ingest replaces it by copy-and-swap
(pipelines/publish.py), so the dashboard cannot add a check-in to it itself. After a check-in
is saved it starts `outcomes ingest --store-only` in a process of its own: the ordinary ingest
with no files, which takes the ingest lock (so it waits behind a running ingest), loads every
saved check-in through the same validation as every export, swaps the new file in and marks the
check-ins published. The dashboard picks the new file up on its next page load.

The process is detached (its own session), so the patient's page does not wait for it and a
restart of the dashboard does not kill a publish half-way (a killed one changes nothing: the
next run loads the same check-ins). Its output goes to `<db>.checkin-publish.log`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def log_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.checkin-publish.log")


def start_publish(db_path: str | Path) -> subprocess.Popen:
    """Start `outcomes ingest --store-only --db <db_path>` in the background and return at once.
    The settings file comes from the environment ($OUTCOMES_CONFIG), as the dashboard's does."""
    log = open(log_path(db_path), "ab")
    try:
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "ingest", "--store-only", "--quiet", "--db", str(Path(db_path).resolve())],
            cwd=REPO, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    finally:
        log.close()  # the child holds its own copy
