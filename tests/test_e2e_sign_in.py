"""Sign-in, tried for real (issue 15, "one step further"): the dashboard configured for OpenID
Connect exactly as docs/access.md says (`.streamlit/secrets.toml` with `[auth]` in the directory
it is started from, roles under `[access.users]` in $OUTCOMES_CONFIG), run with `streamlit run`,
and driven by headless Chromium through Streamlit's real `st.login` flow (Authlib: discovery,
authorization code with PKCE, ID token checked against the provider's keys) against an OpenID
Connect provider running in the test (tests/oidc_provider.py).

A clinician and an analyst sign in; each sees their pages and is refused the others; the
clinician signs out; the analyst, removed from the settings file, is refused on the next page
load without a restart.

Plain http on loopback: Authlib accepts http only for loopback addresses (RFC 8252, section 7.3;
`authlib.common.security.is_secure_transport`), and both the provider (127.0.0.1) and the
dashboard's redirect URI (localhost) are loopback, so no AUTHLIB_INSECURE_TRANSPORT is needed;
a deployment uses https. The browser opens the dashboard as `localhost`, the redirect URI's host:
Streamlit ties the sign-in cookie to that origin.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib

import duckdb
import pytest

from conftest import REPO
from oidc_provider import serve
from test_e2e_browser import (  # noqa: F401  (fixtures)
    CHROMIUM, ERROR_BOXES, SETTLED, a_patient_on_the_worklist, browser, database, free_port, streamlit_server,
    sync_api)

DOCS = (REPO / "docs" / "access.md").read_text(encoding="utf-8")


def documented(first_line: str, section: str) -> str:
    """The TOML example of docs/access.md that begins with `first_line` and has `section`."""
    blocks = [block for block in re.findall(r"```toml\n(.*?)```", DOCS, re.S)
              if block.startswith(first_line) and section in tomllib.loads(block)]
    assert len(blocks) == 1, f"docs/access.md has no single [{section}] example beginning {first_line!r}"
    return blocks[0]


# The settings file is docs/access.md's example as it stands; its clinician and analyst sign in.
SETTINGS = documented("# clinic.toml", "access")
USERS = tomllib.loads(SETTINGS)["access"]["users"]
CLINICIAN = next(email for email, role in USERS.items() if role == "clinician")
ANALYST = next(email for email, role in USERS.items() if role == "analyst")
CLIENT_ID, CLIENT_SECRET = "infusion-outcomes", "test-only-client-secret"
REFUSED = "This page is not open to your role"
SIGN_IN = "Sign in with your clinic account"
NO_ROLE = "give that account no role"


def secrets_toml(values: dict[str, str]) -> str:
    """docs/access.md's `.streamlit/secrets.toml` with the deployment's values: every key the docs
    name, and only those."""
    keys = list(tomllib.loads(documented("# .streamlit/secrets.toml", "auth"))["auth"])
    assert sorted(keys) == sorted(values), "docs/access.md's [auth] example names other keys than the test sets"
    return "[auth]\n" + "".join(f'{key} = "{values[key]}"\n' for key in keys)


@pytest.fixture(scope="module")
def deployment(database, tmp_path_factory):
    """The provider, and the dashboard configured for it as docs/access.md says: the URL to open
    (the redirect URI's host), the settings file and the audit log."""
    port = free_port()
    redirect_uri = f"http://localhost:{port}/oauth2callback"
    provider, provider_server = serve(CLIENT_ID, CLIENT_SECRET, redirect_uri)
    folder = tmp_path_factory.mktemp("sign-in")
    workdir, home = folder / "app", folder / "home"
    (workdir / ".streamlit").mkdir(parents=True)
    home.mkdir()
    shutil.copy(REPO / ".streamlit" / "config.toml", workdir / ".streamlit" / "config.toml")
    # docs/access.md, "Sign-in (OpenID Connect)": the secrets in the folder the dashboard is
    # started from, with this provider's values; the settings file as documented
    (workdir / ".streamlit" / "secrets.toml").write_text(secrets_toml({
        "redirect_uri": redirect_uri, "cookie_secret": os.urandom(32).hex(), "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "server_metadata_url": provider.metadata_url}), encoding="utf-8")
    settings = workdir / "clinic.toml"
    settings.write_text(SETTINGS, encoding="utf-8")
    audit_log = folder / "audit.log"
    env = {**os.environ, "OUTCOMES_DB": str(database), "OUTCOMES_CONFIG": str(settings),
           "OUTCOMES_AUDIT_LOG": str(audit_log),
           # neither the developer's own ~/.streamlit/secrets.toml nor their audit key
           "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    try:
        with streamlit_server(port, env, folder / "streamlit.log", cwd=workdir):
            yield {"url": f"http://localhost:{port}", "provider": provider, "settings": settings,
                   "audit_log": audit_log, "log": folder / "streamlit.log"}
    finally:
        provider_server.shutdown()


def settled(page, *texts: str) -> str:
    """Wait until `texts` are shown and the script has finished; the page's text."""
    for text in texts:
        page.get_by_text(text, exact=False).filter(visible=True).first.wait_for(timeout=90_000)
    for _ in range(2):
        page.wait_for_function(SETTLED, timeout=90_000)
        page.wait_for_timeout(300)
    # no error box but the refusal waited for (a refusal is shown as one)
    for box in page.locator(ERROR_BOXES).all_inner_texts():
        assert any(text in box for text in (REFUSED, NO_ROLE) if text in texts), box
    return page.locator("body").inner_text()


def menu(page) -> list[str]:
    """The page titles in the sidebar menu (each link's last line: the first is its icon's name)."""
    return [text.strip().splitlines()[-1] for text in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def sign_in(browser, deployment, email: str):
    """A fresh browser (no cookies) opens the dashboard, is shown the sign-in screen, and signs in
    at the provider as `email`; returns the page, back on the dashboard."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(deployment["url"] + "/")
    text = settled(page, SIGN_IN)
    assert "Signed in as" not in text and not menu(page)
    deployment["provider"].user = email
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {email}", exact=False).first.wait_for(timeout=90_000)
    return page


def open_page(page, url: str, *texts: str) -> str:
    page.goto(url)
    return settled(page, *texts)


def numbers(text: str) -> set[str]:
    """The numbers in `text`, each whole (716.8000000000001 is one, not 000001 among others)."""
    return set(re.findall(r"\d+(?:\.\d+)*", text))


def patient_ids(database) -> list[str]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return [row[0] for row in con.execute("SELECT patient_id FROM patients").fetchall()]
    finally:
        con.close()


def assert_the_flow_was_the_real_one(provider) -> None:
    """Discovery, authorization with state, nonce and PKCE, the code redeemed once at the token
    endpoint, the ID token checked against the provider's keys: what Streamlit asked of it."""
    authorize = provider.requested("/authorize")[-1]
    assert authorize["client_id"] == CLIENT_ID and authorize["redirect_uri"].endswith("/oauth2callback")
    assert authorize["state"] and authorize["nonce"] and authorize["code_challenge_method"] == "S256"
    assert {"openid", "email"} <= set(authorize["scope"].split())
    assert provider.requested("/.well-known/openid-configuration") and provider.requested("/jwks")
    assert provider.requested("/token") and not provider.grants


def test_a_clinician_sees_patients_is_refused_the_rest_and_signs_out(deployment, browser, database):
    url, patient = deployment["url"], a_patient_on_the_worklist(database)
    page = sign_in(browser, deployment, CLINICIAN)
    try:
        assert_the_flow_was_the_real_one(deployment["provider"])
        text = settled(page, "Patients shown")
        assert f"Signed in as {CLINICIAN} (clinician)" in text
        assert menu(page) == ["Worklist", "Patient"]
        text = open_page(page, f"{url}/patient?patient={patient}", f"Patient {patient}", "Infusions so far")
        assert REFUSED not in text
        # the signed-in e-mail is who the audit log says looked at the record
        assert any(f'"user": "{CLINICIAN}"' in line and f'"patient_id": "{patient}"' in line
                   for line in deployment["audit_log"].read_text().splitlines())
        for path, absent in [("clinic", "Response rate"), ("data-quality", "Latest run")]:
            text = open_page(page, f"{url}/{path}", REFUSED)
            assert absent not in text, path

        # signing out (from the refused page: the sidebar is on every page)
        page.get_by_role("button", name="Sign out").click()
        text = settled(page, SIGN_IN)
        assert "Signed in as" not in text and "Patients shown" not in text and not menu(page)
        # signed out at the provider too (its end_session_endpoint), which sent the browser back
        logout = deployment["provider"].requested("/logout")
        assert logout and logout[-1].get("id_token_hint")
        assert logout[-1]["post_logout_redirect_uri"].endswith("/oauth2callback")
        # the cookie is gone: a bookmark of the patient's page now asks to sign in
        text = open_page(page, f"{url}/patient?patient={patient}", SIGN_IN)
        assert "Infusions so far" not in text and f"Patient {patient}" not in text
    finally:
        page.context.close()


def test_an_analyst_sees_counts_and_no_patient(deployment, browser, database):
    url, patient = deployment["url"], a_patient_on_the_worklist(database)
    page = sign_in(browser, deployment, ANALYST)
    try:
        # the analyst's first page, at the root
        seen = {"clinic": (settled(page, "Clinic outcomes", "Response rate", "Remission rate"), page.content())}
        assert f"Signed in as {ANALYST} (analyst)" in seen["clinic"][0]
        assert menu(page) == ["Clinic outcomes", "Data quality"]
        seen["data-quality"] = (open_page(page, f"{url}/data-quality", "Latest run", "What the database holds"),
                                page.content())
        for path, absent in [(f"patient?patient={patient}", "Infusions so far"), ("worklist", "Patients shown")]:
            seen[path] = (open_page(page, f"{url}/{path}", REFUSED), page.content())
            assert absent not in seen[path][0], path
        # No patient row anywhere: no patient id in any page's text nor in its markup (data grids
        # draw on a canvas but keep their cells in the page for screen readers), as a whole
        # token (not the digits of a chart's coordinate such as 716.8000000000001). The refused
        # Patient page's own address holds one, so its markup is searched outside the URL.
        ids = patient_ids(database)
        for name, (text, html) in seen.items():
            shown = text + html.replace(f"patient={patient}", "")
            tokens = numbers(shown)
            assert not [pid for pid in ids if (pid in tokens if pid.isdigit() else pid in shown)], name
    finally:
        page.context.close()


def test_a_user_removed_from_the_settings_is_refused_on_the_next_page_load(deployment, browser):
    url, settings = deployment["url"], deployment["settings"]
    page = sign_in(browser, deployment, ANALYST)
    try:
        settled(page, "Response rate")
        # "A user is removed by deleting their line" (docs/access.md)
        settings.write_text("".join(line for line in SETTINGS.splitlines(keepends=True) if ANALYST not in line),
                            encoding="utf-8")
        page.reload()
        text = settled(page, NO_ROLE)
        assert f"Signed in as {ANALYST} (no role)" in text
        assert not menu(page) and "Response rate" not in text and "Clinic outcomes" not in text
        text = open_page(page, f"{url}/data-quality", NO_ROLE)
        assert "Latest run" not in text and not menu(page)
        # given back their line, the same session has its pages again on the next load
        settings.write_text(SETTINGS, encoding="utf-8")
        open_page(page, f"{url}/clinic", "Response rate")
        assert menu(page) == ["Clinic outcomes", "Data quality"]
    finally:
        settings.write_text(SETTINGS, encoding="utf-8")
        page.context.close()
