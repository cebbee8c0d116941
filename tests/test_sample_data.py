"""The committed sample data: it loads cleanly, and the messy sample's answer key agrees
with what the ingest quarantines."""

from __future__ import annotations

import csv

import pytest

from conftest import SAMPLE
from pipelines.ingest import ingest
from pipelines.settings import Settings

# messy_manifest.tsv fault label -> the quarantine rule(s) that must catch it
FAULT_RULES = {
    "unparseable_date": {"unparseable_date"}, "impossible_date": {"impossible_date"},
    "future_date": {"future_date"}, "before_birth": {"before_birth"}, "before_intake": {"before_intake"},
    "unknown_patient": {"unknown_patient"}, "unknown_instrument": {"unknown_instrument"},
    "item_out_of_range": {"item_out_of_range"}, "item_not_whole": {"item_not_whole"},
    "total_mismatch": {"total_mismatch"}, "total_out_of_range": {"total_out_of_range"},
    "impossible_vitals": {"impossible_vitals"}, "dose_out_of_range": {"dose_out_of_range"},
    "conflicting_duplicate": {"conflicting_duplicate"}, "wrong_field_count": {"wrong_field_count"},
    "bad_patient_row": {"not_a_number", "unknown_code", "impossible_value"},
}


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    db = tmp_path_factory.mktemp("messy") / "o.duckdb"
    run = ingest(db, [SAMPLE / "messy"], Settings())
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    quarantined = {(f.split("/")[-1], row): set(rules) for f, row, rules in
                   con.execute("SELECT source_file, source_row, rules FROM quarantine").fetchall()}
    con.close()
    with open(SAMPLE / "messy" / "messy_manifest.tsv", newline="", encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle, delimiter="\t"))
    return run, quarantined, manifest


def test_clean_sample_loads_without_quarantine(tmp_path):
    run = ingest(tmp_path / "o.duckdb", [SAMPLE], Settings())
    assert [f.kind for f in run.files] == ["patients", "sessions", "assessments", "appointments"]  # messy/ not read
    assert run.totals.quarantined == 0
    assert run.totals.inserted == run.totals.rows_in > 5000


def test_every_bad_row_in_the_messy_sample_is_quarantined_for_its_fault(messy):
    _, quarantined, manifest = messy
    faults = [m for m in manifest if m["fault"] != "exact_duplicate"]
    assert {m["fault"] for m in faults} == set(FAULT_RULES)
    for m in faults:
        rules = quarantined.get((m["file"], int(m["row"])))
        assert rules is not None, f"{m} was not quarantined"
        assert rules & FAULT_RULES[m["fault"]], f"{m} quarantined for {rules}"


def test_exact_duplicates_in_the_messy_sample_count_as_unchanged(messy):
    run, quarantined, manifest = messy
    duplicates = [m for m in manifest if m["fault"] == "exact_duplicate"]
    assert duplicates and all((m["file"], int(m["row"])) not in quarantined for m in duplicates)
    assert run.totals.unchanged == len(duplicates)
    assert run.totals.rows_in == run.totals.inserted + run.totals.unchanged + run.totals.quarantined


def test_only_rows_depending_on_a_quarantined_row_are_quarantined_beyond_the_answer_key(messy):
    _, quarantined, manifest = messy
    listed = {(m["file"], int(m["row"])) for m in manifest}
    extra = {key: rules for key, rules in quarantined.items() if key not in listed}
    assert all(rules <= {"unknown_session", "unknown_patient"} for rules in extra.values()), extra
