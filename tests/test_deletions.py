"""Full exports (`outcomes ingest --full-export`): stored rows an export leaves out are deleted,
kept in `<table>_history` with the run that removed them, and left out of every view; without
the flag nothing is ever deleted (docs/ingest.md, "Full exports and deletions")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines import load as load_module
from pipelines.analytics import ingest_log
from pipelines.cli import main
from pipelines.formats import PATIENTS
from pipelines.ingest import ingest
from pipelines.settings import Settings

from conftest import (ASSESSMENT_HEADER, NOW, Clinic, assessment, open_page, patient, phq9_items, query, session,
                      write_csv)


def full(clinic: Clinic, paths=None):
    """Ingest the clinic's exports (or `paths`) as a full export."""
    return ingest(clinic.db, paths or clinic.write(), Settings(), now=NOW, full_export=True)


def balanced(run) -> bool:
    """The per-file invariant, which deletions leave alone: rows in = inserted + updated +
    unchanged + quarantined, for every file and for the run."""
    return all(f.rows_in == f.inserted + f.updated + f.unchanged + f.quarantined for f in [*run.files, run.totals])


@pytest.fixture
def treated(clinic) -> Clinic:
    """Hand-made: patient 001, first infusion 5 Jan; PHQ-9 20 the day before (baseline), 14 on
    20 Jan and 8 on 20 Feb (the latest). A3 is the one the clinic later deletes as entered in error."""
    clinic.sessions = [session("S1", "2025-01-05T10:00:00")]
    clinic.assessments = [
        assessment("A1", "2025-01-04T09:00:00", items=phq9_items(20)),
        assessment("A2", "2025-01-20T09:00:00", items=phq9_items(14)),
        assessment("A3", "2025-02-20T09:00:00", items=phq9_items(8)),
    ]
    clinic.load()
    return clinic


OUTCOME = ("SELECT baseline_score, latest_score, n_followups, change, pct_change, response, reliable_improvement, "
           "recovery FROM patient_outcomes WHERE instrument = 'PHQ-9'")


def test_hand_worked_outcome_before_the_deletion(treated):
    # baseline 20, latest 8: change -12 (-60%), response (>= 50% drop), reliable (>= 6), recovered (< 10)
    assert treated.one(OUTCOME) == dict(baseline_score=20, latest_score=8, n_followups=2, change=-12,
                                        pct_change=-60.0, response=True, reliable_improvement=True, recovery=True)


def test_without_the_flag_a_row_missing_from_the_export_stays(treated):
    treated.assessments = treated.assessments[:2]
    run = treated.load()
    assert run.deletions is None and run.deleted == 0
    assert treated.one("SELECT count(*) AS n FROM scores").n == 3
    assert treated.one("SELECT count(*) AS n FROM assessments_history").n == 0
    assert treated.one("SELECT deleted, full_export FROM ingest_runs WHERE run_id = 2") == dict(deleted=0,
                                                                                                full_export=None)


def test_a_full_export_deletes_the_assessment_it_left_out_from_every_view(treated):
    treated.assessments = treated.assessments[:2]  # A3 deleted in the clinic's system
    run = full(treated)
    assert run.deleted == 1 and balanced(run)
    assert [(d.kind, d.deleted, d.kept, d.held_back) for d in run.deletions] == [
        ("patients", 0, 0, 0), ("sessions", 0, 0, 0), ("assessments", 1, 0, 0)]
    # rows in are the export's rows: 1 patient + 1 session + 2 assessments, all unchanged
    assert (run.totals.rows_in, run.totals.unchanged) == (4, 4)

    assert [r.assessment_id for r in treated.rows("SELECT assessment_id FROM assessments ORDER BY 1")] == ["A1", "A2"]
    assert [r.total for r in treated.rows("SELECT total FROM scores ORDER BY administered_at")] == [20, 14]
    # recomputed by hand: latest 14, change -6 (-30%): no response, still reliable (6 >= 6), not recovered (14 >= 10)
    assert treated.one(OUTCOME) == dict(baseline_score=20, latest_score=14, n_followups=1, change=-6,
                                        pct_change=-30.0, response=False, reliable_improvement=True, recovery=False)

    kept = treated.one("SELECT assessment_id, total, run_id, replaced_by_run, deleted FROM assessments_history")
    assert kept == dict(assessment_id="A3", total=8, run_id=1, replaced_by_run=run.run_id, deleted=True)
    assert treated.one("SELECT deleted, full_export FROM ingest_runs WHERE run_id = ?", [run.run_id]) == dict(
        deleted=1, full_export=["patients", "sessions", "assessments"])
    # the Data quality page's and `outcomes runs`' answer
    with treated.connect() as con:
        runs = ingest_log.ingest_runs(con)
        assert runs.set_index("run_id").loc[run.run_id, ["deleted", "balanced", "full_export"]].tolist() == [
            1, True, True]
        updates = ingest_log.updates_by_run(con)
        row = updates[(updates.run_id == run.run_id) & (updates.kind == "assessments")].iloc[0]
        assert (row.deleted, row.versions_kept, row.updated) == (1, 0, 0)
        assert ingest_log.updated_records(con)[["record_key", "deleted"]].values.tolist() == [["A3", True]]


def test_running_the_same_full_export_again_deletes_nothing_more(treated):
    treated.assessments = treated.assessments[:2]
    full(treated)
    again = full(treated)
    assert again.deleted == 0 and balanced(again)
    assert treated.one("SELECT count(*) AS n FROM assessments_history").n == 1
    assert treated.one("SELECT count(*) AS n FROM assessments").n == 2


def test_a_deleted_row_sent_again_comes_back_as_new(treated):
    removed = treated.assessments.pop()
    full(treated)
    treated.assessments.append(removed)
    back = full(treated)
    assert (back.deleted, back.totals.inserted) == (0, 1)
    assert treated.one("SELECT count(*) AS n FROM scores").n == 3
    assert treated.one("SELECT count(*) AS n FROM assessments_history WHERE deleted").n == 1  # the history stays


def test_an_export_of_one_kind_deletes_nothing_of_the_others(treated):
    exports = treated.folder / "exports"
    treated.patients, treated.sessions = [], []  # what the other files would say, were they given
    treated.assessments = treated.assessments[:2]
    treated.write()
    run = full(treated, [exports / "assessments.csv"])
    assert [(d.kind, d.deleted) for d in run.deletions] == [("assessments", 1)]
    assert treated.one("SELECT count(*) AS n FROM patients").n == 1
    assert treated.one("SELECT count(*) AS n FROM sessions").n == 1
    assert treated.one("SELECT deleted, full_export FROM ingest_runs WHERE run_id = ?", [run.run_id]) == dict(
        deleted=1, full_export=["assessments"])



def test_a_full_export_of_sessions_leaves_patients_and_assessments_alone(treated):
    exports = treated.folder / "exports"
    treated.sessions.append(session("S2", "2025-01-08T10:00:00"))
    treated.load()
    treated.patients, treated.assessments = [], []
    treated.sessions = treated.sessions[:1]
    treated.write()
    run = full(treated, [exports / "sessions.csv"])
    assert [(d.kind, d.deleted) for d in run.deletions] == [("sessions", 1)]
    assert treated.one("SELECT session_id, deleted FROM sessions_history") == dict(session_id="S2", deleted=True)
    assert treated.one("SELECT count(*) AS n FROM patients").n == 1
    assert treated.one("SELECT count(*) AS n FROM scores").n == 3


def test_the_files_of_one_kind_together_are_the_truth(treated):
    exports = treated.folder / "exports"
    later = treated.assessments.pop()
    paths = treated.write()
    more = write_csv(exports / "more_assessments.csv", ASSESSMENT_HEADER, [later])
    run = full(treated, [*paths, more])
    assert run.deleted == 0
    assert treated.one("SELECT count(*) AS n FROM scores").n == 3


def test_a_quarantined_row_deletes_nothing(treated):
    # A3 sent again, but wrong (an answer out of range): its key was sent, so the stored A3 stays
    treated.assessments[2] = dict(treated.assessments[2], item_1=7)
    run = full(treated)
    assert (run.totals.quarantined, run.deleted) == (1, 0) and balanced(run)
    assert treated.one("SELECT total FROM scores WHERE assessment_key = 'A3'").total == 8
    assert treated.one("SELECT count(*) AS n FROM assessments_history").n == 0


@pytest.mark.parametrize("unreadable", [
    # no id and no patient: which stored assessment this row stands for cannot be told
    {"assessment_id": "", "patient_id": "", "instrument": "PHQ-9", "administered_at": "2025-02-20T09:00:00"},
    # an answer that is not a number: the CSV reader rejects the row before it has a key
    {"assessment_id": "A9", "patient_id": "001", "instrument": "PHQ-9", "administered_at": "2025-02-20T09:00:00",
     "item_1": "two"},
])
def test_a_quarantined_row_without_a_readable_id_holds_the_deletions_of_its_kind_back(treated, unreadable):
    treated.patients.append(patient("002"))
    treated.load()
    treated.patients = treated.patients[:1]  # patient 002, who has no records, left out
    treated.assessments = [*treated.assessments[:2], unreadable]  # A3 left out, and a row we cannot identify
    run = full(treated)
    assert [(d.kind, d.deleted, d.held_back) for d in run.deletions] == [
        ("patients", 1, 0), ("sessions", 0, 0), ("assessments", 0, 1)]
    assert treated.one("SELECT count(*) AS n FROM scores").n == 3  # A3 still counts: the bad row may be it
    assert balanced(run)


def test_a_patient_is_deleted_only_with_all_their_records(treated):
    treated.patients.append(patient("002"))
    treated.sessions += [session("S21", "2025-03-01T10:00:00", pid="002")]
    treated.assessments += [assessment("A21", "2025-02-28T09:00:00", pid="002", items=phq9_items(15))]
    treated.load()

    # 002 left out of patients.csv, but the sessions export still sends their infusion: kept
    treated.patients = treated.patients[:1]
    run = full(treated)
    assert [(d.kind, d.deleted, d.kept) for d in run.deletions] == [
        ("patients", 0, 1), ("sessions", 0, 0), ("assessments", 0, 0)]
    assert treated.one("SELECT count(*) AS n FROM patients WHERE patient_id = '002'").n == 1

    # every record of 002 left out: all of it goes, the patient with it
    treated.sessions, treated.assessments = treated.sessions[:1], treated.assessments[:3]
    run = full(treated)
    assert [(d.kind, d.deleted, d.kept) for d in run.deletions] == [
        ("patients", 1, 0), ("sessions", 1, 0), ("assessments", 1, 0)]
    for table in ("patients", "sessions", "assessments", "scores", "patient_outcomes"):
        assert treated.one(f"SELECT count(*) AS n FROM {table} WHERE patient_id = '002'").n == 0
    assert treated.one("SELECT count(*) AS n FROM patients_history WHERE deleted").n == 1
    # no record is left without its patient
    assert treated.one("SELECT count(*) AS n FROM sessions ANTI JOIN patients USING (patient_id)").n == 0
    assert treated.one("SELECT count(*) AS n FROM assessments ANTI JOIN patients USING (patient_id)").n == 0


def test_a_session_an_assessment_still_names_is_kept(treated):
    treated.sessions.append(session("S2", "2025-01-12T10:00:00"))
    treated.assessments.append(assessment("A4", "2025-01-12T09:30:00", items=phq9_items(12), session_id="S2"))
    treated.load()
    treated.sessions = treated.sessions[:1]  # S2 left out, A4 (which names it) still sent
    run = full(treated)
    assert [(d.kind, d.deleted, d.kept) for d in run.deletions] == [
        ("patients", 0, 0), ("sessions", 0, 1), ("assessments", 0, 0)]
    assert treated.one("SELECT count(*) AS n FROM sessions").n == 2


def test_a_failed_full_export_deletes_nothing(treated, monkeypatch):
    treated.assessments = treated.assessments[:2]
    real = load_module._move_to_history

    def crash_after_moving(con, table, keys, run_id, deleted):
        real(con, table, keys, run_id, deleted)
        raise RuntimeError("power cut")

    monkeypatch.setattr(load_module, "_move_to_history", crash_after_moving)
    with pytest.raises(RuntimeError, match="power cut"):
        full(treated)
    assert treated.one("SELECT count(*) AS n FROM scores").n == 3
    assert treated.one("SELECT count(*) AS n FROM assessments_history").n == 0
    assert treated.one("SELECT count(*) AS n FROM ingest_runs").n == 1


def test_a_database_made_before_full_exports_gains_the_columns(treated):
    con = duckdb.connect(str(treated.db))
    for table in ("ingest_runs", "assessments_history"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN deleted")
    con.execute("ALTER TABLE ingest_runs DROP COLUMN full_export")
    con.close()
    treated.assessments = treated.assessments[:2]
    run = full(treated)
    assert run.deleted == 1
    assert treated.rows("SELECT run_id, deleted FROM ingest_runs ORDER BY 1") == [
        dict(run_id=1, deleted=0), dict(run_id=2, deleted=1)]
    assert treated.one("SELECT assessment_id, deleted FROM assessments_history") == dict(assessment_id="A3",
                                                                                         deleted=True)


# A REDCap flat record export with one repeating PHQ-9 form, in the shape REDCap's "Export Data"
# (CSV raw) gives: record_id, redcap_event_name, redcap_repeat_instrument, redcap_repeat_instance,
# then the form's fields and <form>_complete (as data/sample/redcap/export.csv and tests/test_redcap.py).
REDCAP_HEADER = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                 "phq9_date", *[f"phq9_{n}" for n in range(1, 11)], "phq9_total", "phq9_session", "phq9_complete"]


def redcap_phq9(instance: int, when: str, total: int) -> dict:
    row = {"record_id": "001", "redcap_event_name": "treatment_arm_1", "redcap_repeat_instrument": "phq9",
           "redcap_repeat_instance": instance, "phq9_date": when, "phq9_complete": 2}
    row.update({f"phq9_{n}": v for n, v in enumerate(phq9_items(total), start=1)})
    return row


def test_a_redcap_export_is_the_truth_for_the_forms_it_holds_only(tmp_path):
    clinic = Clinic(tmp_path)
    clinic.sessions = [session("S1", "2025-01-05T10:00:00")]
    clinic.assessments = [assessment("G1", "2025-01-04T09:00:00", instrument="GAD-7", items=[2] * 7)]
    clinic.load()
    redcap = tmp_path / "redcap"
    redcap.mkdir()
    rows = [redcap_phq9(1, "2025-01-04 09:00", 20), redcap_phq9(2, "2025-01-20 09:00", 14)]
    ingest(clinic.db, [write_csv(redcap / "export.csv", REDCAP_HEADER, rows)], Settings(), now=NOW)

    run = full(clinic, [write_csv(redcap / "export.csv", REDCAP_HEADER, rows[:1])])  # PHQ-9 form only
    assert [(d.kind, d.deleted) for d in run.deletions] == [("assessments", 1)]
    # the second PHQ-9 is gone; the GAD-7 (a form this export does not hold), the patient and
    # the infusion stay
    assert [(r.instrument, r.total) for r in clinic.rows("SELECT instrument, total FROM scores ORDER BY 1, 2")] == [
        ("GAD-7", 14), ("PHQ-9", 20)]
    assert clinic.one("SELECT assessment_id FROM assessments_history WHERE deleted").assessment_id == \
        "redcap|001|treatment_arm_1|PHQ-9|2"
    assert clinic.one("SELECT count(*) AS n FROM sessions").n == 1
    assert clinic.one("SELECT count(*) AS n FROM patients").n == 1


def bundle(path: Path, responses: list[dict]) -> Path:
    """A FHIR R4 Bundle (type collection) of patient 001, infusion S1 and PHQ-9
    QuestionnaireResponses: questionnaire the LOINC PHQ-9 panel 44249-1, items by their LOINC
    codes as linkIds (the shape of the LOINC/Argonaut PHQ-9 questionnaire; tests/test_fhir.py)."""
    loinc_items = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
    resources = [
        {"resourceType": "Patient", "id": "001", "gender": "female", "birthDate": "1980-04-02"},
        {"resourceType": "Procedure", "id": "S1", "status": "completed", "subject": {"reference": "Patient/001"},
         "performedPeriod": {"start": "2025-01-05T10:00:00-05:00", "end": "2025-01-05T10:40:00-05:00"}},
    ]
    for response in responses:
        resources.append({
            "resourceType": "QuestionnaireResponse", "id": response["id"], "status": response.get("status", "completed"),
            "questionnaire": "http://loinc.org/q/44249-1", "subject": {"reference": "Patient/001"},
            "authored": response["authored"],
            "item": [{"linkId": f"/{code}", "answer": [{"valueInteger": value}]}
                     for code, value in zip(loinc_items, phq9_items(response["total"]))],
        })
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": r} for r in resources]}), encoding="utf-8")
    return path


def test_a_fhir_response_marked_entered_in_error_is_deleted_by_a_full_export(tmp_path):
    db, path = tmp_path / "outcomes.duckdb", tmp_path / "exports" / "bundle.json"
    responses = [{"id": "Q1", "authored": "2025-01-04T09:00:00-05:00", "total": 20},
                 {"id": "Q2", "authored": "2025-01-20T09:00:00-05:00", "total": 14}]
    ingest(db, [bundle(path, responses)], Settings(), now=NOW)
    responses[1]["status"] = "entered-in-error"  # how FHIR retracts a record
    without = ingest(db, [bundle(path, responses)], Settings(), now=NOW)
    assert without.deleted == 0 and query(db, "SELECT count(*) FROM scores") == [(2,)]

    run = ingest(db, [bundle(path, responses)], Settings(), now=NOW, full_export=True)
    # quarantined as entered in error, and not a row that holds deletions back: it retracts Q2
    assert [(d.kind, d.deleted, d.held_back) for d in run.deletions] == [
        ("patients", 0, 0), ("sessions", 0, 0), ("assessments", 1, 0)]
    assert query(db, "SELECT assessment_key, total FROM scores") == [("Q1", 20)]
    assert query(db, "SELECT assessment_id, deleted FROM assessments_history") == [("Q2", True)]
    assert balanced(run)


def test_the_cli_flag_end_to_end(treated, capsys):
    treated.assessments = treated.assessments[:2]
    exports = treated.write()
    assert main(["ingest", *map(str, exports), "--db", str(treated.db), "--quiet"]) == 0
    assert "deleted" not in capsys.readouterr().out
    assert treated.one("SELECT count(*) AS n FROM scores").n == 3

    assert main(["ingest", str(exports[0].parent), "--db", str(treated.db), "--quiet", "--full-export"]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.startswith("TOTAL")).split()
    assert total[1:7] == ["4", "0", "0", "4", "0", "1"]  # rows in, inserted, updated, unchanged, quarantined, deleted
    assert "assessments: 1 deleted (absent from the export; kept in assessments_history)" in out
    assert treated.one("SELECT count(*) AS n FROM scores").n == 2

    assert main(["runs", "--db", str(treated.db)]) == 0
    runs = capsys.readouterr().out.splitlines()
    assert runs[0].split()[-1] == "deleted"
    assert [line.split()[-1] for line in runs[2:]] == ["1", "0", "0"]  # newest first


def test_the_data_quality_page_shows_the_deletions_of_each_run(treated, monkeypatch):
    treated.assessments = treated.assessments[:2]
    full(treated)
    app = open_page(treated.db, "views/data_quality.py", monkeypatch)
    app.session_state["quality_tab"] = "Ingest runs"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    runs = next(frame.value for frame in app.dataframe if "deleted" in frame.value.columns)
    assert runs[["run_id", "deleted", "balanced"]].values.tolist() == [[2, 1, True], [1, 0, True]]


def test_stored_rows_after_a_full_export_are_before_plus_inserted_minus_deleted(treated):
    # one assessment left out (A2), one edited (A3: an update), one new (A4), one sent twice
    treated.assessments = [treated.assessments[0], dict(treated.assessments[2], item_1=0),
                           assessment("A4", "2025-03-20T09:00:00", items=phq9_items(6)), treated.assessments[0]]
    before = treated.one("SELECT count(*) AS n FROM assessments").n
    run = full(treated)
    (assessments_file,) = [f for f in run.files if f.kind == "assessments"]
    assert (assessments_file.rows_in, assessments_file.inserted, assessments_file.updated,
            assessments_file.unchanged, assessments_file.quarantined, run.deleted) == (4, 1, 1, 2, 0, 1)
    assert balanced(run)
    assert treated.one("SELECT count(*) AS n FROM assessments").n == before + 1 - 1
    assert treated.rows("SELECT assessment_id, deleted FROM assessments_history ORDER BY 1") == [
        dict(assessment_id="A2", deleted=True), dict(assessment_id="A3", deleted=False)]


# The REDCap "KetamineClinic" test project, raw export (tests/fixtures/redcap/, as in
# tests/test_redcap_real_world.py): its mapping has a [sessions] form, so the export holds
# sessions (3 infusions) as well as assessments (PHQ-9 and GAD-7, 6 scored).
REDCAP_RAW = Path(__file__).parent / "fixtures" / "redcap" / "raw"
REDCAP_RAW_EXPORT = "KetamineClinic_DATA_2025-02-01_0930.csv"
SCORES_SQL = "SELECT patient_id, instrument, administered_at::VARCHAR, total FROM scores ORDER BY ALL"


def test_an_unreadable_redcap_row_holds_back_every_kind_its_export_holds(tmp_path):
    db, folder = tmp_path / "outcomes.duckdb", tmp_path / "raw"
    shutil.copytree(REDCAP_RAW, folder)
    patients = write_csv(tmp_path / "patients.csv", list(PATIENTS.columns), [patient("101"), patient("102")])
    ingest(db, [patients, folder], Settings(), now=NOW)
    scores, sessions = query(db, SCORES_SQL), query(db, "SELECT session_id FROM sessions ORDER BY 1")
    assert len(scores) == 6 and len(sessions) == 3

    # Record 101's baseline row (data row 1: its PHQ-9 and GAD-7) gains a field: DuckDB cannot
    # split it, so which form, and which record, it stands for cannot be told.
    export = folder / REDCAP_RAW_EXPORT
    lines = export.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("101,baseline_arm_1,")
    lines[1] += ",extra"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")

    run = ingest(db, [folder], Settings(), now=NOW, full_export=True)
    # the row holds back both kinds the export holds, not only the first form's (sessions)
    assert [(d.kind, d.deleted, d.held_back) for d in run.deletions] == [("sessions", 0, 1), ("assessments", 0, 1)]
    assert query(db, SCORES_SQL) == scores  # 101's baseline PHQ-9 12 and GAD-7 7 still count
    assert query(db, "SELECT session_id FROM sessions ORDER BY 1") == sessions
    assert query(db, "SELECT count(*) FROM assessments_history") == [(0,)]
    # quarantined once, with the file's first pass
    assert query(db, "SELECT kind, source_row, rules FROM quarantine WHERE run_id = 2 AND ('unreadable_row' "
                     "IN rules OR 'wrong_field_count' IN rules)") == [("sessions", 1, ["wrong_field_count"])]
    assert balanced(run)


def test_an_unreadable_fhir_entry_holds_back_every_kind_its_bundle_holds(tmp_path):
    db, path = tmp_path / "outcomes.duckdb", tmp_path / "exports" / "bundle.json"
    responses = [{"id": "Q1", "authored": "2025-01-04T09:00:00-05:00", "total": 20},
                 {"id": "Q2", "authored": "2025-01-20T09:00:00-05:00", "total": 14}]
    ingest(db, [bundle(path, responses)], Settings(), now=NOW)
    bundle(path, responses[:1])  # Q2 left out, and an entry with no resource: it may be Q2
    document = json.loads(path.read_text(encoding="utf-8"))
    document["entry"].append({"fullUrl": "urn:uuid:0c3e5a8e-0000-4000-8000-000000000001"})
    path.write_text(json.dumps(document), encoding="utf-8")

    run = ingest(db, [path], Settings(), now=NOW, full_export=True)
    assert [(d.kind, d.deleted, d.held_back) for d in run.deletions] == [
        ("patients", 0, 1), ("sessions", 0, 1), ("assessments", 0, 1)]
    assert query(db, "SELECT assessment_key FROM scores ORDER BY 1") == [("Q1",), ("Q2",)]
    assert query(db, "SELECT kind, source_row FROM quarantine WHERE 'unreadable_row' IN rules") == [("patients", 4)]
    assert balanced(run)


def fhir_bundle(path: Path, resources: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": r} for r in resources]}), encoding="utf-8")
    return path


HEART_RATE = {"resourceType": "Observation", "id": "hr1", "status": "final", "subject": {"reference": "Patient/000005"},
              "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
              "effectiveDateTime": "2025-01-05T10:00:00-05:00", "valueQuantity": {"value": 72, "unit": "/min"}}
CONDITION = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/000005"},
             "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.2"}]}}
EPISODE = {"resourceType": "EpisodeOfCare", "id": "e1", "status": "active", "patient": {"reference": "Patient/000005"},
           "period": {"start": "2024-12-01"}}


@pytest.mark.parametrize("resources, holds", [
    # a Patient and a vital sign taken outside any infusion: the file holds patients, not sessions
    ([{"resourceType": "Patient", "id": "000005", "gender": "female", "birthDate": "1980-04-02"}, HEART_RATE],
     ["patients"]),
    # a vital sign, a diagnosis and a course of care only add to other resources' rows: it holds nothing
    ([HEART_RATE, CONDITION, EPISODE], []),
])
def test_a_fhir_file_holds_only_the_kinds_it_has_records_of(sample_database, tmp_path, resources, holds):
    db = tmp_path / "outcomes.duckdb"
    shutil.copy(sample_database, db)
    before = {table: query(db, f"SELECT count(*) FROM {table}")[0][0] for table in ("patients", "sessions", "assessments")}
    run = ingest(db, [fhir_bundle(tmp_path / "fhir" / "bundle.json", resources)], Settings(), now=NOW,
                 full_export=True)
    assert run.full_export == holds
    assert run.deleted == 0  # every sample patient still has records
    assert {table: query(db, f"SELECT count(*) FROM {table}")[0][0] for table in before} == before
    assert query(db, "SELECT count(*) FROM sessions_history") == [(0,)]


def test_a_redcap_form_of_an_unknown_scale_is_the_truth_for_no_scale(tmp_path):
    clinic = Clinic(tmp_path)
    clinic.assessments = [assessment("G1", "2025-01-04T09:00:00", instrument="GAD-7", items=[2] * 7)]
    clinic.load()
    redcap = tmp_path / "redcap"
    redcap.mkdir()
    # the clinic's mapping names the PHQ-9 and a scale the registry does not know (its rows
    # are quarantined as an unknown instrument)
    (redcap / "redcap_mapping.toml").write_text(
        '[instruments."PHQ-9"]\nform = "phq9"\ndate = "phq9_date"\n'
        f'items = [{", ".join(f"{chr(34)}phq9_{n}{chr(34)}" for n in range(1, 11))}]\n'
        '[instruments."MADRS"]\nform = "madrs"\ndate = "madrs_date"\nitems = ["madrs_1"]\n', encoding="utf-8")
    header = [*REDCAP_HEADER, "madrs_date", "madrs_1"]
    rows = [redcap_phq9(1, "2025-01-04 09:00", 20), redcap_phq9(2, "2025-01-20 09:00", 14),
            {"record_id": "001", "redcap_event_name": "treatment_arm_1", "redcap_repeat_instrument": "madrs",
             "redcap_repeat_instance": 1, "madrs_date": "2025-01-20 09:00", "madrs_1": 3}]
    ingest(clinic.db, [write_csv(redcap / "export.csv", header, rows)], Settings(), now=NOW)

    run = full(clinic, [write_csv(redcap / "export.csv", header, [rows[0], rows[2]])])
    assert [(d.kind, d.deleted) for d in run.deletions] == [("assessments", 1)]
    # the second PHQ-9 is gone; the GAD-7 stays: the unknown scale's form says nothing of it
    assert [(r.instrument, r.total) for r in clinic.rows("SELECT instrument, total FROM scores ORDER BY 1, 2")] == [
        ("GAD-7", 14), ("PHQ-9", 20)]
