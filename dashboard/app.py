"""Infusion Outcomes dashboard: the router.

Run with `make run`, or `outcomes dashboard`, or: streamlit run dashboard/app.py. The database
comes from $OUTCOMES_DB (default data/outcomes.duckdb); settings from $OUTCOMES_CONFIG (default:
the clinical reference's). One page per job (design notes): the clinician's Worklist and
Patient pages, the director's Clinic outcomes, the analyst's Data quality, the administrator's
Audit log. Who sees which is `dashboard.access`: the menu holds the viewer's pages; the others
stay registered but hidden, and refuse. Pages live in dashboard/views/ and only compose
`dashboard.data.ask(...)` answers from pipelines.analytics with chart builders from
dashboard/charts/.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import access, checkin_route, styles, warming
from dashboard.data import settings
from dashboard.today import show_data_notices

# A local icon: a :material/...: page icon makes the browser fetch the favicon from Google Fonts, and
# the dashboard makes no request outside its own server.
st.set_page_config(page_title="Infusion Outcomes", page_icon=str(Path(__file__).parent / "icon.png"), layout="wide")
styles.apply("page")  # KPI cards wrap their text instead of cutting it
if warming.in_a_real_server():  # open each new database version before visitors (dashboard/warming.py)
    warming.start()

# url path -> (script, icon), grouped by the audience each page is for.
SECTIONS = {
    "Clinician": {"worklist": ("views/worklist.py", ":material/checklist:"),
                  "patient": ("views/patient.py", ":material/person:")},
    "Director": {"clinic": ("views/clinic.py", ":material/monitoring:")},
    "Analyst": {"data-quality": ("views/data_quality.py", ":material/fact_check:")},
    "Administrator": {"audit": ("views/audit.py", ":material/policy:")},
}

if checkin_route.requested():  # a patient's check-in code: that page only, no sign-in (docs/access.md)
    checkin_route.serve(settings().access)
viewer = access.gate(settings().access)
allowed = access.pages_for(viewer.role, settings().access)
menu: dict[str, list[st.Page]] = {}
hidden: list[st.Page] = []
url_paths: dict[int, str] = {}
for section, pages in SECTIONS.items():
    for url_path, (script, icon) in pages.items():
        page = st.Page(script, title=access.PAGE_TITLES[url_path], icon=icon, url_path=url_path,
                       visibility="visible" if url_path in allowed else "hidden")
        (menu.setdefault(section, []) if url_path in allowed else hidden).append(page)
        url_paths[id(page)] = url_path
# The app's root opens the viewer's first page. Streamlit serves its default page at the root and
# answers the default page's own path with "Page not found", so the default is a hidden page of
# its own running that page's script: a bookmarked /worklist (or /clinic) opens as well as /.
first = allowed[0]
script, icon = next(pages[first] for pages in SECTIONS.values() if first in pages)
start = st.Page(script, title=access.PAGE_TITLES[first], icon=icon, url_path="start", default=True,
                visibility="hidden")
url_paths[id(start)] = first
hidden.append(start)
list(menu.values())[-1].extend(hidden)  # hidden pages show in no section
current = st.navigation(menu)
if url_paths[id(current)] in allowed:
    show_data_notices()  # the demo note and the stale-data warning, on every page (dashboard/today.py)
    current.run()
else:
    access.refuse(url_paths[id(current)], viewer)
