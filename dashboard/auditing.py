"""The dashboard's side of the audit log (`pipelines.audit`): one entry each time a viewer
opens a patient's record (per patient, once per browser session, not on every rerun of the
script) and one for every export of patient-level data.

Exports are logged from inside the download's data callable, which Streamlit runs only when
the button is clicked and in a worker thread without Streamlit commands: so the viewer and the
log path are captured by the page first (`Auditor`), and a log that cannot be written raises
there and the file is not produced.

Each append also needs the audit key and moves the log's head (`pipelines.audit`: the key comes
from $OUTCOMES_AUDIT_KEY or `[audit]` in .streamlit/secrets.toml, the same file the CLI reads,
else a key generated once for this computer); no key, no entry, no view.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.access import Viewer, current_viewer
from dashboard.data import db_path, settings
from pipelines import audit


def audit_log_path() -> Path:
    return audit.audit_path(db_path(), settings().access.audit_log)


@dataclass(frozen=True)
class Auditor:
    """The current viewer and log, captured on the page's thread."""

    viewer: Viewer
    path: Path

    def export(self, page: str, patient_id: str | None, detail: str) -> None:
        audit.append(self.path, self.viewer.user, self.viewer.role or "", "export", page, patient_id, detail)


def auditor() -> Auditor:
    return Auditor(current_viewer(settings().access), audit_log_path())


def record_view(page: str, patient_id: str, detail: str | None = None) -> None:
    """Log that the viewer is looking at `patient_id`'s record, once per browser session for
    each (page, patient, detail). A log that cannot be written stops the page: an unaudited
    view of a record must not happen."""
    seen = st.session_state.setdefault("_audited_views", set())
    key = (page, patient_id, detail)
    if key in seen:
        return
    trail = auditor()
    try:
        audit.append(trail.path, trail.viewer.user, trail.viewer.role or "", "view", page, patient_id, detail)
    except OSError as error:
        st.error(f"The record cannot be shown: the audit log cannot be written ({error}). "
                 f"Tell the administrator.", icon=":material/block:")
        st.stop()
    seen.add(key)
