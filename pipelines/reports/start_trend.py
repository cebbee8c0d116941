"""The trend of outcomes by when patients started, as it may be published: by start month when
the months are large enough to show their rates, else by start quarter.

Why a choice: with 11 as the smallest count that may be shown, a month of a dozen evaluable
patients always has fewer than 11 responders or fewer than 11 non-responders, so its rate is
blanked; a chart of such months is empty and its table all blanks (seen on the sample clinic).
Quarters hold three times the patients. Both are suppressed by the same rule
(`suppression.suppress_small_groups`).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..analytics import start_quarters
from ..analytics.cohorts import CohortFilter
from ..settings import Settings
from .groups import monthly_outcomes
from .suppression import cell_size, suppress_small_groups

# Months are shown when at least this share of them shows a response rate.
MONTHS_SHOWN_SHARE = 0.5


def quarterly_outcomes(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                       cohort: CohortFilter = CohortFilter(), timepoint: str = "latest",
                       min_cell: int | None = None) -> pd.DataFrame:
    """Response and remission rates by start quarter (`analytics.start_quarters`) with small
    cells suppressed as in `suppression.suppress_small_groups`.

    Returns
    -------
    pandas.DataFrame
        `group` ("2025 Q1"), `suppressed`, `n_shown`, `start_quarter`, `n_patients`,
        `n_evaluable`, then `<outcome>_n`, `_rate`, `_low`, `_high` for response and remission.

    Notes
    -----
    The quarters partition the cohort, so a small quarter is suppressed with a second where the
    total would give it back (CMS cell-size policy), as the months are.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    frame = start_quarters.quarterly_outcomes(con, settings, scale, cohort, timepoint)
    return suppress_small_groups(frame, cell_size(settings, min_cell))


def outcomes_by_start(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                      cohort: CohortFilter = CohortFilter(), timepoint: str = "latest",
                      min_cell: int | None = None) -> pd.DataFrame:
    """The start-period trend a page shows: `monthly_outcomes` when at least half the months
    show a response rate, else `quarterly_outcomes`.

    Returns
    -------
    pandas.DataFrame
        The chosen frame, with `period` ("month" or "quarter") and `period_column`
        (`start_month` or `start_quarter`) in its `attrs`, and the column `start` (the period's
        first day) added, so a chart and a table read either alike.

    Notes
    -----
    A month "shows" its rate when it is not suppressed and its responder count is not blanked
    (fewer than min_cell responders, or fewer than min_cell without a response).
    """
    months = monthly_outcomes(con, settings, scale, cohort, timepoint, min_cell)
    shown = (~months["suppressed"].astype(bool)) & months["response_rate"].notna() if len(months) else []
    if len(months) and shown.mean() >= MONTHS_SHOWN_SHARE:
        frame, period, column = months, "month", "start_month"
    else:
        frame, period, column = quarterly_outcomes(con, settings, scale, cohort, timepoint, min_cell), \
            "quarter", "start_quarter"
    frame = frame.assign(start=pd.to_datetime(frame[column]))
    frame.attrs.update(period=period, period_column=column)
    return frame
