"""Time to response: how long until patients respond, counting those still waiting.

A plain "mean days to response" over responders ignores everyone who has not responded yet
and flatters a clinic with many drop-outs; the clinical reference ("Time to response")
therefore asks for Kaplan–Meier with non-responders censored at their last follow-up, using
scipy.stats.ecdf on censored data. This module also gives the simpler chart of the share of
patients who have responded by each infusion.

Per-patient times are computed in DuckDB (sql/analytics/survival/: one row per patient, or
patients per time and outcome); the product-limit estimate and its intervals are computed by
scipy, once per group.
"""

from __future__ import annotations

import math
import warnings

import duckdb
import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from ..settings import Settings
from . import stats
from .cohorts import CohortFilter, check_group_by, cohort_query, step

CONFIDENCE = stats.CONFIDENCE
# Pointwise interval of S(t): "log-log" (Kalbfleisch & Prentice 1980, the exponential
# Greenwood formula). Unlike the plain Greenwood ("linear") band it stays inside [0, 1] and
# behaves better in the tails and for small n.
CI_METHOD = "log-log"

CURVE_COLUMNS = ["time", "at_risk", "events", "censored", "survival", "low", "high",
                 "responded", "responded_low", "responded_high"]
SUMMARY_COLUMNS = ["n", "events", "median_days", "median_low", "median_high"]


def response_times(
    con: duckdb.DuckDBPyConnection,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per patient: `days` to response (event) or to the last follow-up (censored).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE` to add as columns.

    Returns
    -------
    pandas.DataFrame
        `patient_id`, the `group_by` attributes, `days`, `responded`, ordered by patient.

    Notes
    -----
    Patients: in `cohort`, in the clinical range at baseline on `scale` (`baseline_caseness`,
    the population of the response rates, so a score drifting from 3 to 1 is not a
    "response") and with at least one follow-up. `days` counts calendar days from the first
    infusion's date (`scores.days_since_first_session`) to the first follow-up whose reduction
    from baseline reaches `instruments.response_drop_pct` (PHQ-9 50%, pain 30%; same integer
    test as `patient_outcomes.response`); `responded` is False for censored patients, whose
    `days` is that of their last follow-up.

    References
    ----------
    Clinical reference, "Time to response".
    """
    group_by = check_group_by(group_by)
    sql, params = cohort_query("analytics/survival/response_times", cohort, group_by, rows="p",
                               per_patient=_times_step())
    return con.execute(sql, [*params, scale]).df()


def _times_step() -> str:
    """The step `per_patient` (`cohorts.step`): each patient's days to response or censoring on
    one scale (sql/analytics/survival/patient_times.sql; one parameter, the scale)."""
    return step("per_patient", "analytics/survival/patient_times")


def _response_time_counts(con, scale: str, cohort: CohortFilter, group_by: tuple[str, ...]) -> pd.DataFrame:
    """Patients per group, `days` and `responded`: the response times without one row per
    patient (the product-limit estimate only needs how many share each time and outcome)."""
    sql, params = cohort_query("analytics/survival/response_time_counts", cohort, group_by, rows="p",
                               per_patient=_times_step())
    return con.execute(sql, [*params, scale]).df()


def kaplan_meier(days, responded, confidence: float = CONFIDENCE) -> tuple[pd.DataFrame, dict]:
    """Product-limit curve of "not yet responded" and its median, from per-patient times.

    Parameters
    ----------
    days : array-like
        Per patient, the day of response or of censoring.
    responded : array-like of bool
        Per patient, True for a response (event), False for censoring.
    confidence : float
        Coverage of the pointwise band and of the median's interval.

    Returns
    -------
    tuple
        `(curve, summary)`: the curve with CURVE_COLUMNS (one row per distinct time) and a
        dict with SUMMARY_COLUMNS (`n`, `events`, `median_days`, `median_low`, `median_high`;
        NaN means "not reached").

    Notes
    -----
    The curve is scipy.stats.ecdf(CensoredData(uncensored=event times, right=censoring
    times)).sf, evaluated at every distinct observed time (events and censorings; a patient
    censored at an event time is still at risk there): S(t) = prod over event times t_i <= t of
    (1 - d_i / n_i), with the pointwise `CI_METHOD` interval. Where S(t) = 1 (before the first
    event) or 0 the log-log interval is undefined and is set to [S, S].

    Median time to response: the first time with S(t) <= 0.5 (where S stays exactly at 0.5
    over an interval this is its start; R's survival package would take the midpoint to the
    next event). Its interval inverts the pointwise band: the lower limit is the first time the
    lower band reaches 0.5, the upper limit the first time the upper band does. NaN for the
    upper limit: the data cannot exclude a median beyond the last follow-up.

    References
    ----------
    Kaplan EL, Meier P (1958), J Am Stat Assoc 53:457-481; Kalbfleisch JD, Prentice RL (1980),
    The Statistical Analysis of Failure Time Data (the log-log interval); Brookmeyer R, Crowley
    J (1982), Biometrics 38:29-41, in the form R's survival package uses.
    """
    days = np.asarray(days, dtype=float)
    responded = np.asarray(responded, dtype=bool)
    if len(days) == 0:
        return pd.DataFrame(columns=CURVE_COLUMNS), {"n": 0, "events": 0, "median_days": math.nan,
                                                     "median_low": math.nan, "median_high": math.nan}
    data = scipy_stats.CensoredData(uncensored=days[responded], right=days[~responded])
    sf = scipy_stats.ecdf(data).sf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "undefined at some observations": handled below
        band = sf.confidence_interval(confidence_level=confidence, method=CI_METHOD)
    time, survival = sf.quantiles, sf.probabilities
    low = np.where(np.isnan(band.low.probabilities), survival, band.low.probabilities)
    high = np.where(np.isnan(band.high.probabilities), survival, band.high.probabilities)

    # Risk table at each time: at risk = still followed at t (time >= t).
    ordered = np.sort(days)
    at_risk = len(days) - np.searchsorted(ordered, time, side="left")
    events = _count_at(days[responded], time)
    censored = _count_at(days[~responded], time)
    curve = pd.DataFrame({
        "time": time.astype(int), "at_risk": at_risk, "events": events, "censored": censored,
        "survival": survival, "low": low, "high": high,
        "responded": 1 - survival, "responded_low": 1 - high, "responded_high": 1 - low,
    })

    def first_time_at_or_below_half(values: np.ndarray) -> float:
        reached = np.flatnonzero(values <= 0.5)
        return float(time[reached[0]]) if len(reached) else math.nan

    summary = {
        "n": int(len(days)),
        "events": int(responded.sum()),
        "median_days": first_time_at_or_below_half(survival),
        "median_low": first_time_at_or_below_half(low),
        "median_high": first_time_at_or_below_half(high),
    }
    return curve, summary


def _count_at(values: np.ndarray, time: np.ndarray) -> np.ndarray:
    """How many of `values` equal each of the (sorted) `time` points."""
    ordered = np.sort(values)
    return np.searchsorted(ordered, time, side="right") - np.searchsorted(ordered, time, side="left")


def time_to_response(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> dict[str, pd.DataFrame]:
    """Kaplan–Meier time to response, per group.

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
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`; one curve per group.

    Returns
    -------
    dict
        `{"curve": ..., "summary": ...}`:

        - `curve`: the `group_by` attributes, `time` (days since the first infusion),
          `at_risk`, `events`, `censored`, `survival` (S(t): probability of not having
          responded by day t), `low`, `high` (its 95% pointwise interval), `responded` =
          1 − S(t) with `responded_low`, `responded_high`.
        - `summary`: the `group_by` attributes, `n` (patients), `events` (responders),
          `median_days` with `median_low`, `median_high` (NaN: not reached).

    Notes
    -----
    Patients and times as in `response_times`; estimate as in `kaplan_meier`.

    References
    ----------
    Clinical reference, "Time to response".
    """
    group_by = check_group_by(group_by)
    times = _response_time_counts(con, scale, cohort, group_by)
    curves, summaries = [], []
    groups = times.groupby(list(group_by), dropna=False, sort=True) if group_by else [((), times)]
    for key, part in groups:
        if part.empty:
            continue
        key = key if isinstance(key, tuple) else (key,)
        labels = dict(zip(group_by, key))
        patients = part["patients"].to_numpy()
        curve, summary = kaplan_meier(np.repeat(part["days"].to_numpy(), patients),
                                      np.repeat(part["responded"].to_numpy(dtype=bool), patients))
        curves.append(curve.assign(**labels))
        summaries.append({**labels, **summary})
    if not summaries:
        return {"curve": pd.DataFrame(columns=[*group_by, *CURVE_COLUMNS]),
                "summary": pd.DataFrame(columns=[*group_by, *SUMMARY_COLUMNS])}
    curve = pd.concat(curves, ignore_index=True)[[*group_by, *CURVE_COLUMNS]]
    summary = pd.DataFrame(summaries)[[*group_by, *SUMMARY_COLUMNS]]
    return {"curve": curve, "summary": summary}


def responded_by_infusion(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Share of patients who have responded by infusion k, k = 1 … trajectory_max_infusion.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        `settings.thresholds.trajectory_max_infusion`: the last k.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`.

    Returns
    -------
    pandas.DataFrame
        The `group_by` attributes, `infusion`, `n`, `responded`, `share`, `low`, `high` (95%
        Wilson interval).

    Notes
    -----
    "Responded by infusion k": a follow-up taken before infusion k started (scores with
    `sessions_before` ≤ k − 1, the same axis as `trajectories.by_infusion`) met the response
    criterion (`instruments.response_drop_pct`), even if a later score relapsed. At k = 1
    that is nobody by construction: the score before infusion 1 is the baseline.
    Denominator: patients in `cohort` in caseness at baseline on `scale` (the population of
    `time_to_response`) who reached infusion k (at least k infusions recorded); a patient
    with no score after the baseline counts as not (yet) responded. share = responded / n,
    with the 95% Wilson score interval (`stats.wilson_interval`). Unlike `time_to_response`
    this is not a survival estimate: a patient who has not yet reached infusion k is left out
    of k's denominator rather than censored, so the shares of successive k are over different
    patients.

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)" (response, caseness) and "Choices where
    the reference leaves room" (a score stamped at an infusion's start counts as taken before
    it); Wilson EB (1927), J Am Stat Assoc 22:209-212.
    """
    group_by = check_group_by(group_by)
    max_infusion = settings.thresholds.trajectory_max_infusion
    sql, params = cohort_query("analytics/survival/responded_by_infusion", cohort, group_by)
    counts = con.execute(sql, [*params, scale, scale, max_infusion]).df()
    columns = [*group_by, "infusion", "n", "responded", "share", "low", "high"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    rates = [stats.wilson_interval(r, n) for r, n in zip(counts["responded"], counts["n"])]
    counts = counts.assign(share=[r.value for r in rates], low=[r.low for r in rates], high=[r.high for r in rates])
    return counts[columns].reset_index(drop=True)
