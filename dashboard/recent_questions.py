"""The questions pages asked most recently (`data.ask`), for the server to ask the next database
version before anyone visits (`dashboard/warming.py`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

MAX_QUESTIONS = 64  # the most recent distinct questions kept: a few pages' first views and patients


@dataclass(frozen=True)
class Question:
    """One `ask` (`shared`: `ask_shared`): the function's name and its arguments, as cached."""
    shared: bool
    function: str
    args: tuple
    kwargs: tuple  # sorted (name, value) pairs, so equal questions compare equal


_recent: list[Question] = []  # oldest first; compared by equality (settings may hold dicts)
_lock = threading.Lock()
_last_asked = 0.0  # time.monotonic() of the latest `record`: when a page last asked anything


def record(shared: bool, function: str, args: tuple, kwargs: dict) -> None:
    """Remember a question a page asked: the newest last, the oldest dropped past MAX_QUESTIONS."""
    global _last_asked
    _last_asked = time.monotonic()
    question = Question(shared, function, args, tuple(sorted(kwargs.items())))
    with _lock:
        try:
            if question in _recent:
                _recent.remove(question)
        except (TypeError, ValueError):  # an argument with no plain equality (a frame): not replayed
            return
        _recent.append(question)
        del _recent[:-MAX_QUESTIONS]


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
