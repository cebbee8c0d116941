"""Today, and how old the data is: the day a clinician's lists are for, and whether to warn.

Why: a worklist "as of" the last infusion in the data looks current even when the export is
five weeks old. Lists are for today in the clinic's time zone (`clinic_today`), and every page
warns when the newest infusion or the latest import is older than `settings.treatment`'s
`stale_infusion_days` / `stale_ingest_days` (`data_freshness`). A demonstration database
(`outcomes demo`) records how far its dates were moved, so pages can say so.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .. import sql

# Pins "today" (YYYY-MM-DD) for training and tests; unset, today is the clinic's calendar day.
TODAY_ENV = "OUTCOMES_TODAY"
# The table `outcomes demo` writes (pipelines/cli/demo.py): how the sample's dates were moved.
DEMO_TABLE = "demo_shift"


def clinic_today(settings, now: dt.datetime | None = None) -> dt.date:
    """The calendar day it is now at the clinic (`settings.clinic_timezone`), or $OUTCOMES_TODAY.

    Parameters
    ----------
    settings : Settings
        `clinic_timezone` (an IANA name, e.g. "America/New_York").
    now : datetime.datetime, optional
        An aware instant to use instead of the clock (tests).

    Returns
    -------
    datetime.date
        At 23:30 UTC on 7 December a New York clinic is still on 7 December, a Sydney clinic on
        8 December.
    """
    pinned = os.environ.get(TODAY_ENV, "").strip()
    if pinned and now is None:
        return dt.date.fromisoformat(pinned)
    now = now if now is not None else dt.datetime.now(dt.timezone.utc)
    return now.astimezone(ZoneInfo(settings.clinic_timezone)).date()


@dataclass(frozen=True)
class Freshness:
    """How old the data is on `today` (all dates on the clinic's calendar).

    `latest_infusion`/`latest_ingest`: the newest infusion's day and the day the latest import
    finished (None without any); `infusion_days`/`ingest_days`: days before `today`;
    `stale_infusion`/`stale_ingest`: older than the settings allow; `demo_days`: how many days
    `outcomes demo` moved the sample's dates forward (None: not a demonstration database).
    """

    today: dt.date
    latest_infusion: dt.date | None
    latest_ingest: dt.date | None
    infusion_days: int | None
    ingest_days: int | None
    stale_infusion: bool
    stale_ingest: bool
    demo_days: int | None

    @property
    def stale(self) -> bool:
        return self.stale_infusion or self.stale_ingest


def data_freshness(con, settings, today: dt.date) -> Freshness:
    """Whether the data is too old to trust a list made from it today.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        `settings.treatment.stale_infusion_days` (14) and `stale_ingest_days` (2);
        `clinic_timezone` (the import's UTC end becomes a clinic day).
    today : datetime.date
        The day the pages are for (`clinic_today`).

    Returns
    -------
    Freshness

    Notes
    -----
    Stale when the newest infusion is more than `stale_infusion_days` days before `today`, or
    the latest completed import more than `stale_ingest_days` days before it (calendar days:
    an import yesterday is 1 day old; 14 days old is still fresh, 15 is stale). A clinic that
    infuses most weekdays and exports daily never sees the warning; one whose export stopped
    does, on every page.
    """
    latest_infusion_at, latest_ingest_utc = con.execute(sql.read("analytics/freshness/freshness")).fetchone()
    latest_infusion = latest_infusion_at.date() if latest_infusion_at is not None else None
    latest_ingest = (latest_ingest_utc.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(settings.clinic_timezone))
                     .date() if latest_ingest_utc is not None else None)
    infusion_days = (today - latest_infusion).days if latest_infusion else None
    ingest_days = (today - latest_ingest).days if latest_ingest else None
    limits = settings.treatment
    return Freshness(
        today=today, latest_infusion=latest_infusion, latest_ingest=latest_ingest,
        infusion_days=infusion_days, ingest_days=ingest_days,
        stale_infusion=infusion_days is not None and infusion_days > limits.stale_infusion_days,
        stale_ingest=ingest_days is not None and ingest_days > limits.stale_ingest_days,
        demo_days=demo_shift_days(con),
    )


def demo_shift_days(con) -> int | None:
    """Days `outcomes demo` moved the sample's dates forward, or None for a clinic's own data."""
    [(present,)] = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                               "AND database_name = current_database()", [DEMO_TABLE]).fetchall()
    if not present:
        return None
    row = con.execute(f"SELECT days FROM {DEMO_TABLE} ORDER BY shifted_at DESC LIMIT 1").fetchone()
    return row[0] if row else None
