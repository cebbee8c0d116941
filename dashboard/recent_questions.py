"""The questions pages asked most recently (`data.ask`), for the server to ask the next database
version before anyone visits (`dashboard/warming.py`), and the next server process after a
restart (`dashboard/serve.py`): they are kept in a file beside the database, `<db>.recent-questions`.

That file holds what the questions' arguments hold: the settings, cohort filters, dates and the
ids of patients whose pages were opened (no names, no scores, no user). It is written readable
by the server's own account only, as the database beside it should be. It is read back with an
unpickler that builds only dates and the dashboard's and pipelines' own dataclasses (the pickle
documentation's "Restricting Globals"), so a file put there by someone else cannot run code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pickle
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MAX_QUESTIONS = 64  # the most recent distinct questions kept: a few pages' first views and patients


@dataclass(frozen=True)
class Question:
    """One question: the function's name and its arguments, as cached. `kind` says how it was
    asked: "ask" (`data.ask`), "shared" (`data.ask_shared`) or "call" (a `data.remembered`
    function, made from answers)."""
    kind: str
    function: str
    args: tuple
    kwargs: tuple  # sorted (name, value) pairs, so equal questions compare equal


_recent: list[Question] = []  # oldest first; compared by equality (settings may hold dicts)
_lock = threading.Lock()
_last_asked = 0.0  # time.monotonic() of the latest `record`: when a page last asked anything
_changes = 0  # how many times `_recent` changed: `save` writes only when it has


def record(kind: str, function: str, args: tuple, kwargs: dict) -> None:
    """Remember a question a page asked: the newest last, the oldest dropped past MAX_QUESTIONS."""
    global _last_asked, _changes
    _last_asked = time.monotonic()
    question = Question(kind, function, args, tuple(sorted(kwargs.items())))
    with _lock:
        try:
            if _recent and _recent[-1] == question:
                return  # asked again at once (a page's rerun): nothing to keep or write
            if question in _recent:
                _recent.remove(question)
        except (TypeError, ValueError):  # an argument with no plain equality (a frame): not replayed
            return
        _recent.append(question)
        del _recent[:-MAX_QUESTIONS]
        _changes += 1


def newest_first() -> list[Question]:
    """The questions remembered, newest first."""
    with _lock:
        return _recent[::-1]


def seconds_since_a_page_asked() -> float:
    """How long ago a page last asked a question (its run may still be asking)."""
    return time.monotonic() - _last_asked


def forget() -> None:
    """Forget every question (tests)."""
    with _lock:
        _recent.clear()


def file_for(db_path: str | Path) -> Path:
    """Where the questions asked of `db_path` are kept between server processes."""
    return Path(f"{db_path}.recent-questions")


def save(path: Path, unless_unchanged_since: int | None = None) -> int:
    """Write the questions to `path` (whole, or not at all), readable by this account only, and
    return the change count written, to pass as `unless_unchanged_since` next time: then
    nothing is written when no question was asked since."""
    with _lock:
        if unless_unchanged_since == _changes:
            return _changes
        questions, changes = list(_recent), _changes
    try:
        pickled = pickle.dumps(questions, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # an argument pickle cannot write
        pickled = pickle.dumps([q for q in questions if _picklable(q)], protocol=pickle.HIGHEST_PROTOCOL)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(pickled)
    os.replace(partial, path)
    return changes


def _picklable(question: Question) -> bool:
    try:
        pickle.dumps(question)
        return True
    except (pickle.PicklingError, TypeError, AttributeError):
        return False


def load(path: Path) -> int:
    """Take the questions kept in `path` as the recent ones, if none were asked in this process
    yet; return how many. A missing file gives none; an unreadable one (another version's
    classes, or not ours) raises."""
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        questions = _QuestionsUnpickler(handle).load()
    if not isinstance(questions, list) or not all(_well_formed(q) for q in questions):
        # (another version of the dashboard may have written it: its questions, built as this
        # version's class without this version's fields, would break every page that asks)
        raise pickle.UnpicklingError(f"{path} holds no list of this version's questions")
    global _changes
    with _lock:
        if _recent:
            return 0
        _recent.extend(questions[-MAX_QUESTIONS:])
        _changes += 1
        return len(_recent)


KINDS = ("ask", "shared", "call")


def _well_formed(question) -> bool:
    return (isinstance(question, Question)
            and set(vars(question)) == {f.name for f in dataclasses.fields(Question)}
            and question.kind in KINDS and isinstance(question.function, str)
            and isinstance(question.args, tuple) and isinstance(question.kwargs, tuple))


# What a question's arguments may be built from besides the builtin values (str, int, tuple,
# dict, ...: pickle builds those without looking anything up).
_DATES = {("datetime", "date"): dt.date, ("datetime", "datetime"): dt.datetime,
          ("datetime", "timedelta"): dt.timedelta}
_OUR_PACKAGES = ("dashboard", "pipelines")


class _QuestionsUnpickler(pickle.Unpickler):
    """Builds dates and our own dataclasses only; any other name in the file is refused before
    its module is imported."""

    def find_class(self, module: str, name: str):
        if (module, name) in _DATES:
            return _DATES[module, name]
        if module.split(".")[0] in _OUR_PACKAGES:
            found = super().find_class(module, name)
            if isinstance(found, type) and dataclasses.is_dataclass(found):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a file of questions")
