"""Who is looking, and what they may see (docs/access.md).

Two modes, decided by the deployment rather than by a switch a user could flip:

- Sign-in: `.streamlit/secrets.toml` has an `[auth]` section (OpenID Connect, Streamlit's
  `st.login`). The signed-in user's e-mail is looked up in the settings' `[access.users]`; an
  unknown user sees no page at all.
- Local single-user mode: no `[auth]`. One person on their own computer, with the settings'
  `local_role` (default admin). Every page says so, and the app refuses to serve on an
  address other computers can reach unless `allow_local_mode_on_network` is set, because
  without sign-in anyone who can reach the address would see every record.

What a role sees is the table `ROLE_PAGES` below. Pages outside it are still registered, but
hidden and refusing (`refuse`), so a bookmarked link says why instead of "not found".
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

import streamlit as st

from pipelines.access_policy import forwarded_refusal, host_refusal, local_mode_refusal, redirect_host
from pipelines.settings import AccessSettings

# Dashboard pages by their URL path, in menu order.
PAGE_TITLES = {"worklist": "Worklist", "patient": "Patient", "clinic": "Clinic outcomes",
               "data-quality": "Data quality", "audit": "Audit log"}
PATIENT_LEVEL_PAGES = ("worklist", "patient")

ROLE_PAGES = {
    "clinician": ("worklist", "patient"),
    "director": ("clinic",),  # plus the patient-level pages when directors_see_patients
    "analyst": ("clinic", "data-quality"),
    "admin": ("worklist", "patient", "clinic", "data-quality", "audit"),
}
ROLE_NAMES = {"clinician": "clinician", "director": "clinic director", "analyst": "analyst", "admin": "administrator"}


@dataclass(frozen=True)
class Viewer:
    user: str  # the signed-in e-mail, or "local:<operating-system user>"
    role: str | None  # None: signed in but not given a role, or not signed in yet
    signed_in: bool  # True when identified by the OIDC provider
    local: bool  # local single-user mode (no sign-in configured)


def sign_in_configured() -> bool:
    """True when `.streamlit/secrets.toml` holds an `[auth]` section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file, or one Streamlit cannot parse: no sign-in
        return False


def current_viewer(access: AccessSettings) -> Viewer:
    if sign_in_configured():
        if not st.user.get("is_logged_in", False):
            return Viewer(user="", role=None, signed_in=False, local=False)
        email = str(st.user.get("email") or "")
        # The e-mail decides the role, so one the provider says it has not verified gives none
        # (a provider that does not say is trusted: docs/access.md recommends a clinic-only tenant).
        verified = st.user.get("email_verified") is not False
        return Viewer(user=email, role=access.role_of(email) if verified else None, signed_in=True, local=False)
    return Viewer(user=f"local:{getpass.getuser()}", role=access.local_role, signed_in=False, local=True)


def pages_for(role: str | None, access: AccessSettings) -> tuple[str, ...]:
    """The pages `role` may open, in menu order."""
    if role is None:
        return ()
    allowed = set(ROLE_PAGES[role])
    if role == "director" and access.directors_see_patients:
        allowed |= set(PATIENT_LEVEL_PAGES)
    return tuple(page for page in PAGE_TITLES if page in allowed)


def sees_patient_level(role: str | None, access: AccessSettings) -> bool:
    """May this role see rows about one identifiable patient (ids, raw records)?"""
    return "patient" in pages_for(role, access)


def gate(access: AccessSettings) -> Viewer:
    """Run by the router before any page: a request addressed by a foreign host name (DNS
    rebinding, `host_refusal`), the sign-in screen, the refusals and the local-mode notice. Returns the viewer only when they may see at least one page; otherwise stops."""
    refuse_unsafe_request(access)
    viewer = current_viewer(access)
    if viewer.local:
        st.caption(f":material/lock_open: **Local single-user mode:** no sign-in; you are "
                   f"{viewer.user.removeprefix('local:')}, as {ROLE_NAMES[viewer.role]}. Only this computer can "
                   f"open this page. Configure sign-in before sharing it (docs/access.md).")
        return viewer
    if not viewer.signed_in:
        st.title("Infusion Outcomes")
        st.write("This dashboard holds patient health information. Sign in with your clinic account.")
        st.button("Sign in", icon=":material/login:", on_click=st.login, args=_provider(), type="primary")
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {viewer.user} ({ROLE_NAMES.get(viewer.role, 'no role')})")
        st.button("Sign out", icon=":material/logout:", on_click=st.logout)
    if viewer.role is None:
        st.error(f"You are signed in as {viewer.user}, but this clinic's settings give that account no role, "
                 f"so no page is open to you. Ask an administrator to add it under [access.users].",
                 icon=":material/block:")
        st.stop()
    return viewer


def refuse_unsafe_request(access: AccessSettings) -> None:
    """Stop a request addressed by a foreign host name (DNS rebinding, `host_refusal`), and, in
    local single-user mode, one served on an address other computers can reach or forwarded by
    a proxy for another computer. Run before every page, the patients' check-in page included
    (dashboard/checkin_route.py)."""
    headers = st.context.headers
    refusal = host_refusal(headers.get("Host"), (*access.allowed_hosts, *_public_hosts()))
    if refusal is None and not sign_in_configured():
        refusal = (local_mode_refusal(st.get_option("server.address"), access)
                   or forwarded_refusal(headers.get_all("X-Forwarded-For"), headers.get_all("Forwarded"), access))
    if refusal:
        st.error(refusal, icon=":material/block:")
        st.stop()


def _public_hosts() -> tuple[str, ...]:
    """With sign-in, the host of its `redirect_uri`: the public name users open the dashboard by."""
    if not sign_in_configured():
        return ()
    host = redirect_host(st.secrets["auth"].get("redirect_uri"))
    return (host,) if host else ()


def _provider() -> tuple[str, ...]:
    """st.login's provider argument: none for a single `[auth]` provider, else the first named
    `[auth.<name>]` section."""
    section = st.secrets["auth"]
    if "client_id" in section:
        return ()
    named = [name for name, value in section.items() if hasattr(value, "keys")]
    return (named[0],) if named else ()


def refuse(page: str, viewer: Viewer) -> None:
    """What a page outside the viewer's role shows instead of itself (a bookmark, a shared
    link or an old menu), so the refusal says why rather than "page not found"."""
    st.title(PAGE_TITLES[page])
    st.error(f"This page is not open to your role ({ROLE_NAMES.get(viewer.role, 'no role')}). "
             f"Ask an administrator if you need it.", icon=":material/block:")
