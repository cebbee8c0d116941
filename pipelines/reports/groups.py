"""Outcomes compared between groups as they may be published: by clinician, by site (with the
funnel plot's control limits) and by start month, from `analytics.outcomes`, with small cells
blanked by `suppression.suppress_small_groups` (docs/analytics.md, "Small-cell suppression").

Why apart: the groups partition the cohort, whose totals the page's headline shows, so hiding a
small group is only safe together with a second one (complementary suppression), and the funnel
is drawn around the overall rate as published, never around a rate a blanked count would give
back.
"""

from __future__ import annotations

import math

import duckdb
import pandas as pd

from ..analytics import outcomes as outcomes_module
from ..analytics.cohorts import CohortFilter
from ..analytics.funnel import LIMIT_COLUMNS, binomial_control_limits, funnel_sizes
from ..settings import Settings
from .suppression import cell_size, suppress_small_groups


def outcomes_by_group(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                      by: str = "clinician", cohort: CohortFilter = CohortFilter(),
                      timepoint: str = "latest", min_cell: int | None = None,
                      outcome: str = "response") -> dict[str, pd.DataFrame]:
    """Outcome rates per clinician (or site, or any `cohorts.GROUPABLE` attribute) with small
    cells suppressed, and the funnel plot's control limits.

    Parameters
    ----------
    con, settings, scale, by, cohort, timepoint
        As in `analytics.outcomes.outcomes_by_group` (rates are `cohort_outcomes(...,
        group_by=(by,))`: n, response and remission with 95% Wilson intervals, over the
        evaluable patients).
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.
    outcome : str
        The outcome of the overall rate and the funnel ("response" or "remission").

    Returns
    -------
    dict
        `{"groups", "limits", "overall"}`:

        - `groups`: `group`, `suppressed`, `n_shown`, `by`'s column, `n_patients`,
          `n_evaluable`, then `<outcome>_n`, `_rate`, `_low`, `_high` for response and
          remission; shown groups first, then by group.
        - `overall`: one row over every group (suppressed ones included, since the groups
          partition the cohort): `n_evaluable`, `<outcome>_n`, `<outcome>_rate` for `outcome`,
          blanked by the same rule (a cohort of fewer than 11 evaluable patients, or of 1 to 10
          responders).
        - `limits`: the funnel around the overall rate of `outcome`
          (`analytics.funnel.binomial_control_limits`) for n from the threshold to the largest
          shown group; empty when there is no overall rate.

    Notes
    -----
    Small cells (CMS cell-size policy): a group with 1 to min_cell - 1 evaluable or treated
    patients is suppressed whole - its counts <NA>, its rates NaN, `suppressed` True, `n_shown`
    "suppressed" - and so is a second group when one alone would be given back by the
    cohort's total (the headline shows it). In a group that is shown, a responder (remitter)
    count of 1 to min_cell - 1, or one leaving that many non-responders, is blanked with its
    rate and interval, and again a second group's count with it when the column would give it
    back. The table, the chart and the CSV built from this frame therefore cannot show a small
    cell or let one be worked out.

    References
    ----------
    Spiegelhalter DJ (2005), "Funnel plots for comparing institutional performance", Stat Med
    24:1185-1202; CMS, "Cell size suppression policy" (2020).
    """
    min_cell = cell_size(settings, min_cell)
    frame = outcomes_module.outcomes_by_group(con, settings, scale, by, cohort, timepoint)

    groups, totals_hidden = suppress_small_groups(frame, min_cell, with_totals=True)
    evaluable = int(frame.n_evaluable.sum())
    events = int(frame[f"{outcome}_n"].fillna(0).sum())
    rate = events / evaluable if evaluable else math.nan
    overall = pd.DataFrame({"n_evaluable": pd.array([evaluable], dtype="Int64"),
                            f"{outcome}_n": pd.array([events], dtype="Int64"), f"{outcome}_rate": [rate]})
    if (pd.isna(frame[f"{outcome}_n"]).all() and len(frame)) or totals_hidden.get(f"{outcome}_n"):
        overall[f"{outcome}_n"], overall[f"{outcome}_rate"] = pd.NA, math.nan  # pain: no remission
    if totals_hidden.get("n_evaluable") or totals_hidden.get("n_patients"):
        overall[["n_evaluable", f"{outcome}_n"]] = pd.NA
        overall[f"{outcome}_rate"] = math.nan
    rate = overall[f"{outcome}_rate"].iloc[0]

    groups = groups.sort_values(["suppressed", "group"], kind="stable").reset_index(drop=True)
    largest = groups.loc[~groups.suppressed, "n_evaluable"].max() if (~groups.suppressed).any() else None
    if pd.isna(rate) or largest is None or pd.isna(largest):
        limits = pd.DataFrame(columns=LIMIT_COLUMNS)
    else:
        limits = binomial_control_limits(rate, funnel_sizes(min_cell, int(largest)))
    return {"groups": groups, "limits": limits, "overall": overall}


def monthly_outcomes(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                     cohort: CohortFilter = CohortFilter(), timepoint: str = "latest",
                     min_cell: int | None = None) -> pd.DataFrame:
    """Response and remission rates by start month (`analytics.outcomes.monthly_outcomes`) with
    small cells suppressed as in `suppression.suppress_small_groups`.

    Parameters
    ----------
    con, settings, scale, cohort, timepoint
        As in `analytics.outcomes.monthly_outcomes`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        `group`, `suppressed`, `n_shown`, `start_month`, `n_patients`, `n_evaluable`, then
        `<outcome>_n`, `_rate`, `_low`, `_high` for response and remission.

    Notes
    -----
    The months partition the cohort, whose totals the headline shows, so a small month is
    suppressed with a second where the total would give it back (CMS cell-size policy). Recent
    months have had less time to respond; read them with their n.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    frame = outcomes_module.monthly_outcomes(con, settings, scale, cohort, timepoint)
    return suppress_small_groups(frame, cell_size(settings, min_cell))
