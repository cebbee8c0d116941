"""Check-ins saved in the store are one more source of assessments: scored by the same SQL as
a CSV export, loaded once with their source, kept through repeats and full exports; codes
open one check-in, for a limited time (pipelines/store/checkins.py,
pipelines/readers/checkin_store.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import subprocess
import sys
import time

import pytest

from pipelines.ingest import ingest
from pipelines.settings import Settings
from pipelines.store.checkins import (CodeRefused, ScaleAnswers, check_code, new_code, read_answers,
                                      save_checkin)
from pipelines.store.connection import store_path
from conftest import NOW, REPO, assessment

# The check-ins are answered an hour before the tests' clock (NOW is clinic-naive; UTC here).
ANSWERED = dt.datetime(2026, 5, 31, 15, 0, tzinfo=dt.timezone.utc)

# Hand-worked scores (clinical reference, "Scales"; sql/validation/assessments.sql):
PHQ9 = (1, 2, 3, 0, 1, 2, 1, 0, 1)            # 1+2+3+0+1+2+1+0+1 = 11, item 9 = 1: positive
PHQ9_TWO_SKIPPED = (1, 1, 1, 1, 1, 1, 2, None, None)  # 8 over 7 items: 8/7 x 9 = 10.29 -> 10, prorated
GAD7 = (2, 2, 2, 2, 2, 2, 2)                  # 7 x 2 = 14
PAIN = (7,)                                    # 7
PCL5 = (2,) * 20                               # 20 x 2 = 40


def open_checkin(clinic, patient_id="001") -> str:
    code, _ = new_code(clinic.db, patient_id, "dr@example.org", minutes=30, now=ANSWERED - dt.timedelta(minutes=5))
    return code


def scores(clinic, where: str = "source_file = 'check-in'"):
    return clinic.rows("SELECT assessment_id, instrument, total, prorated, item9_positive, source_file, source_row, "
                       f"items FROM assessments WHERE {where} ORDER BY source_row")


def test_a_checkin_is_scored_as_the_same_answers_in_a_csv_export(clinic):
    clinic.assessments = [
        assessment("csv-phq", "2026-05-01 09:00", items=PHQ9),
        assessment("csv-phq-skip", "2026-05-02 09:00", items=PHQ9_TWO_SKIPPED),
        assessment("csv-gad", "2026-05-01 09:00", "GAD-7", items=GAD7),
        assessment("csv-pain", "2026-05-01 09:00", "PAIN-NRS", items=PAIN),
        assessment("csv-pcl", "2026-05-01 09:00", "PCL-5", items=PCL5),
    ]
    clinic.load()
    ids = save_checkin(clinic.db, open_checkin(clinic), [
        ScaleAnswers("PHQ-9", PHQ9 + (2,)),  # item 10 (difficulty) recorded, not summed
        ScaleAnswers("GAD-7", GAD7), ScaleAnswers("PAIN-NRS", PAIN), ScaleAnswers("PCL-5", PCL5)], now=ANSWERED)
    ids += save_checkin(clinic.db, open_checkin(clinic), [ScaleAnswers("PHQ-9", PHQ9_TWO_SKIPPED, skipped=(8, 9))],
                        now=ANSWERED + dt.timedelta(minutes=1))
    clinic.load()
    got = {(r.instrument, r.prorated): r for r in scores(clinic)}
    csv = {(r.instrument, r.prorated): r for r in scores(clinic, "source_file <> 'check-in'")}
    assert {key: r.total for key, r in got.items()} == {
        ("PHQ-9", False): 11, ("PHQ-9", True): 10, ("GAD-7", False): 14, ("PAIN-NRS", False): 7, ("PCL-5", False): 40}
    assert {key: r.total for key, r in got.items()} == {key: r.total for key, r in csv.items()}
    assert got[("PHQ-9", False)].item9_positive is True
    assert got[("PHQ-9", True)].item9_positive is None  # item 9 skipped: unknown, never negative
    assert got[("PHQ-9", False)]["items"] == [*PHQ9, 2]
    assert [r.source_row for r in scores(clinic)] == ids
    assert {r.assessment_id for r in scores(clinic)} == {f"check-in-{i}" for i in ids}
    # Clinic local time: 15:00 UTC on 31 May is 11:00 in New York (EDT, the settings' default).
    assert clinic.one("SELECT administered_at FROM assessments WHERE source_row = ? AND source_file = 'check-in'",
                      [ids[0]]).administered_at == dt.datetime(2026, 5, 31, 11, 0)


def test_every_ingest_reads_the_checkins_again_as_unchanged_and_marks_them_published(clinic):
    clinic.load()
    [row_id] = save_checkin(clinic.db, open_checkin(clinic), [ScaleAnswers("GAD-7", GAD7)], now=ANSWERED)
    assert [a.published_run for a in read_answers(clinic.db)] == [None]
    first = ingest(clinic.db, [], Settings(), now=NOW)  # `outcomes ingest --store-only`
    assert [(f.path, f.rows_in, f.inserted) for f in first.files] == [("check-in", 1, 1)]
    assert [a.published_run for a in read_answers(clinic.db)] == [first.run_id]
    second = clinic.load()
    checkin_file = next(f for f in second.files if f.path == "check-in")
    assert (checkin_file.inserted, checkin_file.unchanged) == (0, 1)
    assert [a.published_run for a in read_answers(clinic.db)] == [first.run_id]  # the first run that loaded it
    assert clinic.one("SELECT count(*) AS n FROM assessments WHERE source_file = 'check-in'").n == 1
    assert clinic.one("SELECT source_row FROM assessments WHERE source_file = 'check-in'").source_row == row_id


def test_a_full_export_of_assessments_keeps_the_checkins(clinic):
    clinic.assessments = [assessment("csv-gad", "2026-05-01 09:00", "GAD-7", items=GAD7)]
    clinic.load()
    save_checkin(clinic.db, open_checkin(clinic), [ScaleAnswers("GAD-7", GAD7)], now=ANSWERED)
    run = ingest(clinic.db, clinic.write(), Settings(), now=NOW, full_export=True)
    assert run.deleted == 0
    assert clinic.one("SELECT count(*) AS n FROM assessments WHERE source_file = 'check-in'").n == 1


def test_a_checkin_of_a_patient_not_loaded_is_quarantined_once(clinic):
    clinic.load()
    save_checkin(clinic.db, open_checkin(clinic, patient_id="999"), [ScaleAnswers("GAD-7", GAD7)], now=ANSWERED)
    clinic.load()
    clinic.load()
    [row] = clinic.rows("SELECT source_file, rules FROM quarantine WHERE source_file = 'check-in'")
    assert row.rules == ["unknown_patient"]


def test_a_code_opens_one_checkin_for_its_minutes_only(clinic):
    clinic.load()
    code, expires = new_code(clinic.db, "001", "dr@example.org", minutes=30, now=ANSWERED)
    assert expires == "2026-05-31T15:30:00+00:00"
    assert check_code(clinic.db, code, now=ANSWERED).status == "open"
    assert check_code(clinic.db, code.lower().replace("-", " "), now=ANSWERED).patient_id == "001"  # as typed
    assert check_code(clinic.db, code, now=ANSWERED + dt.timedelta(minutes=30)).status == "expired"
    assert check_code(clinic.db, "AAAA-BBBB", now=ANSWERED).status == "unknown"
    with pytest.raises(CodeRefused):  # expired: nothing saved
        save_checkin(clinic.db, code, [ScaleAnswers("GAD-7", GAD7)], now=ANSWERED + dt.timedelta(minutes=31))
    assert read_answers(clinic.db) == []
    save_checkin(clinic.db, code, [ScaleAnswers("GAD-7", GAD7)], now=ANSWERED)
    assert check_code(clinic.db, code, now=ANSWERED).status == "used"
    with pytest.raises(CodeRefused) as refused:  # a second send of the same form
        save_checkin(clinic.db, code, [ScaleAnswers("GAD-7", GAD7)], now=ANSWERED)
    assert refused.value.check.status == "used"
    assert len(read_answers(clinic.db)) == 1


def test_the_store_keeps_only_a_hash_of_each_code(clinic):
    code = open_checkin(clinic)
    store = store_path(clinic.db)
    files = [store, store.with_name(store.name + "-wal")]  # the write-ahead log holds recent pages
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    assert code.encode() not in raw and code.replace("-", "").encode() not in raw
    con = sqlite3.connect(store)
    assert con.execute("SELECT code_sha256 FROM checkin_codes").fetchall() == [
        (hashlib.sha256(code.replace("-", "").encode()).hexdigest(),)]
    con.close()


def test_outcomes_ingest_store_only_publishes_the_checkins(clinic):
    clinic.load()
    save_checkin(clinic.db, open_checkin(clinic), [ScaleAnswers("PAIN-NRS", PAIN)], now=ANSWERED)
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "ingest", "--store-only", "--quiet",
                           "--db", str(clinic.db)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "check-in" in done.stdout
    assert clinic.one("SELECT total FROM assessments WHERE source_file = 'check-in'").total == 7
    both = subprocess.run([sys.executable, "-m", "pipelines.cli", "ingest", "--store-only", str(clinic.folder),
                           "--db", str(clinic.db)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert both.returncode == 2 and "--store-only" in both.stderr


def test_the_dashboards_background_publish_loads_a_saved_checkin(clinic):
    from pipelines.store.publishing import log_path, start_publish

    clinic.load()
    save_checkin(clinic.db, open_checkin(clinic), [ScaleAnswers("GAD-7", GAD7)], now=ANSWERED)
    assert start_publish(clinic.db).wait(timeout=300) == 0, log_path(clinic.db).read_text()
    assert clinic.one("SELECT total FROM assessments WHERE source_file = 'check-in'").total == 14
    assert [a.published_run is not None for a in read_answers(clinic.db)] == [True]
    again = subprocess.run([sys.executable, "-m", "pipelines.cli", "ingest", "--store-only", "--db", str(clinic.db)],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "no check-ins waiting" in again.stdout


def test_checkin_settings_are_read_and_checked(tmp_path):
    from pipelines.settings import SettingsError, load_settings

    config = tmp_path / "clinic.toml"
    config.write_text('[checkin]\nlink_minutes = 15\ncrisis_line = "Samaritans: call 116 123"\n', encoding="utf-8")
    checkin = load_settings(config).checkin
    assert (checkin.link_minutes, checkin.crisis_line) == (15, "Samaritans: call 116 123")
    assert Settings().checkin.crisis_line == "988 Suicide & Crisis Lifeline: call or text 988"
    for bad in ("link_minutes = 0", "link_minutes = 2000", 'link_minutes = "30"', 'crisis_line = " "'):
        config.write_text(f"[checkin]\n{bad}\n", encoding="utf-8")
        with pytest.raises(SettingsError, match=r"\[checkin\]"):
            load_settings(config)


def test_publishes_queued_behind_a_running_ingest_make_one_run_between_them(clinic):
    """Check-ins saved in a burst each start a publish; they wait for the ingest lock, the first
    loads every check-in, and the others find nothing left and do nothing (no extra swaps)."""
    from pipelines.publish import ingest_lock

    clinic.load()
    runs_before = clinic.one("SELECT count(*) AS n FROM ingest_runs").n
    with ingest_lock(clinic.db):  # an ingest is running
        for _ in range(3):
            save_checkin(clinic.db, open_checkin(clinic), [ScaleAnswers("GAD-7", GAD7)], now=ANSWERED)
        queued = [subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ingest", "--store-only", "--quiet",
                                    "--db", str(clinic.db)], cwd=REPO, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(3)]
        time.sleep(3)
        assert all(p.poll() is None for p in queued), "the publishes must wait for the running ingest"
    outputs = [p.communicate(timeout=300) for p in queued]
    assert [p.returncode for p in queued] == [0, 0, 0], outputs
    assert sum("no check-ins waiting" in out for out, _ in outputs) == 2
    assert clinic.one("SELECT count(*) AS n FROM ingest_runs").n == runs_before + 1
    assert clinic.one("SELECT count(*) AS n FROM assessments WHERE source_file = 'check-in'").n == 3


def test_the_safety_item_is_phq9_item_9_above_0_and_skipped_is_not_positive():
    from pipelines.store.checkins import safety_item_positive

    assert safety_item_positive(ScaleAnswers("PHQ-9", PHQ9))  # item 9 = 1
    assert not safety_item_positive(ScaleAnswers("PHQ-9", PHQ9[:8] + (0, 3)))  # item 10 is not item 9
    assert not safety_item_positive(ScaleAnswers("PHQ-9", PHQ9_TWO_SKIPPED, skipped=(8, 9)))  # unknown, not positive
    assert not safety_item_positive(ScaleAnswers("GAD-7", (3,) * 7))  # GAD-7 has no safety item
