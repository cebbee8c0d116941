"""Time to response with stopping as a competing event, and the durability of response, as
they may be published (small cells blanked; docs/analytics.md, "Small-cell suppression").

Why a module of its own: the Clinic outcomes page, the notebooks and the report show these two
answers beside Kaplan-Meier (`course.time_to_response`); the estimates are
`analytics.competing` and `analytics.durability`'s, and this module only decides what of them
may be shown, the way `course` does for Kaplan-Meier.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..analytics import competing, survival
from ..analytics import durability as durability_module
from ..analytics.cohorts import CohortFilter
from .suppression import blank, cell_size, suppress_counts, thin_risk_table

__all__ = ["cumulative_incidence", "durability"]

DURABILITY_VALUES = ["still_responding", "low", "high"]


def cumulative_incidence(con: duckdb.DuckDBPyConnection, settings, scale: str = "PHQ-9",
                         cohort: CohortFilter = CohortFilter(), min_cell: int | None = None) -> dict[str, pd.DataFrame]:
    """`competing.cumulative_incidence` (ungrouped) as it may be published.

    Parameters
    ----------
    con, settings, scale, cohort
        As in `analytics.competing.cumulative_incidence`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    dict
        `{"curve", "summary"}` (the summary with `note`: why it is blanked beyond the usual
        rule, else ""): the curve thinned like Kaplan-Meier's
        (`suppression.thin_risk_table`: it stops where fewer than min_cell patients are still
        followed, keeps only rows where that number has fallen by min_cell or more, and drops
        the per-day counts); the summary (`n`, `responses`, `stopped`, `censored`) with
        `suppressed` and `n_shown`.

    Notes
    -----
    In the summary, `n` of 1 to min_cell - 1 blanks everything; a count of responses, stops or
    censorings of 1 to min_cell - 1 (or leaving that many) is blanked. The curve's patients are
    Kaplan-Meier's (`course.time_to_response`) and those without any follow-up: when these
    number 1 to min_cell - 1, the curve and the summary are not shown (`note` says why), as
    both start from their n.

    References
    ----------
    docs/analytics.md, "Small-cell suppression" and "Competing risks".
    """
    min_cell = cell_size(settings, min_cell)
    result = competing.cumulative_incidence(con, settings, scale, cohort)
    curve = thin_risk_table(result["curve"].drop(columns=["responses", "stopped"]), min_cell)
    summary = result["summary"]
    if len(summary):
        summary, _ = suppress_counts(summary, min_cell, "n", ("responses", "stopped", "censored"), derived={})
        # Kaplan-Meier's patients are these less those without any follow-up: both curves start
        # from their n, so a difference of 1 to min_cell - 1 hides this one
        km = survival.time_to_response(con, settings, scale, cohort)["summary"]
        without_followup = int(result["summary"]["n"].iloc[0]) - (int(km["n"].iloc[0]) if len(km) else 0)
        hidden = 0 < without_followup < min_cell and not bool(summary["suppressed"].iloc[0])
        summary["note"] = ""
        if hidden:
            curve = curve.iloc[0:0]
            summary = blank(summary, np.array([True]), counts=("n", "responses", "stopped", "censored"))
            summary["suppressed"], summary["n_shown"] = True, "not shown"
            summary["note"] = (f"not shown: fewer than {min_cell} patients in the clinical range have no follow-up "
                               "score, and this curve beside Kaplan-Meier's would tell how many")
    return {"curve": curve, "summary": summary}


def durability(con: duckdb.DuckDBPyConnection, settings, scale: str = "PHQ-9",
               cohort: CohortFilter = CohortFilter(), min_cell: int | None = None) -> pd.DataFrame:
    """`durability.durability`'s summary (ungrouped, 4 and 8 weeks) as it may be published.

    Parameters
    ----------
    con, settings, scale, cohort
        As in `analytics.durability.durability`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        One row per week: `suppressed`, `n_shown`, `weeks`, `day`, `responders`, `losses`,
        `at_risk`, `still_responding`, `low`, `high`.

    Notes
    -----
    `responders` of 1 to min_cell - 1 blanks the row. Otherwise the share is blanked when the
    responders still followed at that day (`at_risk`), or the losses by then, or what either
    leaves of the responders, is 1 to min_cell - 1: an estimate resting on fewer than min_cell
    patients is not shown (as `thin_risk_table` stops Kaplan-Meier curves there).

    References
    ----------
    docs/analytics.md, "Small-cell suppression" and "Durability".
    """
    summary = durability_module.durability(con, settings, scale, cohort)["summary"]
    if summary.empty:
        return summary
    shown, _ = suppress_counts(summary, cell_size(settings, min_cell), "responders", ("losses", "at_risk"),
                               derived={"losses": DURABILITY_VALUES, "at_risk": DURABILITY_VALUES})
    return shown
