"""The dashboard's server process: Streamlit serving `dashboard/app.py`, ready before the first
visitor after a start (`outcomes dashboard` runs `python -m dashboard.serve <streamlit options>`).

Why: `streamlit run` runs none of our code until a visitor's page does. So after every start of
the server (a deploy, a reboot, a crash) the first visitor paid for importing the dashboard's
modules (pandas, Plotly, Arrow: about 1.3 s), for opening the database version and for their
page's answers: 3.7-5.1 s per page at 200,000 patients, against 1.5-2.1 s for a later new session
(docs/scaling.md). Here, as soon as Streamlit's runtime exists, a thread imports those modules
and starts the watcher (`dashboard/warming.py`), which opens the current version and asks it
the questions the last server was asked (`dashboard/recent_questions.py` keeps them in a file
beside the database for this). The page runs find all of it in the process's caches.

`streamlit run dashboard/app.py` still works: the watcher then starts on the first page run.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
THREAD_NAME = "outcomes-warming-start"
WAIT_FOR_RUNTIME_S = 120.0

log = logging.getLogger("infusion_outcomes.serve")


def dashboard_modules() -> list[str]:
    """The dashboard's importable modules: every module of the package but the page scripts
    (`views/`, run by Streamlit, not imported) and the router (`app`)."""
    import dashboard

    return [module.name for module in pkgutil.walk_packages(dashboard.__path__, "dashboard.")
            if not module.name.startswith("dashboard.views") and module.name != "dashboard.app"]


def prepare(wait_s: float = WAIT_FOR_RUNTIME_S) -> bool:
    """Once Streamlit's runtime exists (the dashboard's caches belong to it, so nothing is imported
    before), import the dashboard's modules and start the database watcher. False if the runtime
    never came."""
    from streamlit.runtime import Runtime

    deadline = time.monotonic() + wait_s
    while not Runtime.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    for name in dashboard_modules():
        importlib.import_module(name)
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
    <options>` in this process (it returns when the server stops)."""
    options = sys.argv[1:] if streamlit_options is None else streamlit_options
    threading.Thread(target=_prepare_in_background, name=THREAD_NAME, daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *options]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
