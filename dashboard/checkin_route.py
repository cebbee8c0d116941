"""The check-in door: a visitor holding a check-in code reaches the check-in page and nothing else.

A request with a `code` query parameter (the link a clinician opens, `/checkin?code=...`) is a
patient's check-in, whoever sends it: the router registers the check-in page alone, with no
navigation, so no other page, patient or the patient's own history can be reached from it, and
no staff sign-in is asked for (the code is the patient's only key; it opens one form, for one
patient, once, for `[checkin] link_minutes`). The refusals that protect every page still apply
first: a foreign host name (DNS rebinding), and local single-user mode on a network address.
"""

from __future__ import annotations

import streamlit as st

from dashboard import access
from pipelines.settings import AccessSettings

CODE_PARAMETER = "code"
PAGE = "views/checkin.py"


def requested() -> bool:
    """Whether this request carries a check-in code."""
    return CODE_PARAMETER in st.query_params


def serve(settings: AccessSettings) -> None:
    """Run the check-in page as the only page of the app for this request, then stop."""
    access.refuse_unsafe_request(settings)
    # Streamlit serves the default page at the root and answers its own path with "not found",
    # so the default is a hidden twin of the `checkin` page (as dashboard/app.py does).
    pages = [st.Page(PAGE, title="Check-in", url_path="checkin-start", default=True),
             st.Page(PAGE, title="Check-in", url_path="checkin")]
    st.navigation(pages, position="hidden").run()
    st.stop()
