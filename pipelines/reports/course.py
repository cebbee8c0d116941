"""The course of treatment on the Clinic outcomes page as it may be published: the trajectory
by infusion, time to response, retention and infusions per patient, side effects and
dissociation (CADSS) by infusion, from the analytics, with small cells blanked by `suppression`
(threshold `settings.privacy.min_cell_size`; docs/analytics.md, "Small-cell suppression").

Why apart from `clinic`: these tables follow the cohort infusion by infusion (points per
infusion, a Kaplan-Meier curve, stages of treatment, events per infusion), and their
suppression is per point or per stage, where the headline's (`clinic`) is one row per cohort.
`clinic` offers them too, so the page has one place to ask.

Every function takes `(con, settings, ...)` like the analytics, returns the analytics frame
with blanked counts as <NA> and blanked rates and statistics as NaN, and takes `min_cell`: the
smallest count that may be shown, `settings.privacy.min_cell_size` (11) unless given (tests).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..analytics import retention as retention_module
from ..analytics import safety as safety_module
from ..analytics import survival as survival_module
from ..analytics import trajectories as trajectories_module
from ..analytics.cohorts import CohortFilter
from ..settings import Settings
from .complementary import suppress_partition
from .suppression import blank, cell_size, shown_counts, small, suppress_counts, thin_risk_table

__all__ = ["trajectory", "time_to_response", "retention_summary", "infusions_distribution", "safety_rates",
           "cadss_points"]


def trajectory(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
               cohort: CohortFilter = CohortFilter(), group_by: tuple[str, ...] = (),
               min_cell: int | None = None) -> pd.DataFrame:
    """`trajectories.by_infusion` with points of 1 to min_cell - 1 patients suppressed.

    Parameters
    ----------
    con, settings, scale, cohort, group_by
        As in `analytics.trajectories.by_infusion`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        `by_infusion`'s columns with `suppressed` and `n_shown` added; a suppressed point keeps
        its labels, its n, mean, median and intervals are blanked.

    Notes
    -----
    Compared by a group, the groups at one infusion partition the cohort's point (shown when
    the comparison is off), so a second group is blanked where one alone would be given back.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    min_cell = cell_size(settings, min_cell)
    frame = trajectories_module.by_infusion(con, settings, scale, cohort, group_by)
    hidden = small(frame["n"], min_cell) if len(frame) else np.zeros(0, dtype=bool)
    if group_by and len(frame):
        whole = trajectories_module.by_infusion(con, settings, scale, cohort, ()).set_index("infusion")["n"]
        for _, part in frame.groupby("infusion").groups.items():
            index = np.asarray(list(part))
            hidden[index] = suppress_partition(frame.loc[index, "n"], True, whole.get(frame.loc[index[0], "infusion"]),
                                               min_cell)
    return _points(frame, hidden, min_cell)


def _points(frame: pd.DataFrame, hidden: np.ndarray, min_cell: int, counts: tuple[str, ...] = ()) -> pd.DataFrame:
    """A frame of points (one per infusion) with the rows `hidden` blanked - `n`, `counts` and
    every statistic (mean, median, sd and their intervals) - and `suppressed`, `n_shown` added."""
    statistics = [c for c in frame.columns if c.startswith(("mean", "median", "sd"))]
    shown = shown_counts(frame["n"], hidden, min_cell)
    frame = blank(frame, hidden, counts=("n", *counts), values=statistics)
    frame["suppressed"] = hidden
    frame["n_shown"] = shown
    return frame


def time_to_response(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                     cohort: CohortFilter = CohortFilter(), min_cell: int | None = None) -> dict[str, pd.DataFrame]:
    """`survival.time_to_response` (ungrouped) as it may be published.

    Parameters
    ----------
    con, settings, scale, cohort
        As in `analytics.survival.time_to_response`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    dict
        `{"curve", "summary"}`: the curve thinned by `suppression.thin_risk_table` (it stops
        where fewer than min_cell patients are still followed, keeps only times at which that
        number has fallen by min_cell or more since the previous row, and drops the per-day
        response and censoring counts); the summary with `suppressed` added (True when the
        cohort is too small for any curve).

    Notes
    -----
    In the summary, `n` of 1 to min_cell - 1 blanks everything, and a responder count of 1 to
    min_cell - 1 (or leaving that many) is blanked.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    min_cell = cell_size(settings, min_cell)
    km = survival_module.time_to_response(con, settings, scale, cohort)
    curve = thin_risk_table(km["curve"], min_cell)
    summary = km["summary"]
    if len(summary):
        summary, _ = suppress_counts(summary, min_cell, "n", ("events",), derived={},
                                     row_values=("median_days", "median_low", "median_high"))
    return {"curve": curve, "summary": summary}


def retention_summary(con: duckdb.DuckDBPyConnection, settings: Settings, cohort: CohortFilter = CohortFilter(),
                      min_cell: int | None = None) -> pd.DataFrame:
    """`retention.retention` (one row) with small cells blanked.

    Parameters
    ----------
    con, settings, cohort
        As in `analytics.retention.retention`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        `retention`'s row with `suppressed` and `n_shown` added.

    Notes
    -----
    The started patients fall into three groups - stopped before the end of induction,
    completed induction without maintenance, went on to maintenance - and none of the three may
    be 1 to min_cell - 1 or be worked out from the counts shown (started, completed induction,
    any maintenance), so a count (with its rate and interval) is blanked when needed. The
    started count is the cohort's, shown in the headline.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    frame = retention_module.retention(con, settings, cohort)
    shown, _ = suppress_counts(frame, cell_size(settings, min_cell), "n_started",
                               ("completed_induction_n", "any_maintenance_n"),
                               nested=(("completed_induction_n", "any_maintenance_n"),), fixed_denominators=True)
    return shown


def infusions_distribution(con: duckdb.DuckDBPyConnection, settings: Settings,
                           cohort: CohortFilter = CohortFilter(), min_cell: int | None = None) -> pd.DataFrame:
    """`retention.infusions_per_patient` with small cells blanked.

    Parameters
    ----------
    con, settings, cohort
        As in `analytics.retention.infusions_per_patient`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        `infusions_per_patient`'s columns (`n_infusions`, `n_patients`, `share`, `share_low`,
        `share_high`) with `suppressed` added; a blanked row has `n_patients` <NA> and its
        share and interval NaN.

    Notes
    -----
    The counts partition the cohort (whose size the headline shows), so a count of 1 to
    min_cell - 1 is blanked with its share and the share's interval (share x N, or either bound
    of the interval, gives the count back), and a second one where the total would give it back.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    min_cell = cell_size(settings, min_cell)
    frame = retention_module.infusions_per_patient(con, settings, cohort)
    hidden = suppress_partition(frame["n_patients"], True, frame["n_patients"].sum(), min_cell) if len(frame) \
        else np.zeros(0, dtype=bool)
    frame = blank(frame, hidden, counts=("n_patients",), values=("share", "share_low", "share_high"))
    frame["suppressed"] = hidden
    return frame


def safety_rates(con: duckdb.DuckDBPyConnection, settings: Settings, cohort: CohortFilter = CohortFilter(),
                 min_cell: int | None = None) -> dict[str, pd.DataFrame]:
    """`safety.side_effect_rates` and `safety.bp_excursions` with small cells blanked.

    Parameters
    ----------
    con, settings, cohort
        As in `analytics.safety.side_effect_rates` and `analytics.safety.bp_excursions`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    dict
        `{"effects", "bp"}`, each with `suppressed` and `n_shown` added.

    Notes
    -----
    An event counted on 1 to min_cell - 1 infusions (so on at most that many patients), or
    missing on only that many, is blanked with its rate and interval; the infusion counts (the
    denominators) are the cohort's and stay. The effects are not a partition (one infusion can
    have several), so there is no total to protect against.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    min_cell = cell_size(settings, min_cell)
    rate = ["per_100", "per_100_low", "per_100_high"]
    effects = safety_module.side_effect_rates(con, settings, cohort)
    if len(effects):
        effects, _ = suppress_counts(effects, min_cell, "n_infusions", ("n_affected_infusions",),
                                     derived={"n_affected_infusions": rate}, fixed_denominators=True)
    bp = safety_module.bp_excursions(con, settings, cohort)
    if len(bp):
        bp, _ = suppress_counts(bp, min_cell, "n_infusions_with_bp",
                                ("n_excursions", "n_systolic_excursions", "n_diastolic_excursions",
                                 "patients_affected"),
                                derived={"n_excursions": rate}, fixed_denominators=True)
    return {"effects": effects, "bp": bp}


def cadss_points(con: duckdb.DuckDBPyConnection, settings: Settings, cohort: CohortFilter = CohortFilter(),
                 min_cell: int | None = None) -> pd.DataFrame:
    """`safety.cadss_by_infusion` with the infusions of 1 to min_cell - 1 patients (or
    infusions) blanked: their counts, mean and median.

    Parameters
    ----------
    con, settings, cohort
        As in `analytics.safety.cadss_by_infusion`.
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        `cadss_by_infusion`'s columns with `suppressed` and `n_shown` added.

    Notes
    -----
    A point (one infusion number, or maintenance) is blanked when its patients (`n_patients`)
    or its infusions (`n`) number 1 to min_cell - 1: its counts become <NA> and its mean,
    median, standard deviation and their intervals NaN (a mean of a handful of patients
    describes them). Points of infusion numbers do not add up to a total the page shows (a
    patient counts at every infusion they had), so no complementary cell is needed.

    References
    ----------
    docs/analytics.md, "Small-cell suppression"; CMS, "Cell size suppression policy" (2020).
    """
    min_cell = cell_size(settings, min_cell)
    frame = safety_module.cadss_by_infusion(con, settings, cohort)
    hidden = (small(frame["n_patients"], min_cell) | small(frame["n"], min_cell)) if len(frame) \
        else np.zeros(0, dtype=bool)
    return _points(frame, hidden, min_cell, counts=("n_patients",))
