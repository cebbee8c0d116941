"""Data is shown as text, never as HTML or script: ids, names and free text holding HTML, JS and
Markdown go through every page (the real app, AppTest) and come out as literal text.

Two guarantees, both checked: no page asks Streamlit to render HTML (no `unsafe_allow_html`,
`st.html` or components, checked in the source and in every element the pages produce), and
the hostile values do reach the page, escaped, so the test is not passing on an empty page."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from streamlit.testing.v1 import AppTest

from conftest import Clinic, assessment, patient, phq9_items, session
from dashboard.styles import STYLES

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
DASHBOARD = APP.parent

SCRIPT_ID = "<script>window.pwned=1</script>"
IMG_ID = '<img src=x onerror="alert(1)">'
CLINICIAN = "<b onmouseover=alert(2)>Dr Evil</b>"
SITE = "[Northside](javascript:alert(3)) **bold**"
SIDE_EFFECT = "<iframe src=javascript:alert(4)>"
ADVERSE = "<script>alert('ae')</script> :red[alarm]"
PAYLOADS = (SCRIPT_ID, IMG_ID, CLINICIAN, SITE, SIDE_EFFECT, ADVERSE)


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    clinic = Clinic(tmp_path_factory.mktemp("hostile"))
    ids = [SCRIPT_ID, IMG_ID, *[f"P{n:02d}" for n in range(12)]]
    clinic.patients = [patient(pid, clinician=CLINICIAN, site=SITE) for pid in ids]
    for pid in ids:
        for n in range(1, 8):
            clinic.sessions.append(session(f"{pid}-S{n}", f"2025-02-{2 * n:02d}T10:00:00", pid=pid,
                                           side_effects=SIDE_EFFECT, adverse_event=ADVERSE if n == 2 else "",
                                           bp_peak_sys=185 if n == 3 else 140))
        clinic.assessments.append(assessment(f"{pid}-A0", "2025-02-01T09:00:00", items=phq9_items(20, item9=1), pid=pid))
        clinic.assessments.append(assessment(f"{pid}-A1", "2025-02-15T09:00:00", items=phq9_items(15, item9=2), pid=pid))
    # A row that is quarantined, so its raw values reach the Data quality page.
    clinic.sessions.append(session("<svg onload=alert(5)>", "2025-02-20T10:00:00", pid="<u>nobody</u>"))
    clinic.load()
    return clinic.db


def walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def shown_text(app: AppTest) -> str:
    """Everything the page put on screen as text: Markdown bodies and table cells."""
    parts = []
    for node in walk(app._tree):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "body"):
            parts.append(re.sub(r"\\(.)", r"\1", proto.body))  # Markdown escapes undone
    parts += [frame.value.to_csv() for frame in app.dataframe]
    return "\n".join(parts)


def assert_no_html_rendering(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    for node in walk(app._tree):
        if getattr(node, "type", None) == "html" and node.proto.body in STYLES.values():
            continue  # the dashboard's own constant CSS (dashboard/styles.py)
        assert getattr(node, "type", None) not in ("html", "iframe", "custom_component"), node
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "allow_html"):
            assert not proto.allow_html, f"{node.type} renders HTML: {getattr(proto, 'body', '')[:80]}"


@pytest.fixture
def run_page(hostile_db, tmp_path, monkeypatch):
    monkeypatch.setenv("OUTCOMES_DB", str(hostile_db))
    monkeypatch.setenv("OUTCOMES_AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.delenv("OUTCOMES_CONFIG", raising=False)
    monkeypatch.setenv("OUTCOMES_TODAY", "2025-02-21")  # the day after the last infusion: patients in treatment

    def run(page: str, query: dict | None = None, tab: tuple[str, str] | None = None) -> AppTest:
        app = AppTest.from_file(str(APP), default_timeout=60)
        for key, value in (query or {}).items():
            app.query_params[key] = value
        app.run()
        app.switch_page(page)
        app.run()
        if tab:
            # a tab the page does not have would be ignored and the test would check the first tab
            assert not tab[0].endswith("_tab") or tab[1] in [t.label for t in app.tabs], f"{page}: no tab {tab[1]!r}"
            app.session_state[tab[0]] = tab[1]
            app.run()
        assert_no_html_rendering(app)
        return app

    yield run


def test_no_dashboard_code_asks_streamlit_to_render_html():
    for path in DASHBOARD.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        if path == DASHBOARD / "styles.py":  # the one st.html: constant CSS (below)
            source = source.replace("st.html(STYLES[name])", "", 1)
        for risky in ("unsafe_allow_html", "st.html(", "components.html", "components.v1", "st.components"):
            assert risky not in source, f"{path.relative_to(DASHBOARD)} uses {risky}"


def test_the_only_html_is_constant_css_that_fetches_nothing():
    """dashboard/styles.py hands Streamlit HTML, so each of its styles must be a plain <style>
    block written in the file: no markup, no script, nothing fetched."""
    for name, css in STYLES.items():
        assert re.fullmatch(r"<style>[^<>]*</style>", css), name
        for fetch in ("url(", "@import", "javascript:", "expression("):
            assert fetch not in css.lower(), (name, fetch)


def test_the_patient_page_shows_a_hostile_id_and_free_text_as_text(run_page):
    app = run_page("views/patient.py", {"patient": SCRIPT_ID})
    text = shown_text(app)
    assert f"Patient {SCRIPT_ID}" in text
    assert CLINICIAN in text and SITE in text
    infusions = run_page("views/patient.py", {"patient": IMG_ID}, ("patient_tab", "Infusions"))
    assert SIDE_EFFECT in shown_text(infusions)


@pytest.mark.parametrize("tab", [None, "Clinicians and sites", "Safety"])
def test_the_clinic_page_shows_hostile_names_as_text(run_page, tab):
    app = run_page("views/clinic.py", tab=("clinic_tab", tab) if tab else None)
    assert app.title[0].value == "Clinic outcomes"


def test_a_chosen_hostile_name_is_described_as_text_not_markup(run_page):
    """The filter's description in the page's caption is Markdown: a chosen site whose name is a
    Markdown link and bold text must reach it escaped (no link, no bold), yet read as typed."""
    app = run_page("views/clinic.py", tab=("filter_sites", [SITE]))
    caption = next(c.value for c in app.caption if "treated patients" in c.value)
    assert "\\[Northside\\]\\(javascript" in caption and "](" not in caption.replace("\\](", "")
    assert SITE in re.sub(r"\\(.)", r"\1", caption)  # as typed: no lower-casing


def test_the_worklist_shows_hostile_ids_as_text(run_page):
    text = shown_text(run_page("views/worklist.py"))
    # The id column links to the patient's page: the id travels URL-encoded in the link.
    assert quote(SCRIPT_ID, safe="") in text and quote(IMG_ID, safe="") in text
    assert CLINICIAN in text and SITE in text


@pytest.mark.parametrize("tab", ["Ingest runs", "Quarantine", "Baselines", "Duplicates and updates"])
def test_data_quality_shows_hostile_raw_rows_as_text(run_page, tab):
    app = run_page("views/data_quality.py", tab=("quality_tab", tab))
    if tab == "Quarantine":
        assert "<svg onload=alert(5)>" in shown_text(app)


def test_the_audit_page_shows_a_hostile_patient_id_as_text(run_page):
    run_page("views/patient.py", {"patient": SCRIPT_ID})  # writes the audit entry
    assert SCRIPT_ID in shown_text(run_page("views/audit.py"))
