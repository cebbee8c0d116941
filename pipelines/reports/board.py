"""The director's one-page outcomes report: every number of the page, gathered once from the
published answers of this package, for one period (dates of the first infusion) and cohort.

Why one object: the PDF (`board_pdf`) and the HTML (`board_html`) must show the same numbers,
and a test must be able to hold the document's text against the reports API; so the numbers
are assembled here into a `Board` of plain values (suppressed cells are None), and the
renderers only lay them out. Every count comes from a function of `pipelines.reports` that has
already applied the small-cell rule (`suppression`); retention by infusion is derived here only
from counts that are shown (see `retention_by_infusion`). The sentences (comparison, methods)
are in `board_text`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ..analytics.cohorts import CohortFilter
from ..settings import Settings
from . import benchmarks as benchmarks_module
from . import board_text
from .benchmarks import Benchmark
from .clinic import headline_activity, infusions_distribution, retention_summary, safety_rates, scales_with_data
from .headline import INDICATION_GROUPS, headline_by_indication
from .response_course import durability
from .suppression import cell_size

__all__ = ["Rate", "OutcomeLine", "Board", "REPORT_SCALES", "BASES", "TIMEPOINTS", "DEPRESSION", "build_board",
           "retention_by_infusion"]

# The scales the report shows, where the cohort has baselines on them (PHQ-9 always first).
REPORT_SCALES = ("PHQ-9", "GAD-7")
# The bases the report shows (headline_rates' `basis`), and the time points.
BASES = ("completers", "itt")
TIMEPOINTS = ("after_induction", "latest")
# The published cohorts' indication (benchmarks' `indication`), and its group in the report.
DEPRESSION = "depression"
DEPRESSION_GROUP = INDICATION_GROUPS[0]


@dataclass(frozen=True)
class Rate:
    """A published rate: None where suppressed (or not defined)."""

    count: int | None
    rate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class OutcomeLine:
    """One scale, indication group, basis and time point: the denominator and two rates."""

    scale: str
    group: str
    basis: str
    basis_label: str
    denominator_label: str
    timepoint: str
    n: int | None
    response: Rate
    remission: Rate
    note: str = ""  # why the whole line is hidden beyond a small n (headline_rates' `note`)


@dataclass(frozen=True)
class Board:
    """Everything the one-page report shows (None = suppressed or not available)."""

    cohort: CohortFilter
    cohort_text: str
    period_from: dt.date | None
    period_to: dt.date | None
    as_of: dt.date | None
    generated: dt.datetime
    min_cell: int
    page_size: str
    started: int | None
    completed_induction: Rate
    maintenance: Rate
    outcomes: list[OutcomeLine]
    benchmarks: list[Benchmark]
    benchmarks_source: str
    retention: list[tuple[str, int | None, float | None, bool]]
    safety: list[tuple[str, int | None, float | None, float | None, float | None]]
    infusions: int | None
    unknown_indication: int | None
    durability: list[tuple[int, float | None, float | None, float | None]] = field(default_factory=list)
    durability_responders: int | None = None
    comparison: str = ""
    methods: list[str] = field(default_factory=list)

    def lines(self, scale: str, timepoint: str) -> list[OutcomeLine]:
        return [line for line in self.outcomes if line.scale == scale and line.timepoint == timepoint]


def _value(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _count(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _rate(row, count: str, name: str) -> Rate:
    return Rate(_count(row[count]), _value(row[f"{name}_rate"]), _value(row[f"{name}_low"]),
                _value(row[f"{name}_high"]))


def retention_by_infusion(distribution: pd.DataFrame, started: int | None, completed: int | None,
                          maintenance: int | None, induction: int) -> list[tuple[str, int | None, float | None, bool]]:
    """Patients who reached each infusion of the induction series, and maintenance.

    Parameters
    ----------
    distribution : pandas.DataFrame
        `reports.clinic.infusions_distribution` (patients by infusions so far, small cells <NA>).
    started, completed, maintenance : int or None
        The cohort's patients, those who completed induction and went on to maintenance
        (`reports.clinic.retention_summary`, None when suppressed).
    induction : int
        Infusions of the induction series (`settings.induction_sessions`).

    Returns
    -------
    list of (label, patients, share of started, suppressed)
        Reached infusion k = started - patients with fewer than k infusions, or the sum of the
        patients with k or more; either only when every count it adds is shown, so a reached
        count never gives back a suppressed one (it is computed from shown numbers only). The
        last infusion of induction is `completed`, maintenance `maintenance`. None when not
        derivable (`suppressed` False) or suppressed (True: `completed` or `maintenance` was).
    """
    shown = {int(k): (None if pd.isna(v) else int(v))
             for k, v in zip(distribution["n_infusions"], distribution["n_patients"])}

    def reached(k: int) -> int | None:
        below = [shown[j] for j in shown if j < k]
        if started is not None and None not in below:
            return started - sum(below)
        above = [shown[j] for j in shown if j >= k]
        return sum(above) if None not in above else None

    counts = [(f"Infusion {k}", reached(k), False) for k in range(1, induction)]
    counts += [(f"Infusion {induction} (induction complete)", completed, completed is None),
               ("Maintenance", maintenance, maintenance is None)]
    return [(label, n, n / started if n is not None and started else None, hidden) for label, n, hidden in counts]


def build_board(con: duckdb.DuckDBPyConnection, settings: Settings, cohort: CohortFilter = CohortFilter(),
                cohort_text: str | None = None, generated: dt.datetime | None = None,
                min_cell: int | None = None) -> Board:
    """The one-page report's numbers for `cohort` (its date range is the report's period).

    Parameters
    ----------
    con, settings, cohort
        As in the functions of `reports.clinic`.
    cohort_text : str, optional
        The cohort in words, printed in the heading (escaped by the renderers); by default
        `board_text.describe_cohort`.
    generated : datetime, optional
        When the report is made (now by default), printed in the methods box.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` by default.

    Returns
    -------
    Board
        Suppressed cells are None; the whole report is empty (no rates) when the cohort itself
        has 1 to min_cell - 1 patients.

    Notes
    -----
    Rates: `headline.headline_by_indication` for each scale of REPORT_SCALES with data in the
    cohort: unipolar depression and the other indications, completers and intention to treat,
    after induction and at the latest score. Durability: `response_course.durability` of the
    unipolar-depression PHQ-9 responders. Retention: `retention_summary` and
    `retention_by_infusion`; safety: `safety_rates` per 100 infusions with 95% Wilson intervals.

    References
    ----------
    docs/report.md; docs/analytics.md, "Small-cell suppression"; the published figures:
    pipelines/benchmarks/published.toml.
    """
    min_cell = cell_size(settings, min_cell)
    activity = headline_activity(con, settings, cohort, min_cell=min_cell).iloc[0]
    kept = retention_summary(con, settings, cohort, min_cell=min_cell).iloc[0]
    started = _count(kept["n_started"])
    completed = _rate(kept, "completed_induction_n", "completed_induction")
    maintenance = _rate(kept, "any_maintenance_n", "any_maintenance")
    offered = set(scales_with_data(con, settings, cohort)["instrument"]) if started else set()
    outcomes = []
    for scale in (s for s in REPORT_SCALES if s in offered):
        outcomes += _lines(con, settings, scale, cohort, min_cell)
    rates = safety_rates(con, settings, cohort, min_cell=min_cell) if started else None
    kept_responding = _durability(con, settings, cohort, min_cell) if "PHQ-9" in offered else pd.DataFrame()
    benchmarks = [b for b in benchmarks_module.load(settings) if b.scale == "PHQ-9" and b.indication == DEPRESSION]
    board = Board(
        cohort=cohort, cohort_text=cohort_text or board_text.describe_cohort(cohort),
        period_from=cohort.start_from, period_to=cohort.start_to,
        as_of=pd.Timestamp(activity["as_of"]).date() if pd.notna(activity["as_of"]) else None,
        generated=generated or dt.datetime.now().replace(microsecond=0), min_cell=min_cell,
        page_size=settings.report.page_size, started=started, completed_induction=completed,
        maintenance=maintenance, outcomes=outcomes, benchmarks=benchmarks,
        benchmarks_source=str(benchmarks_module.benchmarks_path(settings).name),
        retention=(retention_by_infusion(infusions_distribution(con, settings, cohort, min_cell=min_cell), started,
                                         completed.count, maintenance.count, settings.induction_sessions)
                   if started else []),
        safety=_safety(rates, settings) if rates is not None else [],
        infusions=_count(activity["infusions"]) if started else None,
        unknown_indication=_count(activity["unknown_indication"]),
        durability=[(int(r.weeks), _value(r.still_responding), _value(r.low), _value(r.high))
                    for r in kept_responding.itertuples()],
        durability_responders=_count(kept_responding["responders"].iloc[0]) if len(kept_responding) else None)
    return board_text.with_text(board, settings)


def _lines(con, settings, scale, cohort, min_cell) -> list[OutcomeLine]:
    """The scale's lines: indication group, then time point, then basis (`headline_by_indication`,
    whose two groups are suppressed together with the cohort's total)."""
    frame = headline_by_indication(con, settings, scale, cohort, TIMEPOINTS, BASES, min_cell=min_cell)
    order = {name: i for i, name in enumerate(INDICATION_GROUPS)}
    frame = frame.sort_values("indication_group", key=lambda g: g.map(order), kind="stable")
    return [OutcomeLine(scale, row["indication_group"], row["basis"], str(row["basis_label"]),
                        str(row["denominator_label"]), row["timepoint"], _count(row["n"]),
                        _rate(row, "responders", "response"), _rate(row, "remitters", "remission"),
                        str(row.get("note", "") or ""))
            for _, row in frame.iterrows()]


def _durability(con, settings, cohort: CohortFilter, min_cell: int) -> pd.DataFrame:
    """Of the cohort's unipolar-depression PHQ-9 responders, the share still responding 4 and 8
    weeks later (`response_course.durability`), as the published durability is of depression
    responders; empty when the cohort's own filter leaves depression out."""
    if cohort.indications and DEPRESSION not in cohort.indications:
        return pd.DataFrame()
    return durability(con, settings, "PHQ-9", dataclasses.replace(cohort, indications=(DEPRESSION,)),
                      min_cell=min_cell)


def _safety(rates: dict, settings: Settings) -> list:
    rows = [(str(r.effect)[:1].upper() + str(r.effect)[1:],
             _count(r.n_affected_infusions), _value(r.per_100), _value(r.per_100_low), _value(r.per_100_high))
            for r in rates["effects"].itertuples()]
    limits = settings.thresholds
    rows += [(f"BP at peak >= {limits.bp_excursion_systolic}/{limits.bp_excursion_diastolic} mmHg",
              _count(r.n_excursions), _value(r.per_100), _value(r.per_100_low), _value(r.per_100_high))
             for r in rates["bp"].itertuples()]
    return rows
