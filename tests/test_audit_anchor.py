"""The audit log's end is anchored (issue 15, item 3): a keyed chain (HMAC-SHA256 with a key
not kept beside the log) and a signed head (entry count and last link) kept outside the log's
folder. Editing the last entry, removing the last entries, deleting the log, rewriting it with
recomputed plain SHA-256 hashes or with another key are all reported, by `outcomes audit` (the
real CLI) and on the Audit page; a legacy (unkeyed) log still verifies and the keyed chain
continues it; a crash between the entry and the head is not taken for tampering."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import audit, cli

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture
def log(tmp_path, monkeypatch) -> Path:
    """A log in its own folder; the key and the head in a config folder elsewhere (no key
    configured: the local key is generated there, as on a laptop)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))
    for name in ("OUTCOMES_AUDIT_KEY", "OUTCOMES_AUDIT_KEY_FILE", "OUTCOMES_AUDIT_HEAD_DIR", "OUTCOMES_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "clinic" / "audit.log"
    monkeypatch.setenv("OUTCOMES_AUDIT_LOG", str(path))
    return path


def write_entries(path: Path, patients=("001", "002", "003", "004")) -> None:
    for patient in patients:
        audit.append(path, "dr@clinic.example", "clinician", "view", "patient", patient)


def outcomes_audit(capsys, *extra: str) -> tuple[int, str, str]:
    """`outcomes audit` through the real CLI entry point."""
    code = cli.main(["audit", "--db", "nowhere/outcomes.duckdb", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_an_intact_keyed_log_verifies_and_says_so(log, capsys):
    write_entries(log)
    entries, verification = audit.read(log)
    assert verification.ok and verification.keyed and verification.entries == 4 and verification.note is None
    assert "generated on this computer" in verification.protection
    head = audit.head_path(log)
    assert head.exists() and head.parent != log.parent and log.parent not in head.parents
    key_file = audit.default_key_file()
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert [json.loads(line)["n"] for line in lines_of(log)] == [1, 2, 3, 4]
    code, out, err = outcomes_audit(capsys, "--verify")
    assert code == 0 and "Intact (keyed, 4 entries, head matches)" in out and not err
    assert "dr@clinic.example" not in out  # --verify lists no entries


def test_editing_the_last_entry_is_reported(log, capsys):
    write_entries(log)
    lines = lines_of(log)
    record = json.loads(lines[-1])
    record["patient_id"] = "999"  # hides which record was opened last
    write_lines(log, lines[:-1] + [json.dumps(record, sort_keys=True)])
    verification = audit.read(log)[1]
    assert not verification.ok and "last entry (line 4) differs" in verification.problem
    code, out, err = outcomes_audit(capsys)
    assert code == 1 and "altered" in err and "line 4" in err


def test_deleting_the_last_entries_is_reported(log, capsys):
    write_entries(log)
    write_lines(log, lines_of(log)[:2])
    verification = audit.read(log)[1]
    assert not verification.ok
    assert verification.problem.startswith("the head records 4 entries but the log has 2: the last 2 entries were removed")
    code, _, err = outcomes_audit(capsys, "--verify")
    assert code == 1 and "the last 2 entries were removed" in err


def test_deleting_the_whole_log_is_reported(log, capsys):
    write_entries(log)
    log.unlink()
    entries, verification = audit.read(log)
    assert entries == [] and not verification.ok and "deleted" in verification.problem
    code, _, err = outcomes_audit(capsys)
    assert code == 1 and "the log is missing or empty, but its head records 4 entries" in err
    log.write_text("")  # ... or emptied
    assert not audit.read(log)[1].ok


def _plain_chain(records: list[dict]) -> list[str]:
    """The log as the old writer would have written it: each entry carries the SHA-256 of the
    line before it, the first the all-zero hash."""
    lines, previous = [], audit.GENESIS
    for record in records:
        line = json.dumps({**record, "prev": previous}, ensure_ascii=False, sort_keys=True)
        lines.append(line)
        previous = hashlib.sha256(line.encode("utf-8")).hexdigest()
    return lines


def _records(path: Path) -> list[dict]:
    return _records_of_lines(lines_of(path))


def _records_of_lines(lines: list[str]) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in ("prev", "v", "n")} for line in lines]


def test_rewriting_the_log_with_recomputed_plain_hashes_is_reported(log, capsys):
    write_entries(log)
    records = _records(log)
    del records[1]  # the rewriter removes a view and recomputes every hash, as the old check allowed
    write_lines(log, _plain_chain(records))
    verification = audit.read(log)[1]
    assert not verification.ok and "the head records 4 entries but the log has 3" in verification.problem
    records.append({**records[-1], "patient_id": "005"})  # same length as before: the head's link tells
    write_lines(log, _plain_chain(records))
    assert "differs from the one the head recorded" in audit.read(log)[1].problem
    # the keyed format with plain SHA-256 links instead of the HMAC: broken from the first line
    rewritten, previous = [], None
    for number, record in enumerate(records, start=1):
        link = hashlib.sha256((previous or "").encode()).hexdigest()
        previous = json.dumps({**record, "v": audit.VERSION, "n": number, "prev": link}, sort_keys=True)
        rewritten.append(previous)
    write_lines(log, rewritten)
    assert audit.read(log)[1].problem.startswith("line 1: the chain is broken")
    assert outcomes_audit(capsys)[0] == 1


def test_rewriting_the_log_with_another_key_is_reported(log, tmp_path, monkeypatch, capsys):
    write_entries(log)
    forged = tmp_path / "elsewhere" / "audit.log"
    monkeypatch.setenv("OUTCOMES_AUDIT_KEY", "the attacker's own key")
    monkeypatch.setenv("OUTCOMES_AUDIT_HEAD_DIR", str(tmp_path / "attacker-heads"))
    write_entries(forged, ("001", "003", "004", "005"))
    monkeypatch.delenv("OUTCOMES_AUDIT_KEY")
    monkeypatch.delenv("OUTCOMES_AUDIT_HEAD_DIR")
    write_lines(log, lines_of(forged))
    verification = audit.read(log)[1]
    assert not verification.ok and verification.problem.startswith("line 1: the chain is broken")
    # ... and a head signed with that key, put in place of the real one, is refused too
    forged_head = next((tmp_path / "attacker-heads").iterdir())
    record = json.loads(forged_head.read_text())
    audit.head_path(log).write_text(json.dumps({**record, "log": str(log.resolve())}))
    write_lines(log, lines_of(log)[:0])  # even an emptied log: the head is checked first
    assert "was signed with another key" in audit.read(log)[1].problem
    code, _, err = outcomes_audit(capsys, "--verify")
    assert code == 1 and "another key" in err


def test_a_configured_key_is_used_and_checking_without_it_fails(log, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the project folder whose .streamlit/secrets.toml holds the key
    (Path(".streamlit")).mkdir()
    Path(".streamlit/secrets.toml").write_text('[audit]\nkey = "a long random key the dashboard holds"\n')
    write_entries(log)
    verification = audit.read(log)[1]
    assert verification.ok and "[audit] key in .streamlit/secrets.toml" in verification.protection
    assert not audit.default_key_file().exists()  # no local key made when one is configured
    code, out, _ = outcomes_audit(capsys, "--verify")
    assert code == 0 and "Protection: keyed: keyed chain (HMAC-SHA256, [audit] key in .streamlit/secrets.toml)" in out
    Path(".streamlit/secrets.toml").unlink()  # a verifier without the key cannot vouch for the log
    verification = audit.read(log)[1]
    assert not verification.ok and "no audit key" in verification.problem


def test_a_legacy_log_still_verifies_and_the_keyed_chain_continues_it(log, capsys):
    log.parent.mkdir(parents=True)
    legacy = [{"at": f"2026-01-0{day}T09:00:00+00:00", "user": "dr@clinic.example", "role": "clinician",
               "action": "view", "page": "patient", "patient_id": f"00{day}", "detail": None} for day in (1, 2, 3)]
    write_lines(log, _plain_chain(legacy))
    entries, verification = audit.read(log)
    assert verification.ok and not verification.keyed and verification.legacy == 3
    assert verification.protection.startswith("unkeyed")
    code, out, _ = outcomes_audit(capsys, "--verify")
    assert code == 0 and "Protection: unkeyed" in out and "Intact (unkeyed, 3 entries)" in out

    write_entries(log, ("004", "005"))
    entries, verification = audit.read(log)
    assert verification.ok and verification.keyed and verification.legacy == 3 and len(entries) == 5
    assert "lines 1-3 are older unkeyed entries" in verification.protection
    first_keyed = json.loads(lines_of(log)[3])
    assert first_keyed["n"] == 4 and first_keyed["v"] == audit.VERSION
    assert first_keyed["prev"] == audit.key_source().link(lines_of(log)[2])  # links to the last legacy entry
    code, out, _ = outcomes_audit(capsys, "--verify")
    assert code == 0 and "Intact (keyed, 5 entries, head matches)" in out

    lines = lines_of(log)  # an edited legacy entry still breaks the chain
    write_lines(log, [lines[0].replace("001", "009"), *lines[1:]])
    assert audit.read(log)[1].problem.startswith("line 2: the chain is broken")
    # an unkeyed entry after keyed ones (a downgrade) is reported
    write_lines(log, lines + _plain_chain(legacy)[:1])
    assert "unkeyed entry after keyed ones" in audit.read(log)[1].problem


def test_a_crash_between_the_entry_and_the_head_is_not_tampering(log, capsys):
    write_entries(log, ("001", "002"))
    head = audit.head_path(log)
    before = head.read_bytes()
    write_entries(log, ("003",))
    head.write_bytes(before)  # the entry was written, the head not yet moved
    verification = audit.read(log)[1]
    assert verification.ok and verification.note and "crash between the two writes" in verification.note
    code, out, _ = outcomes_audit(capsys, "--verify")
    assert code == 0 and "Note: " in out
    write_entries(log, ("004",))  # the next entry moves the head past both
    verification = audit.read(log)[1]
    assert verification.ok and verification.note is None and verification.entries == 4
    # the very first keyed entry, with no head written at all
    head.unlink()
    write_lines(log, lines_of(log)[:1])
    verification = audit.read(log)[1]
    assert verification.ok and "head was not written" in verification.note


def test_an_append_never_moves_a_head_that_disagrees_and_reanchoring_does(log, capsys):
    write_entries(log)
    write_lines(log, lines_of(log)[:2])  # the last two removed ...
    write_entries(log, ("005", "006", "007"))  # ... and the clinic carries on viewing records
    verification = audit.read(log)[1]
    assert not verification.ok and verification.entries == 5  # still reported, not covered over
    audit.head_path(log).unlink()  # deleting the head as well does not help
    write_entries(log, ("008",))
    assert "there is no head file" in audit.read(log)[1].problem
    code, out, _ = outcomes_audit(capsys, "--reanchor", "--verify")  # the administrator has investigated
    assert code == 0 and "now records its 6 entries" in out and "Intact (keyed, 6 entries" in out
    write_entries(log, ("009",))
    assert audit.read(log)[1].ok


def test_appending_reads_only_the_end_of_the_log(log, monkeypatch):
    write_entries(log)
    monkeypatch.setattr(audit, "_count_lines", lambda path: pytest.fail("the whole log was read on append"))
    monkeypatch.setattr(audit, "read", lambda path: pytest.fail("the whole log was read on append"))
    write_entries(log, ("005", "006"))
    assert [json.loads(line)["n"] for line in lines_of(log)][-2:] == [5, 6]


def _append_many(args: tuple[str, str, int]) -> None:
    path, config, count = args
    os.environ["XDG_CONFIG_HOME"] = config
    for number in range(count):
        audit.append(path, f"user{os.getpid()}", "clinician", "view", "patient", str(number))


def test_concurrent_sessions_keep_one_chain_and_one_head(log, tmp_path):
    write_entries(log, ("000",))
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_append_many, [(str(log), str(tmp_path / "home-config"), 25)] * 4)
    entries, verification = audit.read(log)
    assert verification.ok and verification.note is None and verification.entries == 101
    assert [json.loads(line)["n"] for line in lines_of(log)] == list(range(1, 102))


def test_no_key_that_can_be_made_means_no_entry(log, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocked))
    with pytest.raises(OSError, match="OUTCOMES_AUDIT_KEY"):
        audit.append(log, "dr@clinic.example", "clinician", "view", "patient", "001")


def test_the_audit_page_shows_the_protection_and_a_tampering_message(log, sample_database, monkeypatch):
    monkeypatch.setenv("OUTCOMES_DB", str(sample_database))
    write_entries(log)
    lines = lines_of(log)

    def page() -> AppTest:
        app = AppTest.from_file(str(APP), default_timeout=60)
        app.run()
        app.switch_page("views/audit.py")
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    app = page()
    assert any("head kept outside the log's folder matches" in s.value for s in app.success)
    assert any("Protection in force: keyed chain" in c.value and "generated on this computer" in c.value
               for c in app.caption)
    write_lines(log, lines_of(log)[:3])
    app = page()
    assert not app.success
    assert any("has been altered" in e.value and "the last entry was removed" in e.value for e in app.error)
    log.unlink()
    app = page()
    assert any("the log was deleted" in e.value for e in app.error)
    audit.head_path(log).unlink()  # an older, never-anchored log: intact, but said to be unkeyed
    write_lines(log, _plain_chain(_records_of_lines(lines)))
    app = page()
    assert not app.error and not app.success
    assert any("unkeyed" in w.value for w in app.warning)
    assert any("Protection in force: unkeyed" in c.value for c in app.caption)


def _first_key(config: str) -> bytes:
    os.environ["XDG_CONFIG_HOME"] = config
    return audit.key_source().secret


def test_sessions_starting_at_once_agree_on_one_generated_key(tmp_path):
    config = str(tmp_path / "fresh-config")
    with multiprocessing.get_context("fork").Pool(6) as pool:
        keys = pool.map(_first_key, [config] * 12)
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in (tmp_path / "fresh-config" / "infusion-outcomes").iterdir()] == ["audit.key"]


def test_a_named_key_file_that_is_missing_is_an_error_not_a_new_key(log, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OUTCOMES_AUDIT_KEY_FILE", str(tmp_path / "mounted-secret" / "audit.key"))
    with pytest.raises(OSError, match="does not exist"):
        audit.append(log, "dr@clinic.example", "clinician", "view", "patient", "001")
    code, _, err = outcomes_audit(capsys, "--verify")
    assert code == 2 and "does not exist" in err and not audit.default_key_file().exists()
