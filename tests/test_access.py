"""Access: what each role sees and is refused, sign-in, local single-user mode, and the audit
log of patient-record views (dashboard/access.py, dashboard/auditing.py, pipelines/audit.py).

Every test runs the real app (AppTest) on the sample clinic. The role comes from the settings
file, as in a deployment: `local_role` in local mode, `[access.users]` with sign-in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import access
from pipelines import audit
from pipelines.ingest import ingest
from pipelines.settings import AccessSettings, Settings, SettingsError, load_settings
from conftest import NOW, SAMPLE

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
SCRIPTS = {"worklist": "views/worklist.py", "patient": "views/patient.py", "clinic": "views/clinic.py",
           "data-quality": "views/data_quality.py", "audit": "views/audit.py"}
TITLES = access.PAGE_TITLES
REFUSED = "not open to your role"
SIGN_IN_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-only-secret",
                   "client_id": "outcomes", "client_secret": "test-only",
                   "server_metadata_url": "https://id.clinic.example/.well-known/openid-configuration"}


@pytest.fixture
def served(sample_database, tmp_path, monkeypatch):
    """Run the app on the sample clinic with an [access] settings section of the test's choosing."""
    audit_log = tmp_path / "audit.log"
    monkeypatch.setenv("OUTCOMES_DB", str(sample_database))
    monkeypatch.setenv("OUTCOMES_AUDIT_LOG", str(audit_log))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the audit key and head, not in ~/.config

    def run(access_toml: str, page: str | None = None, query: dict | None = None, secrets: dict | None = None,
            user: dict | None = None) -> AppTest:
        config = tmp_path / "settings.toml"
        config.write_text("[access]\n" + access_toml, encoding="utf-8")
        monkeypatch.setenv("OUTCOMES_CONFIG", str(config))
        app = AppTest.from_file(str(APP), default_timeout=60)
        if secrets is not None:
            app.secrets["auth"] = secrets
        if user is not None:
            app.user = user
        for key, value in (query or {}).items():
            app.query_params[key] = value
        app.run()
        if page is not None:
            app.switch_page(SCRIPTS[page])
            app.run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    run.audit_log = audit_log
    yield run


def texts(app: AppTest) -> str:
    parts = [e.value for kind in ("title", "header", "subheader", "error", "info", "warning", "caption", "markdown")
             for e in getattr(app, kind)]
    return "\n".join(str(p) for p in parts)


def refused(app: AppTest) -> bool:
    return any(REFUSED in e.value for e in app.error)


def a_patient(sample_database) -> str:
    with duckdb.connect(str(sample_database), read_only=True) as con:
        return con.execute("SELECT min(patient_id) FROM sessions").fetchone()[0]


ROLES = {
    # role: (pages it opens, pages it is refused)
    "clinician": (("worklist", "patient"), ("clinic", "data-quality", "audit")),
    "director": (("clinic",), ("worklist", "patient", "data-quality", "audit")),
    "analyst": (("clinic", "data-quality"), ("worklist", "patient", "audit")),
    "admin": (("worklist", "patient", "clinic", "data-quality", "audit"), ()),
}


def test_the_role_table_covers_every_page_and_only_admin_sees_the_audit_log():
    default = AccessSettings()
    for role, (opens, refuses) in ROLES.items():
        assert access.pages_for(role, default) == opens
        assert set(opens) | set(refuses) == set(TITLES)
    assert access.pages_for("director", AccessSettings(directors_see_patients=True)) == ("worklist", "patient", "clinic")
    assert [r for r in ROLES if access.sees_patient_level(r, default)] == ["clinician", "admin"]
    assert access.pages_for(None, default) == ()


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_opens_its_pages_and_is_refused_the_others(served, role):
    opens, refuses = ROLES[role]
    first = served(f'local_role = "{role}"\n')
    assert first.title[0].value == TITLES[opens[0]] and not refused(first), "the role's first page is its home"
    assert "Local single-user mode" in texts(first) and f"as {access.ROLE_NAMES[role]}" in texts(first)
    for page in opens:
        app = served(f'local_role = "{role}"\n', page)
        assert not refused(app), page
        assert app.title[0].value == TITLES[page]
        assert "Local single-user mode" in texts(app), "local mode says so on every page"
    for page in refuses:
        app = served(f'local_role = "{role}"\n', page)
        assert refused(app), page
        assert [t.value for t in app.title] == [TITLES[page]], "nothing of the page itself is shown"
        assert not app.dataframe and not app.get("plotly_chart") and not app.get("vega_lite_chart") and not app.metric


def test_a_director_sees_patient_pages_only_when_configured(served, sample_database):
    patient = a_patient(sample_database)
    assert refused(served('local_role = "director"\n', "patient", {"patient": patient}))
    app = served('local_role = "director"\ndirectors_see_patients = true\n', "patient", {"patient": patient})
    assert not refused(app) and app.header[0].value == f"Patient {patient}"


def test_an_analyst_sees_quarantine_counts_but_no_row_of_a_patient(served, tmp_path, monkeypatch):
    messy = tmp_path / "messy.duckdb"  # the sample with bad rows of every quarantine class
    ingest(messy, [SAMPLE / "messy"], Settings(), now=NOW)
    monkeypatch.setenv("OUTCOMES_DB", str(messy))
    app = served('local_role = "analyst"\n', "data-quality")
    app.session_state["quality_tab"] = "Quarantine"
    app.run()
    shown = "\n".join(str(frame.value.to_csv()) for frame in app.dataframe)
    assert "Row-level detail is not shown to your role" in texts(app)
    with duckdb.connect(str(messy), read_only=True) as con:
        keys = [k for (k,) in con.execute("SELECT DISTINCT record_key FROM quarantine WHERE record_key IS NOT NULL")
                .fetchall()]
    assert keys, "the sample has quarantined rows"
    assert not any(key in shown for key in keys), "no quarantined row's id reaches an analyst"
    for tab in ("Baselines", "Completion by infusion"):  # counts of patients, suppressed for an analyst
        app.session_state["quality_tab"] = tab
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        assert not any("Patient" in frame.value.columns for frame in app.dataframe)
    admin = served('local_role = "admin"\n', "data-quality")
    admin.session_state["quality_tab"] = "Quarantine"
    admin.run()
    assert "Row-level detail is not shown" not in texts(admin)
    assert any(key in "\n".join(str(f.value.to_csv()) for f in admin.dataframe) for key in keys)


def test_opening_a_patient_is_audited_once_per_session_and_listed_for_the_admin(served, sample_database):
    patient = a_patient(sample_database)
    app = served('local_role = "clinician"\n', "patient", {"patient": patient})
    app.run()  # a rerun (a widget touched) is the same view, not a new one
    entries, verification = audit.read(served.audit_log)
    assert verification.ok
    assert [(e.action, e.page, e.patient_id, e.role) for e in entries] == [("view", "patient", patient, "clinician")]
    assert entries[0].user.startswith("local:")

    admin = served('local_role = "admin"\n', "audit")
    listed = admin.dataframe[0].value
    assert listed[["action", "patient_id", "role"]].values.tolist() == [["view", patient, "clinician"]]
    assert any("hash chain is intact" in s.value for s in admin.success)

    cli = subprocess.run([sys.executable, "-m", "pipelines.cli", "audit", "--db", str(sample_database)],
                         capture_output=True, text=True, env={**_env(), "OUTCOMES_AUDIT_LOG": str(served.audit_log)})
    assert cli.returncode == 0 and patient in cli.stdout and "clinician" in cli.stdout


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "OUTCOMES_CONFIG"}


def test_an_edited_audit_entry_breaks_the_chain_and_is_reported(tmp_path, served, sample_database):
    log = tmp_path / "chain.log"
    for patient in ("001", "002", "003"):
        audit.append(log, "dr@clinic.example", "clinician", "view", "patient", patient)
    assert audit.read(log)[1].ok
    lines = log.read_text().splitlines()
    record = json.loads(lines[1])
    record["patient_id"] = "999"  # someone hides which record was opened
    log.write_text("\n".join([lines[0], json.dumps(record, sort_keys=True), lines[2]]) + "\n")
    entries, verification = audit.read(log)
    assert not verification.ok and verification.problem.startswith("line 3")
    log.write_text("\n".join([lines[0], lines[2]]) + "\n")  # ... or deletes the entry
    assert not audit.read(log)[1].ok

    cli = subprocess.run([sys.executable, "-m", "pipelines.cli", "audit", "--db", str(sample_database)],
                         capture_output=True, text=True, env={**_env(), "OUTCOMES_AUDIT_LOG": str(log)})
    assert cli.returncode == 1 and "altered" in cli.stderr
    served.audit_log.write_text(log.read_text())
    admin = served('local_role = "admin"\n', "audit")
    assert any("has been altered" in e.value for e in admin.error)


def test_export_entries_are_written_by_the_auditor(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    log = tmp_path / "audit.log"
    viewer = access.Viewer(user="dr@clinic.example", role="clinician", signed_in=True, local=False)
    from dashboard.auditing import Auditor

    Auditor(viewer, log).export("patient", "001", "printable summary (HTML)")
    entries, verification = audit.read(log)
    assert verification.ok and [(e.user, e.action, e.patient_id) for e in entries] == [
        ("dr@clinic.example", "export", "001")]


def test_with_sign_in_configured_nobody_sees_a_page_before_signing_in(served):
    app = served("", secrets=SIGN_IN_SECRETS, user={"is_logged_in": False})
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.dataframe and not app.metric and "Local single-user mode" not in texts(app)


def test_a_signed_in_user_gets_the_role_the_settings_give_their_email(served):
    users = '[access.users]\n"Amara.Okafor@clinic.example" = "clinician"\n"board@clinic.example" = "director"\n'
    app = served(users, secrets=SIGN_IN_SECRETS, user={"is_logged_in": True, "email": "amara.okafor@clinic.example"})
    assert app.title[0].value == "Worklist" and not refused(app)
    assert any("Signed in as amara.okafor@clinic.example (clinician)" in c.value for c in app.sidebar.caption)
    director = served(users, "patient", secrets=SIGN_IN_SECRETS,
                      user={"is_logged_in": True, "email": "board@clinic.example"})
    assert refused(director)


def test_a_removed_user_or_a_changed_role_applies_on_the_next_page_load(served, sample_database, tmp_path):
    """Revoking access needs no restart: the settings file is read again when it changes."""
    signed_in = {"is_logged_in": True, "email": "amara.okafor@clinic.example"}
    app = served('[access.users]\n"amara.okafor@clinic.example" = "admin"\n', "patient", secrets=SIGN_IN_SECRETS,
                 user=signed_in, query={"patient": a_patient(sample_database)})
    assert not refused(app) and app.header  # an admin opens the patient
    settings_file = tmp_path / "settings.toml"
    # the administrator makes her a director: her next page load (same browser session) refuses it
    settings_file.write_text('[access]\n[access.users]\n"amara.okafor@clinic.example" = "director"\n', "utf-8")
    app.run()
    assert refused(app) and not app.header
    # ... then removes her: no page at all
    settings_file.write_text('[access]\n[access.users]\n"someone.else@clinic.example" = "admin"\n', "utf-8")
    app.run()
    assert any("no role" in e.value for e in app.error) and not app.dataframe and not app.title


def test_an_email_the_provider_has_not_verified_gives_no_role(served):
    app = served('[access.users]\n"a@clinic.example" = "admin"\n', secrets=SIGN_IN_SECRETS,
                 user={"is_logged_in": True, "email": "a@clinic.example", "email_verified": False})
    assert any("no role" in e.value for e in app.error) and not app.dataframe and not app.title


def test_a_signed_in_user_without_a_role_sees_nothing(served):
    app = served('[access.users]\n"a@clinic.example" = "admin"\n', secrets=SIGN_IN_SECRETS,
                 user={"is_logged_in": True, "email": "stranger@elsewhere.example"})
    assert any("no role" in e.value for e in app.error)
    assert not app.dataframe and not app.metric and not app.title


def test_local_mode_refuses_to_serve_a_network_address(served, monkeypatch):
    monkeypatch.setattr(st, "get_option", _with_address("0.0.0.0", st.get_option))  # as `--server.address 0.0.0.0`
    app = served('local_role = "admin"\n')
    assert any("Refusing to serve" in e.value for e in app.error)
    assert not app.title and not app.dataframe
    allowed = served('local_role = "admin"\nallow_local_mode_on_network = true\n')
    assert allowed.title[0].value == "Worklist"


def _with_address(address, real):
    def get_option(key):
        return address if key == "server.address" else real(key)
    return get_option


@pytest.mark.parametrize("address, allowed", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                               ("[::1]", True), ("0.0.0.0", False), ("", False), (None, False),
                                               ("192.168.1.20", False), ("clinic-server", False)])
def test_only_loopback_addresses_count_as_this_computer(address, allowed):
    assert (access.local_mode_refusal(address, AccessSettings()) is None) is allowed
    assert access.local_mode_refusal(address, AccessSettings(allow_local_mode_on_network=True)) is None


def test_the_dashboard_command_refuses_a_network_address_before_opening_a_port(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "dashboard", "--address", "0.0.0.0",
                             "--db", str(tmp_path / "x.duckdb")], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env=_env())
    assert result.returncode == 2 and "Refusing to serve" in result.stderr


def test_access_settings_are_checked(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text('[access]\nlocal_role = "superuser"\n')
    with pytest.raises(SettingsError, match="local_role"):
        load_settings(config)
    config.write_text('[access.users]\n"x@y.example" = "owner"\n')
    with pytest.raises(SettingsError, match="x@y.example"):
        load_settings(config)
    config.write_text('[access.users]\n"X@Y.example" = "Analyst"\n')
    assert load_settings(config).access.role_of("x@y.EXAMPLE") == "analyst"


@pytest.mark.parametrize("host,allowed", [
    ("localhost:8501", True), ("127.0.0.1:8501", True), ("[::1]:8501", True), ("app.localhost", True),
    ("192.168.1.20:8501", True),  # an address literal cannot be rebound by another site
    ("outcomes.clinic.example", True),  # listed in allowed_hosts
    ("rebind.attacker.example:8501", False), ("LOCALHOST.attacker.example", False), ("evil", False),
])
def test_only_this_computers_names_and_allowed_hosts_may_address_the_dashboard(host, allowed):
    from pipelines.access_policy import host_refusal

    assert (host_refusal(host, ("outcomes.clinic.example",)) is None) == allowed


@pytest.mark.parametrize("x_forwarded_for, forwarded, clients", [
    ([], [], []),
    (["127.0.0.1"], [], ["127.0.0.1"]),  # nginx on this computer, a browser on this computer
    (["10.1.2.3, 127.0.0.1"], [], ["10.1.2.3", "127.0.0.1"]),
    (["10.1.2.3", "::1"], [], ["10.1.2.3", "::1"]),  # two header lines
    ([], ['for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"'],
     ["192.0.2.60", "2001:db8:cafe::17"]),  # RFC 7239, section 4 examples
    ([], ['For="127.0.0.1:5000"'], ["127.0.0.1"]),
])
def test_the_clients_a_proxy_forwards_are_read_from_both_headers(x_forwarded_for, forwarded, clients):
    from pipelines.access_policy import forwarded_clients

    assert forwarded_clients(x_forwarded_for, forwarded) == clients


@pytest.mark.parametrize("x_forwarded_for, forwarded, refused", [
    ([], [], False), (["127.0.0.1"], [], False), (["::1"], ['for="[::1]:80"'], False),
    (["192.168.1.20"], [], True), (["10.1.2.3, 127.0.0.1"], [], True), ([], ["for=unknown"], True),
    ([], ['for="_hidden"'], True),  # an obfuscated client (RFC 7239, 6.3): not known to be this computer
])
def test_local_mode_refuses_a_request_a_proxy_forwarded_for_another_computer(x_forwarded_for, forwarded, refused):
    from pipelines.access_policy import forwarded_refusal

    refusal = forwarded_refusal(x_forwarded_for, forwarded, AccessSettings())
    assert (refusal is not None) == refused
    if refused:
        assert "another computer" in refusal and "allow_local_mode_on_network" in refusal
    assert forwarded_refusal(x_forwarded_for, forwarded, AccessSettings(allow_local_mode_on_network=True)) is None


def test_allowed_hosts_must_be_a_list_of_names(tmp_path):
    from pipelines.settings import SettingsError, load_settings

    config = tmp_path / "settings.toml"
    config.write_text('[access]\nallowed_hosts = "outcomes.clinic.example"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="allowed_hosts must be a list"):
        load_settings(config)
    config.write_text('[access]\nallowed_hosts = ["Outcomes.Clinic.example"]\n', encoding="utf-8")
    assert load_settings(config).access.allowed_hosts == ("outcomes.clinic.example",)
