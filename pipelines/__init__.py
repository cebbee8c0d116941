"""Infusion Outcomes pipelines: read clinic exports, score and validate them, load DuckDB.

For analysts: `from pipelines import connect, CohortFilter` (see `docs/analysts.md`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import DEFAULT_DB, Settings, load_settings

if TYPE_CHECKING:
    from .analytics.cohorts import CohortFilter
    from .workbench import Workbench

__all__ = ["connect", "CohortFilter", "Settings", "load_settings"]


def connect(path=DEFAULT_DB, settings: Settings | None = None) -> "Workbench":
    """Open an outcomes database read-only, with the dashboard's answers as methods.

    Returns a `pipelines.workbench.Workbench`: `db.cohort_outcomes("PHQ-9", group_by=...)`,
    `db.time_to_response(...)` and the other `pipelines.analytics` functions with the settings
    filled in, `db.sql("SELECT ...")` for a DataFrame from the views (`scores`,
    `patient_outcomes`, `patient_cohorts`, ...), `db.close()` or `with connect(...) as db:`.

    `settings` default to `load_settings()` ($OUTCOMES_CONFIG, else the clinical reference's
    defaults), as the dashboard's do. A missing file raises FileNotFoundError naming it. See
    docs/analysts.md.
    """
    # Imported here so that `import pipelines` (the `outcomes` CLI, the ingest) does not pay for
    # pandas, scipy and the analytics modules.
    from .workbench import connect as open_workbench

    return open_workbench(path, settings)


def __getattr__(name: str):
    """`pipelines.CohortFilter`, resolved when first asked for: the package root is imported by
    every layer (the readers, the synthetic generator), which must not load the analytics."""
    if name == "CohortFilter":
        from .analytics.cohorts import CohortFilter

        return CohortFilter
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
