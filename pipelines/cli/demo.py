"""`outcomes demo`: the demonstration database, with the sample's dates moved so it ends yesterday.

Why: the committed sample ends on a fixed day. Opened weeks later, every sample patient looks
stopped, the worklist is empty of anyone in treatment and every page warns that the data is
old. The demo copies the sample's CSV exports with every date moved forward by the same
whole number of days (so every interval between two events stays exactly as it was), loads
the copies through the ordinary ingest, and records the move in the table `demo_shift`, from
which every page says "Demo data: dates moved forward by N days".

It never touches a clinic's own data: a database without `demo_shift` is left as it is. A
demo database is rebuilt only when its dates no longer end yesterday (a new day), so
`make run` is quick on the same day. The committed files are never changed.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from ..analytics.freshness import DEMO_TABLE, clinic_today
from ..formats import normalise_header
from ..ingest import ingest
from ..settings import load_settings

# The date and date-time columns of the CSV exports, by normalised header name.
DATE_COLUMNS = ("intake_date", "discharge_date", "started_at", "administered_at", "planned_at")
# Columns whose latest value is where the sample "ends" (the last infusion or score; not the
# bookings, which are after it: moved with the rest, they fall on today and the days after).
EVENT_COLUMNS = ("started_at", "administered_at")


def _date_of(text: str) -> dt.date | None:
    """The calendar day a cell starts with (`2026-10-30` or `2026-10-30T14:00:00+00:00`), or None."""
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    return (rows[0], rows[1:]) if rows else ([], [])


def sample_end(folder: Path) -> dt.date:
    """The latest day of any infusion or score in the folder's CSV exports."""
    latest = None
    for path in sorted(folder.glob("*.csv")):
        header, rows = _read(path)
        columns = [i for i, name in enumerate(header) if normalise_header(name) in EVENT_COLUMNS]
        for row in rows:
            for i in columns:
                day = _date_of(row[i]) if i < len(row) else None
                if day and (latest is None or day > latest):
                    latest = day
    if latest is None:
        raise ValueError(f"{folder}: no dated infusion or score in its CSV files")
    return latest


def shift_cell(text: str, days: int, timezone: str) -> str:
    """`text` with its leading date moved `days` days, keeping the clock time; a cell that does
    not start with a date (blank, or deliberately wrong) is unchanged.

    A time with a UTC offset is first written as clinic local time (`timezone`), as the ingest
    would store it: moving "17:30+00:00" by 37 days across a change of daylight saving time
    would otherwise land an hour off the local times around it, and intervals must stay exact
    on the clinic's clock."""
    day = _date_of(text)
    if day is None:
        return text
    stripped = text.strip()
    if len(stripped) > 19 and ("+" in stripped[19:] or "-" in stripped[19:] or stripped.endswith("Z")):
        try:
            moment = dt.datetime.fromisoformat(stripped)
        except ValueError:
            return text
        local = moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
        return (local + dt.timedelta(days=days)).isoformat()
    return (day + dt.timedelta(days=days)).isoformat() + stripped[10:]


def shift_exports(source: Path, out: Path, days: int, timezone: str) -> list[Path]:
    """Copy the CSV exports of `source` to `out` with every date moved forward by `days` (`shift_cell`)."""
    written = []
    for path in sorted(source.glob("*.csv")):
        header, rows = _read(path)
        columns = [i for i, name in enumerate(header) if normalise_header(name) in DATE_COLUMNS]
        for row in rows:
            for i in columns:
                if i < len(row):
                    row[i] = shift_cell(row[i], days, timezone)
        target = out / path.name
        with open(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        written.append(target)
    return written


def demo_state(db: Path) -> tuple[bool, dt.date | None]:
    """(is a demo database, the day its data was moved to end on); (False, None) for a clinic's own data."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        present = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [DEMO_TABLE]).fetchone()[0]
        if not present:
            return False, None
        row = con.execute(f"SELECT ends_on FROM {DEMO_TABLE} ORDER BY shifted_at DESC LIMIT 1").fetchone()
        return True, (row[0] if row else None)
    finally:
        con.close()


def build_demo(db: Path, sample: Path, settings, ends_on: dt.date) -> int:
    """Build the demo database at `db` (replacing it atomically) from `sample` moved to end on
    `ends_on`; returns the days moved."""
    days = (ends_on - sample_end(sample)).days
    db.parent.mkdir(parents=True, exist_ok=True)
    fresh = db.with_name(db.name + ".demo-new")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)
    # The run's clock: now, or the start of the day after `ends_on` at the clinic if that is
    # later (a pinned $OUTCOMES_TODAY), so no moved row counts as a future date.
    start_of_today = dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time(), ZoneInfo(settings.clinic_timezone))
    clock = max(dt.datetime.now(dt.timezone.utc), start_of_today).astimezone(dt.timezone.utc).replace(tzinfo=None)
    with tempfile.TemporaryDirectory(prefix="demo-exports-") as folder:
        ingest(fresh, shift_exports(sample, Path(folder), days, settings.clinic_timezone), settings, now=clock)
    con = duckdb.connect(str(fresh))
    try:
        con.execute(f"CREATE TABLE {DEMO_TABLE} (days INTEGER, sample_end DATE, ends_on DATE, shifted_at TIMESTAMP)")
        con.execute(f"INSERT INTO {DEMO_TABLE} VALUES (?, ?, ?, now()::TIMESTAMP)", [days, sample_end(sample), ends_on])
    finally:
        con.close()
    Path(f"{db}.wal").unlink(missing_ok=True)
    os.replace(fresh, db)
    return days


def cmd_demo(args) -> int:
    """Make or refresh the demo database; leave any other database alone."""
    settings = load_settings(args.config)
    db, sample = Path(args.db), Path(args.sample)
    yesterday = clinic_today(settings) - dt.timedelta(days=1)
    if db.exists():
        is_demo, ends_on = demo_state(db)
        if not is_demo:
            print(f"{db} holds a clinic's own data, not the demo: left as it is.")
            return 0
        if ends_on == yesterday:
            print(f"{db}: the demo already ends yesterday ({yesterday}).")
            return 0
    try:
        days = build_demo(db, sample, settings, yesterday)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{db}: demo data from {sample}, dates moved forward by {days} days so it ends yesterday ({yesterday}).")
    return 0
