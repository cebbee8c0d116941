"""The dashboard's server process: Streamlit serving `dashboard/app.py`, ready before the first
visitor after a start (`outcomes dashboard` runs `python -m dashboard.serve <streamlit options>`).

Why: `streamlit run` runs none of our code until a visitor's page does. So after every start of
the server (a deploy, a reboot, a crash) the first visitor paid for importing what the pages
import (pandas, Plotly, Arrow, the board report's PDF writer: about 1.8 s), for opening the
database version and for their page's answers: 2.9-3.5 s per page at 200,000 patients, against
1.4-1.7 s for a later new session (docs/scaling.md). Here, as soon as Streamlit's runtime
exists, a thread imports those modules and starts the watcher (`dashboard/warming.py`), which
opens the current version and asks it the questions the last server process was asked
(`dashboard/recent_questions.py` keeps them in a file beside the database). The page runs find
all of it in the process's caches.

`streamlit run dashboard/app.py` still works: the watcher then starts on the first page run.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import logging
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
THREAD_NAME = "outcomes-warming-start"
WAIT_FOR_RUNTIME_S = 120.0

log = logging.getLogger("infusion_outcomes.serve")


def modules_the_pages_import() -> list[str]:
    """Every module the router and the page scripts import (read from their source: the scripts
    are run by Streamlit, never imported), the modules named in `from package import module`
    included. Importing them imports the rest of the dashboard and its libraries."""
    names: list[str] = []
    for script in (APP, *sorted((APP.parent / "views").glob("*.py"))):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
                names += [f"{node.module}.{alias.name}" for alias in node.names
                          if _is_module(f"{node.module}.{alias.name}")]
    return list(dict.fromkeys(names))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # `name` is a function or class of its package, not a module
        return False


def prepare(wait_s: float = WAIT_FOR_RUNTIME_S) -> bool:
    """Once Streamlit's runtime exists (the dashboard's caches belong to it, so nothing is imported
    before), import what the pages import and start the database watcher. False if the runtime
    never came."""
    from streamlit.runtime import Runtime

    deadline = time.monotonic() + wait_s
    while not Runtime.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    for name in modules_the_pages_import():
        importlib.import_module(name)
    # Streamlit's first element in the process asks whether it runs in a Python REPL
    # (`env_util.is_repl`: inspect.stack(), which maps every loaded module to its file, 0.14 s
    # with the pages' imports loaded); done here, that call reuses inspect's map.
    inspect.stack()
    from dashboard import warming

    warming.start()
    return True


def _prepare_in_background() -> None:
    try:
        if not prepare():
            log.warning("Streamlit's runtime did not start: the database opens on the first visit")
    except Exception:  # noqa: BLE001 - the server must serve even if this preparation fails
        log.exception("could not prepare the dashboard before the first visitor")


def main(streamlit_options: list[str] | None = None) -> None:
    """Start the watcher's preparation, then Streamlit's own `streamlit run dashboard/app.py
    <options>` in this process (it returns when the server stops), its pages' HTML telling the
    browser where the server is (`dashboard/backend_url.py`)."""
    options = sys.argv[1:] if streamlit_options is None else streamlit_options
    threading.Thread(target=_prepare_in_background, name=THREAD_NAME, daemon=True).start()
    from streamlit.web import cli

    from dashboard import backend_url

    backend_url.install()  # a page opened by its own address connects at once

    sys.argv = ["streamlit", "run", str(APP), *options]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
