"""`outcomes demo` (pipelines/cli/demo.py) and how old the data is (analytics/freshness.py):
the sample's dates move so it ends yesterday with every interval exact, a demo is rebuilt only
on a new day, a clinic's own database is never touched, and the staleness rules at their edges."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from conftest import SAMPLE, Clinic, session
from pipelines.analytics.freshness import clinic_today, data_freshness, demo_shift_days
from pipelines.cli import main
from pipelines.cli.demo import sample_end, shift_cell
from pipelines.settings import Settings

SETTINGS = Settings()  # America/New_York


def test_clinic_today_is_the_clinic_calendar_day(monkeypatch):
    monkeypatch.delenv("OUTCOMES_TODAY", raising=False)
    late = dt.datetime(2026, 12, 8, 3, 30, tzinfo=dt.timezone.utc)  # 22:30 on 7 Dec in New York (EST, UTC-5)
    assert clinic_today(SETTINGS, now=late) == dt.date(2026, 12, 7)
    assert clinic_today(Settings(clinic_timezone="Australia/Sydney"), now=late) == dt.date(2026, 12, 8)
    monkeypatch.setenv("OUTCOMES_TODAY", "2026-03-02")
    assert clinic_today(SETTINGS) == dt.date(2026, 3, 2)


def test_a_cell_keeps_its_clock_time_and_a_bad_cell_is_left_alone():
    tz = "America/New_York"
    assert shift_cell("2026-02-27", 2, tz) == "2026-03-01"  # 2026 is not a leap year
    assert shift_cell("2026-10-30T14:30:00", 37, tz) == "2026-12-06T14:30:00"
    # 17:30 UTC on 23 Dec is 12:30 in New York (EST, UTC-5); 37 days on it is still 12:30 local.
    assert shift_cell("2024-12-23T17:30:00+00:00", 37, tz) == "2025-01-29T12:30:00"
    # 16:00 UTC on 20 Oct is 12:00 (EDT, UTC-4); moved past the change to EST it stays 12:00 local.
    assert shift_cell("2026-10-20T16:00:00Z", 30, tz) == "2026-11-19T12:00:00"
    assert shift_cell("", 5, tz) == "" and shift_cell("next tuesday", 5, tz) == "next tuesday"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo built from the committed sample, as of 7 December 2026 (so it ends 6 December)."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "outcomes.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTCOMES_TODAY", "2026-12-07")
        assert main(["demo", "--db", str(db)]) == 0
    return db


def test_the_demo_ends_yesterday_with_every_interval_exact(demo, sample_database):
    # The committed sample's last infusion or score is on 30 Oct 2026: 37 days before 6 Dec.
    assert sample_end(SAMPLE) == dt.date(2026, 10, 30)
    shifted = duckdb.connect(str(demo), read_only=True)
    plain = duckdb.connect(str(sample_database), read_only=True)
    try:
        assert demo_shift_days(shifted) == 37 and demo_shift_days(plain) is None
        gaps = ("SELECT session_id, started_at - lag(started_at) OVER (PARTITION BY patient_id ORDER BY started_at, "
                "session_id) AS gap, started_at::TIME AS at FROM sessions ORDER BY session_id")
        assert shifted.execute(gaps).fetchall() == plain.execute(gaps).fetchall()
        moved = ("SELECT count(*) FROM sessions AS s JOIN plain.sessions AS p USING (session_id) "
                 "WHERE s.started_at::DATE - p.started_at::DATE <> 37")
        shifted.execute(f"ATTACH '{sample_database}' AS plain (READ_ONLY)")
        assert shifted.execute(moved).fetchone() == (0,)
        assert shifted.execute("SELECT max(started_at)::DATE FROM sessions").fetchone() == (dt.date(2026, 12, 6),)
        counts = "SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM assessments), (SELECT count(*) FROM quarantine)"
        assert shifted.execute(counts).fetchone() == shifted.execute(counts.replace("FROM ", "FROM plain.")).fetchone()
    finally:
        shifted.close()
        plain.close()


def test_the_demo_is_rebuilt_only_on_a_new_day(demo, monkeypatch, capsys):
    monkeypatch.setenv("OUTCOMES_TODAY", "2026-12-07")
    before = demo.stat().st_mtime_ns
    assert main(["demo", "--db", str(demo)]) == 0
    assert demo.stat().st_mtime_ns == before and "already ends yesterday" in capsys.readouterr().out
    monkeypatch.setenv("OUTCOMES_TODAY", "2026-12-09")
    assert main(["demo", "--db", str(demo)]) == 0
    con = duckdb.connect(str(demo), read_only=True)
    try:
        assert demo_shift_days(con) == 39
        assert con.execute("SELECT max(started_at)::DATE FROM sessions").fetchone() == (dt.date(2026, 12, 8),)
    finally:
        con.close()
    monkeypatch.setenv("OUTCOMES_TODAY", "2026-12-07")
    assert main(["demo", "--db", str(demo)]) == 0  # back as the module's other tests expect


def test_a_clinic_database_is_never_touched(clinic, capsys):
    clinic.sessions = [session("S1", "2026-05-20T09:00:00")]
    clinic.load()
    before = clinic.db.read_bytes()
    assert main(["demo", "--db", str(clinic.db)]) == 0
    assert clinic.db.read_bytes() == before
    assert "clinic's own data" in capsys.readouterr().out


def test_stale_infusions_and_imports_at_the_edges(clinic):
    # Last infusion 20 May; the clinic's import ran on 1 June 2026 at 12:00 UTC (08:00 in New York).
    clinic.sessions = [session("S1", "2026-05-20T09:00:00")]
    clinic.load()
    con = clinic.connect()
    try:
        fresh = data_freshness(con, SETTINGS, dt.date(2026, 6, 3))  # infusion 14 days old, import 2 days old
        assert (fresh.infusion_days, fresh.ingest_days, fresh.stale) == (14, 2, False)
        old = data_freshness(con, SETTINGS, dt.date(2026, 6, 4))  # 15 and 3 days: both too old
        assert (old.infusion_days, old.ingest_days, old.stale_infusion, old.stale_ingest) == (15, 3, True, True)
        assert old.latest_infusion == dt.date(2026, 5, 20) and old.demo_days is None
    finally:
        con.close()
