"""Change per patient: the picture behind a cohort's rates - each patient's percent change from
baseline (the waterfall) and how severity moved from baseline to after induction.

Why a module of its own: a response rate says how many crossed a line, not how far anyone moved;
directors ask to see the spread. Outcome flags are never re-decided here: response and remission
come from `patient_outcomes` (clinical reference, "Outcome definitions") through the same
`judged` step `outcomes.cohort_outcomes` uses (sql/analytics/outcomes/). Both answers aggregate
in DuckDB (sql/analytics/change/) and return at most a few hundred rows, so the page stays fast
on a 200,000-patient clinic. Counts are raw: the page shows them as
`pipelines.reports.clinic` publishes them (small cells blanked). The paired statistics of change
(mean, median, Wilcoxon, effect size) are in `stats`.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, cohort_query
from .outcomes import TIMEPOINTS, judged_step

WATERFALL_MAX_BARS = 500


def waterfall(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
              cohort: CohortFilter = CohortFilter(), timepoint: str = "latest",
              max_bars: int = WATERFALL_MAX_BARS) -> pd.DataFrame:
    """Percent change from baseline per patient, sorted from the largest rise to the largest fall.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        Taken for the common signature; thresholds come from the `instruments` table.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.
    timepoint : {"latest", "after_induction"}
        The follow-up judged, as in `outcomes.cohort_outcomes`.
    max_bars : int
        The most bars returned (see Notes).

    Returns
    -------
    pandas.DataFrame
        One row per bar: `bar` (1 = worst), `first_rank`, `last_rank`, `n_patients`,
        `pct_change`, `lowest_pct_change`, `highest_pct_change`, `baseline_score` (the median
        baseline), `n_response`, `n_remission`, `outcome` ("remission", "response" or "no
        response": what most of the bar's patients reached; pain has no remission),
        `remission_pct_change` (the percent change at which a patient with the bar's baseline
        would remit: the remission threshold drawn per bar, since remission is a score cut-off,
        not a percent; NaN for pain). Attributes `response_pct` (the response threshold, e.g.
        -50) and `n` (patients).

    Notes
    -----
    Patients: the response rate's population (in caseness at baseline with a follow-up at
    `timepoint`); percent change = 100 x (follow-up - baseline) / baseline, one decimal, as
    `patient_outcomes.pct_change`; response and remission as `cohort_outcomes` judges them at
    that timepoint.

    Size: with at most `max_bars` patients there is one bar per patient. Above that, a
    200,000-patient clinic would send ~100,000 bars to the browser, so the ranks are cut into
    `max_bars` runs of consecutive patients of (almost) equal size and each run is one bar at
    its median percent change; its lowest and highest values are kept for the hover. The curve
    the bars draw is then the quantile function of percent change, which is what a waterfall of
    that many bars shows anyway.

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)" (change, percent change, response,
    remission, caseness); response thresholds: 50% (PHQ-9, GAD-7, PCL-5) and 30% for pain after
    Dworkin RH et al. (2008), "Interpreting the clinical importance of treatment outcomes in
    chronic pain clinical trials: IMMPACT recommendations", J Pain 9:105-121.
    """
    if timepoint not in TIMEPOINTS:
        raise ValueError(f"unknown timepoint {timepoint!r}; choose from {TIMEPOINTS}")
    thresholds = _scale_thresholds(con, scale)
    sql, params = cohort_query("analytics/change/waterfall", cohort, rows="j", judged=judged_step(timepoint))
    frame = con.execute(sql, [*params, scale, max_bars, max_bars]).df()
    majority = frame.n_patients / 2
    frame["outcome"] = np.where(frame.n_remission > majority, "remission",
                                np.where(frame.n_response > majority, "response", "no response"))
    frame["remission_pct_change"] = [
        remission_pct_change(b, thresholds["remission_below"], thresholds["remission_min_drop"])
        for b in frame.baseline_score]
    frame.attrs.update(response_pct=-float(thresholds["response_drop_pct"]), n=int(frame.n_patients.sum()))
    return frame


def remission_pct_change(baseline: float, remission_below, remission_min_drop) -> float:
    """The percent change at which a patient with this baseline reaches remission.

    Parameters
    ----------
    baseline : float
        The baseline score.
    remission_below : float or None
        The scale's remission cut-off (remission is a score below it); None for pain.
    remission_min_drop : float or None
        A minimum drop also required for remission (PCL-5: 10), else None.

    Returns
    -------
    float
        100 x (highest remitting score - baseline) / baseline, one decimal; NaN for a scale
        without remission or a zero baseline.

    Notes
    -----
    The highest remitting score is remission_below - 1, or lower when a minimum drop is required
    too: min(remission_below - 1, baseline - remission_min_drop) (PCL-5: < 33 with a drop of at
    least 10).

    References
    ----------
    Clinical reference, "Remission".
    """
    if remission_below is None or pd.isna(remission_below) or not baseline:
        return math.nan
    highest = remission_below - 1
    if remission_min_drop is not None and not pd.isna(remission_min_drop):
        highest = min(highest, baseline - remission_min_drop)
    return round(100.0 * (highest - baseline) / baseline, 1)


def _scale_thresholds(con, scale: str) -> dict:
    rows = con.execute("SELECT response_drop_pct, remission_below, remission_min_drop FROM instruments "
                       "WHERE code = ?", [scale]).fetchall()
    if not rows:
        raise ValueError(f"unknown scale {scale!r}")
    return dict(zip(("response_drop_pct", "remission_below", "remission_min_drop"), rows[0]))


def severity_transitions(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                         cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Patients per severity band at baseline and band after induction.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        Taken for the common signature.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.

    Returns
    -------
    pandas.DataFrame
        One row per pair of bands (all pairs, 0 where none): `baseline_band`,
        `baseline_order`, `after_band`, `after_order` (1 = mildest), `n_patients`. Empty for a
        scale without bands.

    Notes
    -----
    Bands are the scale's (`instrument_bands`); "after induction" is
    `patient_outcomes.after_induction_score` (the first valid score after the 6th infusion
    started and not after the 9th started). Every patient of the cohort with both scores
    counts, in caseness or not, so the grid shows where mild patients went too.

    References
    ----------
    Kroenke K, Spitzer RL, Williams JBW (2001), "The PHQ-9", J Gen Intern Med 16:606-613 (the
    PHQ-9 bands); the clinical reference's after-induction timepoint.
    """
    sql, params = cohort_query("analytics/change/severity_transitions", cohort)
    return con.execute(sql, [*params, scale, scale]).df()
