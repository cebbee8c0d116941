"""The analyst's workbench: the outcomes database, read-only, with the dashboard's answers.

Why a module of its own: an analyst in a notebook must get the same number as the director on
the dashboard for the same question. So this opens the database the way the dashboard does
(`analytics.snapshot.open_snapshot`: read-only, the outcome views computed once into temporary
tables) and answers questions by calling the same `pipelines.analytics` functions with the
clinic's settings filled in. It adds no statistics of its own: every method is a one-line call
of an analytics function, whose docstring it shows.

    from pipelines import connect, CohortFilter

    with connect("data/outcomes.duckdb") as db:
        db.cohort_outcomes("PHQ-9", group_by=("primary_indication",))
        db.sql("SELECT * FROM patient_outcomes WHERE instrument = ?", ["GAD-7"])

`docs/analysts.md` lists the methods; `notebooks/` shows them at work.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from .analytics import cohorts, expected, nhs, outcomes, retention, safety, survival, trajectories, worklist
from .analytics import competing, durability, intention
from .analytics.snapshot import open_snapshot
from .settings import DEFAULT_DB, Settings, load_settings


# Statements that only read. Anything else is refused by `sql()`: writes to the database file
# fail anyway (it is opened read-only), but the snapshot's temporary tables (`patient_outcomes`
# and friends) could be changed, and every later answer in the session would silently use the
# changed rows.
READING_STATEMENTS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN, duckdb.StatementType.PRAGMA)

# The analytics functions offered as methods, under their own names (docs/analytics.md).
ANSWERS = (
    outcomes.cohort_outcomes,
    nhs.paired_outcome,
    trajectories.by_infusion,
    trajectories.by_week,
    survival.time_to_response,
    survival.responded_by_infusion,
    survival.response_times,
    intention.outcome_rates,
    competing.cumulative_incidence,
    durability.durability,
    expected.reference_distribution,
    expected.patient_expected,
    expected.patients_not_on_track,
    retention.retention,
    retention.infusions_per_patient,
    safety.item9_flags,
    safety.bp_excursions,
    safety.side_effect_rates,
    safety.cadss_by_infusion,
    safety.reliable_deterioration,
    worklist.worklist,
    cohorts.cohort_options,
)


class NotAnOutcomesDatabase(ValueError):
    """The file exists but is not a DuckDB database with the outcome tables and views."""


def connect(path: str | Path = DEFAULT_DB, settings: Settings | None = None) -> "Workbench":
    """Open the outcomes database at `path` read-only for analysis.

    `settings` default to `pipelines.settings.load_settings()`: the file named by
    $OUTCOMES_CONFIG if set, else the clinical reference's defaults - the same as the
    dashboard's, so the numbers agree. A missing file raises FileNotFoundError and a file that
    is not an outcomes database NotAnOutcomesDatabase, both naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No outcomes database at {path} ({path.resolve()}). Build one from the clinic's exports with "
            f"`outcomes ingest data/sample --db {path}` (or `make run`), or pass the right path to connect().")
    try:
        con = open_snapshot(path)
    except duckdb.IOException as error:
        if "not a valid DuckDB database" in str(error):
            raise NotAnOutcomesDatabase(f"{path} is not a DuckDB database ({error}).") from None
        raise OSError(f"cannot open {path} read-only: {error}") from None
    except duckdb.CatalogException as error:  # a DuckDB file without the outcome tables and views
        first_line = str(error).splitlines()[0]
        raise NotAnOutcomesDatabase(f"{path} is not an outcomes database ({first_line}). Create one with "
                                    f"`outcomes ingest ... --db {path}`.") from None
    return Workbench(con, settings if settings is not None else load_settings(), path)


def _takes_settings(function: Callable) -> bool:
    """Analytics functions are `(con, settings, ...)`; a few that need no settings are `(con, ...)`."""
    parameters = list(inspect.signature(function).parameters)
    return len(parameters) > 1 and parameters[1] == "settings"


def _method(function: Callable) -> Callable:
    """A Workbench method calling `function` on the workbench's connection and settings, with the
    function's own signature (less those two) and docstring, so `help()` and tab completion show
    the real documentation."""

    def method(self, *args, **kwargs):
        return self.ask(function, *args, **kwargs)

    parameters = list(inspect.signature(function).parameters.values())
    own = parameters[2:] if _takes_settings(function) else parameters[1:]
    method.__name__ = function.__name__
    method.__qualname__ = f"Workbench.{function.__name__}"
    method.__module__ = __name__
    method.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *own])
    method.__doc__ = (f"`{function.__module__}.{function.__name__}` on this database with its settings.\n\n"
                      f"{inspect.getdoc(function) or ''}")
    return method


class Workbench:
    """A read-only snapshot of an outcomes database and the clinic's settings.

    - Every function of ANSWERS is a method of the same name: `db.cohort_outcomes("PHQ-9")` is
      `outcomes.cohort_outcomes(con, settings, "PHQ-9")`.
    - `ask(function, ...)` calls any other `pipelines.analytics` function the same way.
    - `sql(query, params)` runs one reading statement and returns a DataFrame.
    - `con` is the DuckDB connection itself, `settings` the Settings, `path` the file.
    - `close()`, or use it as a context manager.

    The snapshot is the database as it was when opened; connect again after an ingest.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings, path: Path):
        self.con = con
        self.settings = settings
        self.path = path

    def ask(self, function: Callable, *args, **kwargs):
        """`function(con, settings, *args, **kwargs)` - or `function(con, ...)` for a function
        that takes no settings - for any function of `pipelines.analytics`."""
        if _takes_settings(function):
            return function(self.con, self.settings, *args, **kwargs)
        return function(self.con, *args, **kwargs)

    def sql(self, query: str, params: list | dict | None = None) -> pd.DataFrame:
        """The result of one reading statement (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN,
        PRAGMA) as a DataFrame; `?` or `$name` placeholders take `params`.

        Anything that changes data is refused with ValueError: the file is read-only, and the
        snapshot's tables must stay as the views computed them. For scratch tables of your
        own, use `db.con.execute("CREATE TEMP TABLE ...")`.
        """
        statements = duckdb.extract_statements(query)
        if len(statements) != 1:
            raise ValueError(f"sql() runs one statement at a time; got {len(statements)}")
        if statements[0].type not in READING_STATEMENTS:
            raise ValueError(f"sql() only reads: {statements[0].type.name} refused. The outcomes database is "
                             f"opened read-only; for temporary tables of your own use db.con.execute(...).")
        return self.con.execute(query, params or []).df()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Workbench":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workbench {self.path} (read-only snapshot)>"


for _function in ANSWERS:
    setattr(Workbench, _function.__name__, _method(_function))
del _function
