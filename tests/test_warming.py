"""The server answers a new database version before anyone visits (dashboard/warming.py): the
questions pages asked of the last version are asked of the new one, so the first visitor after
an ingest finds their page's answers computed. In process with AppTest (what is recorded, what
is answered, and that the next page run computes nothing), and with the real server and
Chromium (the server's own thread notices the swap and answers without a visitor)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import APP, REPO, SAMPLE
from dashboard import data, recent_questions, warming
from pipelines.ingest import ingest
from pipelines.settings import Settings


def clinic_page(db, monkeypatch) -> AppTest:
    monkeypatch.setenv("OUTCOMES_DB", str(db))
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.switch_page("views/clinic.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


@pytest.fixture
def served(sample_database, tmp_path):
    """A copy of the sample database that a test may ingest into."""
    db = tmp_path / "outcomes.duckdb"
    shutil.copy(sample_database, db)
    st.cache_data.clear()
    st.cache_resource.clear()
    recent_questions.forget()
    yield db
    recent_questions.forget()


def test_a_new_version_is_answered_so_the_next_page_run_computes_nothing(served, monkeypatch):
    before = metrics(clinic_page(served, monkeypatch))
    asked = recent_questions.newest_first()
    names = {q.function for q in asked}
    assert {"pipelines.reports.clinic:headline_outcomes", "pipelines.reports.course:trajectory",
            "pipelines.reports.headline:headline_rates"} <= names

    ingest(served, [SAMPLE], Settings())  # the nightly run: a new file swapped in, a new version
    version = data.file_version(str(served))
    result = warming.warm(str(served), version)
    assert (result.version, result.answered, result.failed) == (version, len(asked), 0)

    computed = []
    resolve = data._resolve
    monkeypatch.setattr(data, "_resolve", lambda name: computed.append(name) or resolve(name))
    after = metrics(clinic_page(served, monkeypatch))
    assert computed == []  # every answer of the page was there before the visit
    assert after == before  # the same exports: the same figures, from the new version


def test_the_worklists_table_is_made_for_a_new_version_so_the_next_run_computes_nothing(served, monkeypatch):
    """The Worklist's table is made from answers by the page's own code (`worklist_table`, the
    alerts without their acknowledgements, shaped for the grid): remembered and made too."""
    from dashboard import acknowledging

    def worklist_page():
        monkeypatch.setenv("OUTCOMES_DB", str(served))
        app = AppTest.from_file(str(APP), default_timeout=120)
        app.switch_page("views/worklist.py")
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        return app.dataframe[0].value

    before = worklist_page()
    calls = [q for q in recent_questions.newest_first() if q.kind == "call"]
    assert [q.function for q in calls] == ["dashboard.worklist_table:worklist_table"]

    ingest(served, [SAMPLE], Settings())
    version = data.file_version(str(served))
    assert warming.warm(str(served), version).failed == 0

    computed = []
    raised, resolve = acknowledging.raised_alerts, data._resolve
    monkeypatch.setattr(acknowledging, "raised_alerts", lambda *a: computed.append("alerts") or raised(*a))
    monkeypatch.setattr(data, "_resolve", lambda name: computed.append(name) or resolve(name))
    after = worklist_page()
    assert computed == []  # no answer, and not the table, made in the page's run
    assert after.equals(before)  # the same exports: the same list, from the new version


def test_questions_are_kept_newest_first_each_once_and_at_most_max():
    recent_questions.forget()
    try:
        for k in range(recent_questions.MAX_QUESTIONS + 5):
            recent_questions.record("ask", "m:f", (k,), {})
        recent_questions.record("ask", "m:f", (recent_questions.MAX_QUESTIONS,), {})  # asked again: newest
        kept = recent_questions.newest_first()
        assert len(kept) == recent_questions.MAX_QUESTIONS
        assert kept[0].args == (recent_questions.MAX_QUESTIONS,)
        assert kept[1].args == (recent_questions.MAX_QUESTIONS + 4,)
        assert kept[-1].args == (5,)  # the five oldest dropped
        assert len({q.args for q in kept}) == len(kept)
    finally:
        recent_questions.forget()


def test_a_question_the_new_version_cannot_answer_is_skipped_not_fatal(served, monkeypatch):
    clinic_page(served, monkeypatch)
    recent_questions.record("ask", "pipelines.reports.clinic:headline_outcomes", ("not settings",), {})
    ingest(served, [SAMPLE], Settings())
    result = warming.warm(str(served), data.file_version(str(served)))
    assert result.failed == 1 and result.answered == len(recent_questions.newest_first()) - 1


def visit_clinic_outcomes(port: int) -> None:
    """Open Clinic outcomes on the real server in Chromium, until drawn (its questions asked)."""
    from test_e2e_browser import CHROMIUM, SETTLED, sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/clinic")
        page.get_by_text("Response rate").first.wait_for(timeout=60_000)
        page.wait_for_function(SETTLED, timeout=60_000)
        browser.close()


def logged(log, pattern: str, timeout_s: float = 60):
    """The match of `pattern` in the server's `log`, once it is there (None after `timeout_s`)."""
    line = re.compile(pattern)
    deadline = time.monotonic() + timeout_s
    while not (found := line.search(log.read_text())) and time.monotonic() < deadline:
        time.sleep(0.25)
    return found


def answered_line(log, version: str, timeout_s: float = 60):
    """The server's line saying it answered `version` with no question failing (group 1: how
    many questions)."""
    return logged(log, rf"opened database version {version} before any visitor and answered (\d+) recent "
                       rf"questions \(0 failed\)", timeout_s)


def test_the_real_server_answers_a_new_version_before_anyone_visits(sample_database, tmp_path):
    from test_e2e_browser import free_port, streamlit_server

    db = tmp_path / "outcomes.duckdb"
    shutil.copy(sample_database, db)
    port, log = free_port(), tmp_path / "streamlit.log"
    with streamlit_server(port, {**os.environ, "OUTCOMES_DB": str(db)}, log):
        visit_clinic_outcomes(port)
        subprocess.run([sys.executable, "-m", "pipelines.cli", "ingest", str(SAMPLE), "--db", str(db), "--quiet"],
                       cwd=REPO, check=True, capture_output=True)
        found = answered_line(log, data.file_version(str(db)))
        frozen = logged(log, r"set (\d+) objects aside from the garbage collector")
    assert found, log.read_text()
    assert int(found.group(1)) >= 6  # the Clinic outcomes page's questions (and the router's)
    assert frozen and int(frozen.group(1)) > 10_000  # the modules and the answers (warming.settle_heap)
    # The warmer asks the caches outside a page run on purpose: no warning about it on the console.
    assert f"Thread '{warming.THREAD_NAME}': missing ScriptRunContext" not in log.read_text()


# --- kept beside the database, for the next server process ---------------------------------------

def test_questions_are_kept_beside_the_database_for_this_account_only_and_read_back(tmp_path):
    import datetime as dt

    from pipelines.analytics.cohorts import CohortFilter

    recent_questions.forget()
    try:
        asked = [("shared", "pipelines.analytics.worklist:worklist", (Settings(),),
                  {"as_of": dt.date(2026, 12, 7), "cohort": CohortFilter()}),
                 ("ask", "pipelines.analytics.patient:patient_record", (Settings(), "P0001"), {})]
        for kind, function, args, kwargs in asked:
            recent_questions.record(kind, function, args, kwargs)
        path = recent_questions.file_for(tmp_path / "outcomes.duckdb")
        assert path.name == "outcomes.duckdb.recent-questions"
        written = recent_questions.save(path)
        assert path.stat().st_mode & 0o777 == 0o600
        before = recent_questions.newest_first()

        recent_questions.forget()  # a new server process
        assert recent_questions.load(path) == 2
        assert recent_questions.newest_first() == before
        assert recent_questions.newest_first()[0].args[1] == "P0001"
        assert recent_questions.load(path) == 0  # questions of this process already: kept as they are

        # Nothing asked since: not written again (the watcher saves every few seconds).
        path.unlink()
        assert recent_questions.save(path, unless_unchanged_since=written + 1) == written + 1 and not path.exists()
        recent_questions.record("ask", "m:f", (1,), {})
        recent_questions.save(path, unless_unchanged_since=written + 1)
        recent_questions.forget()
        assert recent_questions.load(path) == 3
    finally:
        recent_questions.forget()


@pytest.mark.parametrize("payload", ["os.system", "a function of ours", "a module never imported"])
def test_a_file_of_questions_put_there_by_someone_else_runs_no_code(tmp_path, payload):
    import os as os_module
    import pickle

    from pipelines.store import publishing

    class Call:
        """Unpickled, calls `function(*args)`: what a hostile file would hold."""
        def __init__(self, function, args):
            self.function, self.args = function, args

        def __reduce__(self):
            return self.function, self.args

    marker = tmp_path / "ran"
    function = {"os.system": os_module.system, "a function of ours": publishing.start_publish,
                "a module never imported": None}[payload]
    if function is None:  # protocol 0 by hand: GLOBAL antigravity_xyz.fly, called with ()
        pickled = b"cantigravity_xyz\nfly\n(tR."
    else:
        pickled = pickle.dumps([Call(function, (f"touch {marker}" if payload == "os.system" else str(marker),))])
    path = tmp_path / "outcomes.duckdb.recent-questions"
    path.write_bytes(pickled)
    recent_questions.forget()
    with pytest.raises(pickle.UnpicklingError, match="not allowed in a file of questions"):
        recent_questions.load(path)
    assert not marker.exists() and not list(tmp_path.glob("*.checkin-publish.log"))
    assert "antigravity_xyz" not in sys.modules and recent_questions.newest_first() == []


def test_a_file_of_another_versions_questions_is_set_aside_not_taken(tmp_path):
    """After an upgrade the file holds the last version's questions; built as this version's
    class without its fields, they broke every page that asked (seen on a restart)."""
    import pickle

    old = object.__new__(recent_questions.Question)
    old.__dict__.update({"shared": True, "function": "m:f", "args": (), "kwargs": ()})  # an older shape
    path = tmp_path / "outcomes.duckdb.recent-questions"
    path.write_bytes(pickle.dumps([old]))
    recent_questions.forget()
    with pytest.raises(pickle.UnpicklingError, match="this version's questions"):
        recent_questions.load(path)
    assert recent_questions.newest_first() == []
    recent_questions.record("ask", "m:f", (), {})  # asking works as before
    assert len(recent_questions.newest_first()) == 1
    recent_questions.forget()


def test_a_restarted_server_asks_the_last_servers_questions_before_anyone_visits(sample_database, tmp_path):
    """`outcomes dashboard`'s server (dashboard/serve.py): the first process is asked the Clinic
    outcomes page's questions and stopped; the next one, with no visitor, opens the database and
    answers them."""
    from test_e2e_browser import free_port, streamlit_server

    db = tmp_path / "outcomes.duckdb"
    shutil.copy(sample_database, db)
    env = {**os.environ, "OUTCOMES_DB": str(db)}
    port, log = free_port(), tmp_path / "streamlit.log"
    with streamlit_server(port, env, log):
        visit_clinic_outcomes(port)
    kept = recent_questions.file_for(db)
    assert kept.exists(), log.read_text()  # written when the server stopped

    restarted = tmp_path / "restarted.log"
    with streamlit_server(free_port(), env, restarted):
        found = answered_line(restarted, data.file_version(str(db)))
    assert found, restarted.read_text()
    assert re.search(r"took (\d+) questions asked before this server started", restarted.read_text())
    assert int(found.group(1)) >= 6  # the Clinic outcomes page's questions (and the router's)
    assert "missing ScriptRunContext" not in restarted.read_text()


def test_the_server_imports_what_the_pages_import_and_runs_no_page():
    from dashboard import serve

    names = serve.modules_the_pages_import()
    # `from dashboard.views import clinic_bases` (a module of a package), `from x import function`
    sections = {"dashboard.views.clinic_bases", "dashboard.views.clinic_report", "dashboard.views.clinic_tabs"}
    assert sections | {"pipelines.reports.board_pdf", "dashboard.data", "pandas"} <= set(names)
    assert "dashboard.data.ask" not in names
    scripts = {f"dashboard.views.{p.stem}" for p in (REPO / "dashboard" / "views").glob("*.py")} - sections - {
        "dashboard.views.__init__"}
    assert not scripts & set(names), "a page script would run on import"
