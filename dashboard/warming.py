"""The server opens each new database version, and answers what users asked of the last one,
before anyone visits.

Why: the ingest stores the outcome tables in the file before the swap, so opening a version
computes nothing heavy, but the first visitor after an ingest still paid for opening it, for the
first reads of its tables into DuckDB's buffer pool and for computing every answer of their page
(at 200,000 patients 2.1-2.7 s in Chromium against 1.5-1.8 s for any later new session;
docs/scaling.md). A server in service is asked much the same questions day after day (each
page's first view with the clinic's usual filters, the patients on today's list), so the
questions asked of one version are the best guess of what the next will be asked.

How: every `ask` records its question (`dashboard/recent_questions.py`); a daemon thread
(`start`, once per server process) looks at the database file every POLL_SECONDS and, when a
new version appears, opens it (`data._snapshot`) and asks it the most recent questions, newest
first, within a time budget. The questions are kept beside the database too, so a restarted
server asks them of the version it opens first (`dashboard/serve.py` starts the thread with the
server). The answers land in the same caches the pages read, keyed on the version, so a visitor
finds them there. A visitor who arrives meanwhile waits for at most the question being answered
(the snapshot's lock), not for the whole list, and the next question waits until their page has
stopped asking. Nothing is computed that a page would not have computed: only questions a user
asked, of the version the user would see.
"""

from __future__ import annotations

import atexit
import gc
import logging
import threading
import time
from dataclasses import dataclass

import streamlit as st

from . import data, recent_questions

# How often the file is looked at (one stat call): the server starts on a new version within half
# a second of its swap (2 s before), leaving less time for a visitor to arrive before it.
POLL_SECONDS = 0.5
BUDGET_SECONDS = 60.0  # stop asking a new version after this long: the rest are answered on demand
VISITOR_QUIET_SECONDS = 0.5  # the next question waits until no page has asked anything for this long
SAVE_SECONDS = 10.0  # how often the recent questions are written beside the database, when changed

log = logging.getLogger("infusion_outcomes.warming")
if not log.handlers:  # the server's console, beside Streamlit's own lines
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)

THREAD_NAME = "outcomes-warming"


class _NotThisThread(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for this module's thread (and the one
    that starts it with the server, `dashboard/serve.py`): they use the pages' caches outside any
    page run on purpose, so the warning (once per version) says nothing to whoever reads the
    server's console. Every other thread's warnings stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.threadName.startswith(THREAD_NAME)


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NotThisThread())


@dataclass
class Warmed:
    version: str
    answered: int
    failed: int
    seconds: float


def warm(path: str, version: str, budget_s: float = BUDGET_SECONDS) -> Warmed:
    """Open `version` of `path` and ask it the recent questions, newest first, until `budget_s`.
    A question that fails (a page that asked with arguments this version cannot answer) is
    counted and skipped: the page asking it will show its own message."""
    start = time.perf_counter()
    data._snapshot(path, version)
    answered = failed = 0
    for question in recent_questions.newest_first():
        # A visitor's page goes first: the two cores are theirs while their run asks questions
        # (measured: a visitor racing the warmer at once after an ingest took 0.3-0.8 s longer).
        while (recent_questions.seconds_since_a_page_asked() < VISITOR_QUIET_SECONDS
               and time.perf_counter() - start <= budget_s):
            time.sleep(0.05)
        if time.perf_counter() - start > budget_s:
            break
        try:
            if question.kind == "call":  # the function itself, not its recording wrapper
                data._resolve(question.function).__wrapped__(*question.args, **dict(question.kwargs))
            else:
                answer = data._shared_answer if question.kind == "shared" else data._answer
                answer(path, version, question.function, question.args, dict(question.kwargs))
            answered += 1
        except Exception:  # noqa: BLE001 - one question must not stop the others
            failed += 1
    return Warmed(version, answered, failed, time.perf_counter() - start)


def _watch(path_of, stop: threading.Event) -> None:
    """The thread's loop: warm each new version of the served file once. It first takes the
    questions the last server process was asked (a restart), and keeps this process's in the
    same file every SAVE_SECONDS while pages ask new ones."""
    seen, saved, saved_at = None, None, time.monotonic()
    _take_kept_questions(path_of())
    while not stop.is_set():
        path = path_of()
        if time.monotonic() - saved_at >= SAVE_SECONDS:
            saved, saved_at = _keep_questions(path, saved), time.monotonic()
        version = data.file_version(path)
        if version is not None and version != seen:
            try:
                result = warm(path, version)
                log.info("opened database version %s before any visitor and answered %d recent questions "
                         "(%d failed) in %.2f s", version, result.answered, result.failed, result.seconds)
                log.info("set %d objects aside from the garbage collector's full collections", settle_heap())
            except Exception:  # noqa: BLE001 - a file being replaced, or not an outcomes database yet
                log.exception("could not open database version %s ahead of visitors", version)
            seen = version
        stop.wait(POLL_SECONDS)


def settle_heap() -> int:
    """Set what the process holds now (the modules, this version's answers) aside from Python's
    cyclic garbage collector (`gc.freeze`), and return how many objects that is.

    Why: a warmed server at 200,000 patients tracks about 230,000 objects, and a full collection
    of them took 0.14-0.26 s, holding the interpreter's lock, about once per page view (measured
    with `gc.callbacks` in the server). Frozen objects are still freed when nothing refers to
    them; a full collection then scans only what is newer: 2-4 ms. Each new version first
    unfreezes and collects, so the last version's answers, no longer cached, are not kept."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def _take_kept_questions(path: str) -> None:
    try:
        kept = recent_questions.load(recent_questions.file_for(path))
        if kept:
            log.info("took %d questions asked before this server started", kept)
    except Exception:  # noqa: BLE001 - another version's file, or not ours: start without
        log.warning("could not read the questions kept in %s; starting without them",
                    recent_questions.file_for(path), exc_info=True)


_keeping = True  # False once the questions could not be written (said once, not every time)


def _keep_questions(path: str, saved: int | None) -> int | None:
    global _keeping
    if not _keeping:
        return saved
    try:
        return recent_questions.save(recent_questions.file_for(path), unless_unchanged_since=saved)
    except OSError:  # a read-only folder: the questions live in this process only
        _keeping = False
        log.warning("could not keep the recent questions beside %s: a restarted server will not "
                    "know them", path, exc_info=True)
        return saved


def in_a_real_server() -> bool:
    """Whether the page runs in a Streamlit server: AppTest runs pages with a stand-in runtime (a
    mock), where a background thread would race the test's own database changes."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


@st.cache_resource(show_spinner=False)
def start() -> threading.Event:
    """Start the watcher once per server process; returns the event that stops it."""
    stop = threading.Event()
    threading.Thread(target=_watch, args=(data.db_path, stop), name=THREAD_NAME, daemon=True).start()
    atexit.register(lambda: _keep_questions(data.db_path(), None))  # a server stopped: the latest too
    return stop
