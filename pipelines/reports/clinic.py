"""The Clinic outcomes page's tables as they may be published: every number the director's page
shows, from the analytics, with small cells blanked by `suppression` (threshold
`settings.privacy.min_cell_size`; docs/analytics.md, "Small-cell suppression").

Why a module of its own: the page and its CSV downloads must never show a raw frame, and a
notebook that publishes numbers should get exactly what the page shows. The answers themselves
are the analytics modules' (`activity`, `outcomes`, `change`, `trajectories`, `survival`,
`retention`, `safety`); this module only decides what of them may be shown. The headline
(activity, outcomes, assessment completion, the scales offered) is here; the course of
treatment (`trajectory`, `time_to_response`, `retention_summary`, `infusions_distribution`,
`safety_rates`, `cadss_points`), the comparisons of groups (`outcomes_by_group`,
`monthly_outcomes`) and the per-patient pictures of change (`waterfall`,
`severity_transitions`) are in `course`, `groups` and `change` of this package, and offered
here too, so the page has one place to ask.

Every function takes `(con, settings, ...)` like the analytics, returns the analytics frame
with blanked counts as <NA> and blanked rates and statistics as NaN, and takes `min_cell`: the
smallest count that may be shown, `settings.privacy.min_cell_size` (11) unless given (tests).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..analytics import activity as activity_module
from ..analytics import coverage
from ..analytics.activity import NEW_START_DAYS
from ..analytics.cohorts import CohortFilter
from ..analytics.outcomes import GROUP_OUTCOMES, cohort_outcomes, scale_has_remission
from ..settings import Settings
from .change import severity_transitions, waterfall
from .course import (cadss_points, infusions_distribution, retention_summary, safety_rates, time_to_response,
                     trajectory)
from .groups import monthly_outcomes, outcomes_by_group
from .start_trend import outcomes_by_start, quarterly_outcomes
from .suppression import CHANGE_STATISTICS, cell_size, suppress_counts

__all__ = ["NEW_START_DAYS", "GROUP_OUTCOMES", "scales_with_data", "headline_activity", "assessment_completion",
           "headline_outcomes", "trajectory", "time_to_response", "retention_summary", "infusions_distribution",
           "safety_rates", "cadss_points", "waterfall", "severity_transitions", "outcomes_by_group",
           "monthly_outcomes", "quarterly_outcomes", "outcomes_by_start"]


def scales_with_data(con: duckdb.DuckDBPyConnection, settings: Settings,
                     cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """The scales the page offers: `activity.scales_with_data` without its patient counts.

    Parameters
    ----------
    con, settings, cohort
        As in `analytics.activity.scales_with_data`.

    Returns
    -------
    pandas.DataFrame
        `instrument`, `name`: the scales on which a patient of the cohort has a baseline, PHQ-9
        first. The counts are left out, since the page shows none of them.

    Notes
    -----
    A scale is listed when at least one patient of the cohort has a baseline on it; which
    patients that is cannot be told from the list, so nothing is blanked.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; baseline: docs/scoring.md, "Outcomes".
    """
    return activity_module.scales_with_data(con, settings, cohort)[["instrument", "name"]]


def headline_activity(con: duckdb.DuckDBPyConnection, settings: Settings, cohort: CohortFilter = CohortFilter(),
                      new_start_days: int = NEW_START_DAYS, min_cell: int | None = None) -> pd.DataFrame:
    """`activity.activity` with its patient counts suppressed.

    Parameters
    ----------
    con, settings, cohort, new_start_days
        As in `analytics.activity.activity`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        One row: `activity`'s columns with `suppressed` (the cohort itself is too small) and
        `n_shown` added.

    Notes
    -----
    `n_patients` of 1 to min_cell - 1 blanks the row's patient counts (the page then shows no
    aggregate at all for the cohort); `active_patients`, `new_starts` and `unknown_indication`
    are subsets of it, so each is blanked when it or the patients outside it number 1 to
    min_cell - 1. `infusions` counts infusions and stays.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    frame = activity_module.activity(con, settings, cohort, new_start_days)
    shown, _ = suppress_counts(frame, cell_size(settings, min_cell), "n_patients",
                               ("active_patients", "new_starts", "unknown_indication"), derived={})
    return shown


def assessment_completion(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                          cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """`coverage.assessment_completion` as published: unchanged.

    Parameters
    ----------
    con, settings, scale, cohort
        As in `analytics.coverage.assessment_completion`.

    Returns
    -------
    pandas.DataFrame
        `coverage.assessment_completion`'s row as it is (its columns are documented there): of
        the cohort's infusions, how many were preceded by a valid score on `scale`, the share
        and its 95% Wilson interval.

    Notes
    -----
    Its counts are infusions of the whole cohort (whose patient count the headline shows or
    hides), not patients, so no cell describes a handful of patients.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    return coverage.assessment_completion(con, settings, scale, cohort)


def headline_outcomes(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                      cohort: CohortFilter = CohortFilter(), timepoint: str = "latest",
                      min_cell: int | None = None) -> pd.DataFrame:
    """The cohort's outcomes (`outcomes.cohort_outcomes`, one row) as the headline may show them.

    Parameters
    ----------
    con, settings, scale, cohort, timepoint
        As in `analytics.outcomes.cohort_outcomes`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        `cohort_outcomes`' row with `suppressed`, `n_shown` and `has_remission` (False for pain:
        a blank remission then means "not defined", not "too few") added.

    Notes
    -----
    With 1 to min_cell - 1 evaluable patients, `suppressed` is True and every count, rate and
    change statistic is blanked (the page says "fewer than 11 patients in this cohort"
    instead); otherwise a response or remission count of 1 to min_cell - 1, or one leaving that
    many without it, is blanked with its rate and interval.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    frame = cohort_outcomes(con, settings, scale, cohort=cohort, timepoint=timepoint)
    counts = [c for c in frame.columns if c.endswith("_n")]
    shown, _ = suppress_counts(frame, cell_size(settings, min_cell), "n_evaluable", tuple(counts),
                               companions=("n_patients", "n_baseline", "n_caseness"),
                               row_values=CHANGE_STATISTICS)
    return shown.assign(has_remission=scale_has_remission(con, scale))
