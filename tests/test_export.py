"""`outcomes export --deidentified`: nothing that identifies a patient or a clinician leaves in
the extract, the pseudonyms are keyed and stable, dates move together, and the outcome numbers
are the source's."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import assessment, patient, phq9_items, session
from pipelines.export import ExportError, export_deidentified, pseudonym
from pipelines.settings import ExportSettings, SettingsError, load_settings

KEY = "test-key-6f1c2a9e4b7d8035"
OTHER_KEY = "another-key-90d3e5b1c2a4f687"
EXPORT_NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
TABLES = ("patients", "sessions", "scores", "patient_outcomes", "nhs_paired_outcomes")


def export(db, out, fmt="parquet", key=KEY, **settings):
    return export_deidentified(db, out, ExportSettings(key=key, **settings), fmt=fmt, environ={}, now=EXPORT_NOW)


def read(out: Path, table: str) -> list[dict]:
    """An exported table's rows as dicts, whatever the format."""
    path = next(out.glob(f"{table}.*"))
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv_auto"
    con = duckdb.connect()
    try:
        cursor = con.execute(f"SELECT * FROM {reader}(?)", [str(path)])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def every_value_as_text(out: Path) -> str:
    """Every file of the extract as text: CSV as written, Parquet values cast to strings (lists
    included), plus the manifest."""
    chunks = []
    con = duckdb.connect()
    try:
        for path in sorted(out.iterdir()):
            if path.suffix == ".parquet":
                columns = [c for (c, *_) in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
                cast = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns)
                rows = con.execute(f"SELECT {cast} FROM read_parquet(?)", [str(path)]).fetchall()
                chunks.append("\n".join("\t".join("" if v is None else v for v in row) for row in rows))
            else:
                chunks.append(path.read_text(encoding="utf-8"))
    finally:
        con.close()
    return "\n".join(chunks)


# Distinctive identifiers, so a substring search for them means something. Dates avoid the 1st
# of a month (month mode writes firsts).
ANNA, BORIS, CLARA = "MRN-884213", "MRN-550917", "MRN-302659"
STAFF = ("Dr. Quentin Vasquez-Abernathy", "Dr. Philippa Okonkwo-Lindqvist", "Nurse Ingeborg Thaddeus")


def identified_clinic(clinic):
    """Three patients: Anna with a full induction (PHQ-9 27 -> 8, a response), Boris born in
    1930 (95 at the export: top-coded), Clara with scores taken without an assessment id."""
    clinic.patients = [
        patient(ANNA, birth_year=1958, clinician=STAFF[0], site="Willowbrook Infusion Center",
                intake="2025-02-11", contraindications="seizure history per Dr. Zebulon Marchetti"),
        patient(BORIS, birth_year=1930, sex="male", clinician=STAFF[1], site="Willowbrook Infusion Center",
                intake="2025-04-07"),
        patient(CLARA, birth_year=1987, indication="ptsd", clinician=STAFF[1], site="Harborview Annex",
                intake="2025-05-19"),
    ]
    anna_days = ["2025-03-03", "2025-03-05", "2025-03-07", "2025-03-10", "2025-03-12", "2025-03-14"]
    clinic.sessions = [
        *[session(f"INF-77319{n:02d}", f"{day}T09:{10 + n:02d}:00", pid=ANNA, clinician=STAFF[2],
                  site="Willowbrook Infusion Center") for n, day in enumerate(anna_days, start=1)],
        session("INF-8820455", "2025-04-15T13:47:00", pid=BORIS, clinician=STAFF[1],
                adverse_event="Fainted in the lobby; husband Bartholomew Greaves called",
                side_effects="nausea;told nurse Winifred about his brother"),
        session("INF-8820466", "2025-04-22T13:52:00", pid=BORIS, clinician=STAFF[1]),
        session("INF-9904127", "2025-06-09T10:21:00", pid=CLARA, clinician=STAFF[2], route="im"),
        session("INF-9904138", "2025-06-23T10:33:00", pid=CLARA, clinician=STAFF[2], route="im"),
    ]
    clinic.assessments = [
        assessment("ASMT-4410983", "2025-03-02T15:26:00", items=phq9_items(27, 3), pid=ANNA),
        assessment("ASMT-4410994", "2025-03-12T08:44:00", items=phq9_items(15), pid=ANNA, session_id="INF-7731905"),
        assessment("ASMT-4411005", "2025-03-17T11:18:00", items=phq9_items(8), pid=ANNA),
        assessment("ASMT-5520776", "2025-04-14T16:04:00", items=phq9_items(12), pid=BORIS),
        assessment("ASMT-5520787", "2025-04-29T14:09:00", items=phq9_items(9), pid=BORIS),
        assessment("", "2025-06-08T17:37:00", instrument="PCL-5", total=51, pid=CLARA),
        assessment("", "2025-06-27T12:56:00", instrument="PCL-5", total=30, pid=CLARA),
    ]
    clinic.load()
    return clinic


def identifiers_in(db: Path) -> set[str]:
    """Everything in the source database that identifies a person: ids, staff and site names,
    free text, and every date (as YYYY-MM-DD)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        queries = [
            "SELECT patient_id FROM patients",
            "SELECT session_id FROM sessions",
            "SELECT assessment_key FROM assessments UNION SELECT assessment_id FROM assessments",
            "SELECT clinician FROM patients UNION SELECT clinician FROM sessions",
            "SELECT site FROM patients UNION SELECT site FROM sessions",
            "SELECT adverse_event FROM sessions",
            "SELECT unnest(contraindications) FROM patients",
            "SELECT unnest(side_effects) FROM sessions",
            "SELECT strftime(intake_date, '%Y-%m-%d') FROM patients",
            "SELECT strftime(started_at, '%Y-%m-%d') FROM sessions",
            "SELECT strftime(administered_at, '%Y-%m-%d') FROM assessments",
        ]
        found = {v for sql in queries for (v,) in con.execute(sql).fetchall() if v}
    finally:
        con.close()
    return found - set(ExportSettings().side_effects_allowed)  # the controlled words are not identifiers


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_no_identifier_from_the_clinic_appears_in_any_exported_file(clinic, tmp_path, fmt):
    identified_clinic(clinic)
    identifiers = identifiers_in(clinic.db)
    # The collection itself is complete: ids, staff, free text, the id-less assessments' keys, dates.
    assert {ANNA, "INF-8820455", "ASMT-4410983", STAFF[2], "Harborview Annex", "2025-03-17",
            "told nurse winifred about his brother", "seizure history per Dr. Zebulon Marchetti"} <= identifiers
    assert any(i.startswith(f"{CLARA}|PCL-5|") for i in identifiers)

    for date_mode in ("shift", "month"):
        out = tmp_path / f"{fmt}-{date_mode}"
        export(clinic.db, out, fmt=fmt, date_mode=date_mode)
        text = every_value_as_text(out)
        assert {p.suffix for p in out.iterdir()} == {f".{fmt}", ".json"}
        leaked = sorted(i for i in identifiers if i in text)
        assert leaked == [], f"{date_mode}: {leaked}"
        assert "MRN" not in text and "INF-" not in text and "ASMT" not in text and "Dr." not in text
        assert KEY not in text


def test_sample_extract_holds_no_source_id_as_a_value(sample_database, tmp_path):
    out = tmp_path / "sample"
    export(sample_database, out)
    con = duckdb.connect(str(sample_database), read_only=True)
    ids = {v for (v,) in con.execute(
        "SELECT patient_id FROM patients UNION SELECT session_id FROM sessions UNION SELECT assessment_key FROM assessments"
    ).fetchall()}
    con.close()
    values = set(every_value_as_text(out).replace("\n", "\t").split("\t"))
    assert len(ids) > 5000 and not ids & values


def test_pseudonyms_are_the_keyed_hmac_stable_for_one_key_and_different_across_keys(clinic, tmp_path):
    identified_clinic(clinic)
    first = {r["patient_id"] for r in read(export(clinic.db, tmp_path / "a").out, "patients")}
    again = {r["patient_id"] for r in read(export(clinic.db, tmp_path / "b").out, "patients")}
    other = {r["patient_id"] for r in read(export(clinic.db, tmp_path / "c", key=OTHER_KEY).out, "patients")}
    # HMAC-SHA256(key, "patient:<id>") cut to 16 hex characters, as Python's hmac computes it.
    assert first == again == {pseudonym(KEY.encode(), "patient", pid) for pid in (ANNA, BORIS, CLARA)}
    assert len(first) == 3 and all(len(p) == 16 for p in first)
    assert not first & other
    # A key longer than the 64-byte block is hashed first (RFC 2104); the SQL does the same.
    long_key = "k" * 100
    hashed = {r["patient_id"] for r in read(export(clinic.db, tmp_path / "d", key=long_key).out, "patients")}
    assert hashed == {pseudonym(long_key.encode(), "patient", pid) for pid in (ANNA, BORIS, CLARA)}


def test_sessions_and_scores_join_on_the_hashed_infusion_id(clinic, tmp_path):
    identified_clinic(clinic)
    out = export(clinic.db, tmp_path / "x").out
    sessions = {r["session_id"] for r in read(out, "sessions")}
    linked = [r["session_id"] for r in read(out, "scores") if r["session_id"]]
    assert linked == [pseudonym(KEY.encode(), "session", "INF-7731905")] and set(linked) <= sessions


def test_date_shift_moves_all_of_a_patients_dates_together_within_n_days(clinic, tmp_path):
    identified_clinic(clinic)
    out = export(clinic.db, tmp_path / "x", shift_days=20).out
    exported = {}
    for row in read(out, "sessions"):
        exported.setdefault(row["patient_id"], []).append(row["started_at"])
    scores = {}
    for row in read(out, "scores"):
        scores.setdefault(row["patient_id"], []).append(row["administered_at"])
    source = {}
    for row in clinic.rows("SELECT patient_id, started_at FROM sessions ORDER BY started_at"):
        source.setdefault(row.patient_id, []).append(row.started_at)
    shifts = {}
    for pid, real in source.items():
        moved = sorted(exported[pseudonym(KEY.encode(), "patient", pid)])
        offsets = {m - r for m, r in zip(moved, real)}
        assert len(offsets) == 1, pid  # one shift for every infusion: intervals exact to the minute
        (shift,) = offsets
        assert shift.seconds == 0 and 1 <= abs(shift.days) <= 20
        shifts[pid] = shift
        # Scores move by the same days as the patient's infusions.
        real_scores = [r.administered_at for r in clinic.rows(
            "SELECT administered_at FROM assessments WHERE patient_id = ? ORDER BY administered_at", [pid])]
        assert sorted(scores[pseudonym(KEY.encode(), "patient", pid)]) == [t + shift for t in real_scores]
    # Anna's days between infusions: 2, 2, 3, 2, 2, as in the source.
    anna = sorted(exported[pseudonym(KEY.encode(), "patient", ANNA)])
    assert [(b.date() - a.date()).days for a, b in zip(anna, anna[1:])] == [2, 2, 3, 2, 2]
    # The shift is keyed: the same key gives the same shift, another key (almost surely) another.
    again = read(export(clinic.db, tmp_path / "y", shift_days=20).out, "sessions")
    assert sorted(r["started_at"] for r in again) == sorted(t for ts in exported.values() for t in ts)


def test_month_mode_cuts_every_date_to_the_first_of_its_month(clinic, tmp_path):
    identified_clinic(clinic)
    out = export(clinic.db, tmp_path / "x", date_mode="month").out
    anna = pseudonym(KEY.encode(), "patient", ANNA)
    sessions = [r["started_at"] for r in read(out, "sessions") if r["patient_id"] == anna]
    assert sessions == [dt.date(2025, 3, 1)] * 6
    (outcome,) = [r for r in read(out, "patient_outcomes") if r["patient_id"] == anna]
    assert (outcome["baseline_at"], outcome["latest_at"], outcome["first_session_at"]) == (dt.date(2025, 3, 1),) * 3
    # Intervals survive as the day counts the view computes from the real dates.
    assert sorted(r["days_since_first_session"] for r in read(out, "scores") if r["patient_id"] == anna) == [-1, 9, 14]


def test_birth_year_is_banded_and_patients_90_or_older_are_one_group(clinic, tmp_path):
    identified_clinic(clinic)
    rows = {r["patient_id"]: r for r in read(export(clinic.db, tmp_path / "x").out, "patients")}
    by_mrn = {pid: rows[pseudonym(KEY.encode(), "patient", pid)] for pid in (ANNA, BORIS, CLARA)}
    assert "birth_year" not in by_mrn[ANNA]
    assert (by_mrn[ANNA]["birth_year_band"], by_mrn[ANNA]["age_at_start"]) == ("1955-1959", 67)
    assert (by_mrn[CLARA]["birth_year_band"], by_mrn[CLARA]["age_at_start"]) == ("1985-1989", 38)
    # Boris, born 1930, is 96 in 2026: no band and no age at start that would show it.
    assert (by_mrn[BORIS]["birth_year_band"], by_mrn[BORIS]["age_at_start"]) == ("90 or older", None)


def test_free_text_is_dropped_and_side_effects_keep_the_controlled_list(clinic, tmp_path):
    identified_clinic(clinic)
    out = export(clinic.db, tmp_path / "x").out
    boris = pseudonym(KEY.encode(), "patient", BORIS)
    first, second = sorted((r for r in read(out, "sessions") if r["patient_id"] == boris), key=lambda r: r["started_at"])
    assert first["side_effects"] == ["nausea", "other"] and first["adverse_event_recorded"] is True
    assert second["side_effects"] == ["dissociation"] and second["adverse_event_recorded"] is False
    columns = {name: {c["name"] for c in t["columns"]} for name, t in json.loads((out / "manifest.json").read_text())["tables"].items()}
    assert not any({"adverse_event", "contraindications", "source_file", "source_row", "intake_date"} & c
                   for c in columns.values())


def test_clinicians_are_keyed_pseudonyms_or_dropped(clinic, tmp_path):
    identified_clinic(clinic)
    sessions = read(export(clinic.db, tmp_path / "a").out, "sessions")
    assert {r["clinician"] for r in sessions} == {"clinician-" + pseudonym(KEY.encode(), "clinician", name)
                                                  for name in (STAFF[1], STAFF[2])}
    dropped = export(clinic.db, tmp_path / "b", clinician_mode="drop", site_mode="drop").out
    for table in ("patients", "sessions"):
        assert not {"clinician", "site"} & set(read(dropped, table)[0])


def test_exported_outcomes_equal_the_source(sample_database, tmp_path):
    out = export(sample_database, tmp_path / "x", fmt="csv").out
    con = duckdb.connect(str(sample_database), read_only=True)
    source = con.execute(
        """
        SELECT instrument, count(*), count(*) FILTER (WHERE response), count(*) FILTER (WHERE remission),
               count(*) FILTER (WHERE reliable_improvement), sum(change), count(*) FILTER (WHERE baseline_caseness)
        FROM patient_outcomes GROUP BY instrument ORDER BY instrument
        """).fetchall()
    counts = {t: con.execute(f"SELECT count(*) FROM {v}").fetchall()[0][0]
              for t, v in [("patients", "patient_cohorts"), ("sessions", "sessions"), ("scores", "scores"),
                           ("patient_outcomes", "patient_outcomes"), ("nhs_paired_outcomes", "nhs_paired_outcomes")]}
    score_sum = con.execute("SELECT sum(total), count(*) FILTER (WHERE item9_positive) FROM scores").fetchall()
    nhs = con.execute("SELECT count(*) FILTER (WHERE recovery) FROM nhs_paired_outcomes").fetchall()
    con.close()
    ex = duckdb.connect()
    exported = ex.execute(
        """
        SELECT instrument, count(*), count(*) FILTER (WHERE response), count(*) FILTER (WHERE remission),
               count(*) FILTER (WHERE reliable_improvement), sum(change), count(*) FILTER (WHERE baseline_caseness)
        FROM read_csv_auto(?) GROUP BY instrument ORDER BY instrument
        """, [str(out / "patient_outcomes.csv")]).fetchall()
    assert exported == source and len(source) == 4
    assert ex.execute("SELECT sum(total), count(*) FILTER (WHERE item9_positive) FROM read_csv_auto(?)",
                      [str(out / "scores.csv")]).fetchall() == score_sum
    assert ex.execute("SELECT count(*) FILTER (WHERE recovery) FROM read_csv_auto(?)",
                      [str(out / "nhs_paired_outcomes.csv")]).fetchall() == nhs
    ex.close()
    manifest = json.loads((out / "manifest.json").read_text())
    assert {t: manifest["tables"][t]["rows"] for t in TABLES} == counts
    assert manifest["source"]["ingest_run_id"] == 1 and "key" not in manifest["settings"]


# The command as an operator runs it.

def outcomes(*args, env_key=None, config=None):
    # The audit log's key and head live in the user's config folder: the test's, not the machine's.
    env = {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"]}
    if env_key:
        env["OUTCOMES_EXPORT_KEY"] = env_key
    command = [sys.executable, "-m", "pipelines.cli", *(["--config", str(config)] if config else []), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parent.parent)


def test_cli_exports_with_the_key_from_the_environment_and_refuses_a_non_empty_folder(sample_database, tmp_path):
    out = tmp_path / "extract"
    done = outcomes("export", "--deidentified", "--format", "csv", "--out", out, "--db", sample_database, env_key=KEY)
    assert done.returncode == 0, done.stderr
    assert "patient_outcomes" in done.stdout and (out / "patient_outcomes.csv").exists()
    assert KEY not in done.stdout and KEY not in (out / "manifest.json").read_text()

    again = outcomes("export", "--deidentified", "--out", out, "--db", sample_database, env_key=KEY)
    assert again.returncode == 2 and "not empty" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr

    forced = outcomes("export", "--deidentified", "--out", out, "--db", sample_database, "--force", env_key=KEY)
    assert forced.returncode == 0, forced.stderr
    # The earlier CSV files are replaced, not left beside the Parquet ones.
    assert sorted(p.name for p in out.iterdir()) == sorted(["manifest.json", *(f"{t}.parquet" for t in TABLES)])
    assert not list(tmp_path.glob(".*partial*"))


def test_cli_without_a_key_exits_2_and_writes_nothing(sample_database, tmp_path):
    result = outcomes("export", "--deidentified", "--out", tmp_path / "x", "--db", sample_database)
    assert result.returncode == 2 and "no export key" in result.stderr and "OUTCOMES_EXPORT_KEY" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x").exists()
    short = outcomes("export", "--deidentified", "--out", tmp_path / "x", "--db", sample_database, env_key="secret")
    assert short.returncode == 2 and "at least 16" in short.stderr


def test_cli_refuses_without_the_deidentified_flag(sample_database, tmp_path):
    result = outcomes("export", "--out", tmp_path / "x", "--db", sample_database, env_key=KEY)
    assert result.returncode == 2 and "--deidentified" in result.stderr and "identified" in result.stderr
    assert not (tmp_path / "x").exists()


def test_key_and_modes_come_from_the_export_settings_and_the_environment_wins(sample_database, tmp_path):
    config = tmp_path / "clinic.toml"
    config.write_text(f'[export]\nkey = "{OTHER_KEY}"\ndate_mode = "month"\n')
    settings = load_settings(config)
    assert settings.export.key == OTHER_KEY and OTHER_KEY not in repr(settings)
    from_file = outcomes("export", "--deidentified", "--out", tmp_path / "a", "--db", sample_database, config=config)
    from_env = outcomes("export", "--deidentified", "--out", tmp_path / "b", "--db", sample_database, config=config,
                        env_key=KEY)
    assert from_file.returncode == from_env.returncode == 0, from_file.stderr + from_env.stderr
    a = json.loads((tmp_path / "a" / "manifest.json").read_text())["settings"]
    b = json.loads((tmp_path / "b" / "manifest.json").read_text())["settings"]
    assert (a["key_source"], b["key_source"], a["date_mode"]) == ("settings", "environment", "month")
    assert a["key_fingerprint"] != b["key_fingerprint"]

    config.write_text('[export]\ndate_mode = "weekly"\n')
    bad = outcomes("export", "--deidentified", "--out", tmp_path / "c", "--db", sample_database, config=config,
                   env_key=KEY)
    assert bad.returncode == 2 and "date_mode" in bad.stderr and "Traceback" not in bad.stderr
    with pytest.raises(SettingsError):
        ExportSettings(clinician_mode="initials")


def test_an_unknown_format_is_refused(clinic, tmp_path):
    identified_clinic(clinic)
    with pytest.raises(ExportError, match="format"):
        export(clinic.db, tmp_path / "x", fmt="xlsx")


# The view each exported table is built from (sql/export/<table>.sql).
EXPORT_SOURCES = {"patients": "patient_cohorts", "sessions": "session_numbers", "scores": "scores",
                  "patient_outcomes": "patient_outcomes", "nhs_paired_outcomes": "nhs_paired_outcomes"}


@pytest.mark.parametrize("names", ["pseudonym", "drop"])
def test_every_column_of_the_database_is_exported_or_dropped_with_a_reason(sample_database, tmp_path, names):
    """The schema in the database is the one list of columns: every column of each exported
    table's source is either in the extract under its own name or in the manifest's `dropped`
    with the reason, so a column added to a view is noticed here instead of silently left out."""
    manifest = export(sample_database, tmp_path / "out", clinician_mode=names, site_mode=names).manifest
    con = duckdb.connect(str(sample_database), read_only=True)
    try:
        for table, source in EXPORT_SOURCES.items():
            columns = {name for (name, *_) in con.execute(f"DESCRIBE {source}").fetchall()}
            exported = {c["name"] for c in manifest["tables"][table]["columns"]}
            undecided = columns - exported - set(manifest["tables"][table]["dropped"])
            assert not undecided, f"{source} columns neither exported nor dropped: {sorted(undecided)}"
    finally:
        con.close()
