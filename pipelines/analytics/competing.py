"""Time to response with stopping treatment as a competing event: the cumulative incidence of
response (Aalen-Johansen).

Why this module: Kaplan-Meier (`survival.time_to_response`) censors a patient who stopped
treatment without responding, that is, it assumes they could still respond later at the rate
of those who stayed. They cannot: once treatment has ended no response will be recorded. So
1 - KM overstates the share who respond (on the sample about 79% by day 62, against 57% of
the completers after induction). The cumulative incidence function (CIF) counts a stop as an
event of its own kind that removes the patient from the chance of responding: CIF(t) is the
share of patients who have responded by day t, among all who started in the clinical range.

Per-patient times come from DuckDB (sql/analytics/competing/, reusing survival's per-patient
step); the estimator is a few lines of numpy, written out below with its variance.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by, cohort_query, step
from .stats import CONFIDENCE

RESPONDED, STOPPED, CENSORED = 1, 2, 0
CURVE_COLUMNS = ["time", "at_risk", "responses", "stopped", "censored", "responded", "responded_low",
                 "responded_high", "responded_se", "stopped_share", "stopped_low", "stopped_high", "stopped_se"]
SUMMARY_COLUMNS = ["n", "responses", "stopped", "censored"]


def event_counts(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                 cohort: CohortFilter = CohortFilter(), group_by: tuple[str, ...] = ()) -> pd.DataFrame:
    """Patients per group, day and event: the input of `aalen_johansen`.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    settings : Settings
        `settings.treatment.ended_after_days`: the gap without an infusion after which a
        patient has stopped treatment.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`.

    Returns
    -------
    pandas.DataFrame
        The `group_by` attributes, `days`, `event` (1 responded, 2 stopped, 0 censored),
        `patients`.

    Notes
    -----
    Patients: the cohort's, in the clinical range at baseline on `scale`. Each patient has
    one time, in days since the date of the first infusion:

    - responded (event 1): the first follow-up meeting the response criterion
      (`survival.response_times`: the same day Kaplan-Meier uses);
    - stopped (event 2): no response, and either discharged (`patients.discharge_date`) on
      or before the data's end (the latest infusion in the database) or the last infusion at
      least `ended_after_days` (90) days before it; the time is the earlier of the discharge
      date and the day of the last infusion, after which no response could be recorded. A
      discharge dated before a later infusion is a re-admission and does not count (as in
      `treatment_status`), so the earlier is always the last infusion;
    - censored (0): no response and still in treatment; the time is the last follow-up's day
      (0 without one).

    References
    ----------
    Clinical reference, "Time to response with stopping as a competing event";
    docs/analytics.md, "Competing risks".
    """
    group_by = check_group_by(group_by)
    sql, params = cohort_query("analytics/competing/event_counts", cohort, group_by, rows="p",
                               per_patient=step("per_patient", "analytics/survival/patient_times"))
    return con.execute(sql, [*params, scale, scale, settings.treatment.ended_after_days]).df()


def aalen_johansen(days, events, confidence: float = CONFIDENCE) -> tuple[pd.DataFrame, dict]:
    """Cumulative incidence of response and of stopping, with pointwise intervals.

    Parameters
    ----------
    days : array-like
        Per patient, the day of the event or of censoring.
    events : array-like of int
        Per patient, 1 (responded), 2 (stopped) or 0 (censored).
    confidence : float
        Coverage of the pointwise intervals.

    Returns
    -------
    tuple
        `(curve, summary)`: the curve with CURVE_COLUMNS, one row per distinct time (events
        and censorings): `at_risk`, the day's `responses`, `stopped`, `censored`, the CIF of
        response `responded` with `responded_low`, `responded_high` and its standard error
        `responded_se`, and the CIF of stopping `stopped_share` with `stopped_low`,
        `stopped_high`, `stopped_se`; a dict with SUMMARY_COLUMNS.

    Notes
    -----
    At the ordered distinct times t_j, with n_j patients at risk (time >= t_j), d1_j
    responses, d2_j stops and d_j = d1_j + d2_j:

        S(t_j) = prod_{i <= j} (1 - d_i / n_i)         (Kaplan-Meier of "no event yet")
        F_k(t_j) = sum_{i <= j} S(t_{i-1}) d_ki / n_i   (cumulative incidence of cause k)

    so F_1 + F_2 + S = 1 when nobody is censored, and F_1 <= 1 - KM of response alone.
    Variance: the delta-method estimator of Marubini & Valsecchi (1995, eq. 10.10), as
    statsmodels' `CumIncidenceRight` computes it:

        Var F_k(t) = sum_{t_j <= t} [F_k(t) - F_k(t_j)]^2 d_j / (n_j (n_j - d_j))
                   + sum_{t_j <= t} S(t_{j-1})^2 d_kj (n_j - d_kj) / n_j^3
                   - 2 sum_{t_j <= t} [F_k(t) - F_k(t_j)] S(t_{j-1}) d_kj / n_j^2

    (a time where everyone at risk has an event, n_j = d_j, adds nothing to the first sum).
    The interval uses the log(-log) transform, which keeps it inside [0, 1] (Choudhury 2002):
    F^exp(+-z se / (F log F)); where F is 0 or 1 it is [F, F].

    References
    ----------
    Aalen OO, Johansen S (1978), "An empirical transition matrix for non-homogeneous Markov
    chains based on censored observations", Scand J Stat 5:141-150; Kalbfleisch JD, Prentice RL
    (1980), The Statistical Analysis of Failure Time Data, ch. 7; Marubini E, Valsecchi MG
    (1995), Analysing Survival Data from Clinical Trials and Observational Studies, Wiley,
    ch. 10; Choudhury JB (2002), "Non-parametric confidence interval estimation for competing
    risks analysis", Stat Med 21:1129-1144.
    """
    days = np.asarray(days, dtype=float)
    events = np.asarray(events, dtype=int)
    summary = {"n": int(len(days)), "responses": int((events == RESPONDED).sum()),
               "stopped": int((events == STOPPED).sum()), "censored": int((events == CENSORED).sum())}
    if len(days) == 0:
        return pd.DataFrame(columns=CURVE_COLUMNS), summary
    time = np.unique(days)
    ordered = np.sort(days)
    at_risk = (len(days) - np.searchsorted(ordered, time, side="left")).astype(float)
    d1, d2, censored = (_count_at(days[events == code], time) for code in (RESPONDED, STOPPED, CENSORED))
    d = d1 + d2
    survival = np.cumprod(1 - d / at_risk)
    before = np.r_[1.0, survival[:-1]]  # S(t_{j-1})
    curve = pd.DataFrame({"time": time.astype(int), "at_risk": at_risk.astype(int), "responses": d1,
                          "stopped": d2, "censored": censored})
    z = scipy_stats.norm.ppf(0.5 + confidence / 2)
    for name, dk in (("responded", d1), ("stopped_share", d2)):
        cif = np.cumsum(before * dk / at_risk)
        se = np.sqrt(np.maximum(_variance(cif, before, dk, d, at_risk), 0.0))
        low, high = _log_log_interval(cif, se, z)
        prefix = name.removesuffix("_share")
        curve[name], curve[f"{prefix}_low"], curve[f"{prefix}_high"], curve[f"{prefix}_se"] = cif, low, high, se
    return curve[CURVE_COLUMNS], summary


def _variance(cif, before, dk, d, at_risk):
    """Marubini & Valsecchi's delta-method variance of one CIF at every time (see
    `aalen_johansen`), expanded so that each sum is a cumulative sum."""
    with np.errstate(divide="ignore", invalid="ignore"):
        all_cause = np.where(at_risk > d, d / (at_risk * (at_risk - d)), 0.0)
    own = before**2 * dk * (at_risk - dk) / at_risk**3
    cross = before * dk / at_risk**2
    # sum (F(t) - F_j)^2 a_j = F(t)^2 sum a_j - 2 F(t) sum F_j a_j + sum F_j^2 a_j
    first = cif**2 * np.cumsum(all_cause) - 2 * cif * np.cumsum(cif * all_cause) + np.cumsum(cif**2 * all_cause)
    third = -2 * (cif * np.cumsum(cross) - np.cumsum(cif * cross))
    return first + np.cumsum(own) + third


def _log_log_interval(cif, se, z):
    """F^exp(+-z se / (F log F)), the log(-log) interval (Choudhury 2002); [F, F] at 0 and 1."""
    inside = (cif > 0) & (cif < 1) & (se > 0)
    low, high = cif.astype(float).copy(), cif.astype(float).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = z * se / (cif * np.log(cif))
        low = np.where(inside, cif ** np.exp(-spread), low)
        high = np.where(inside, cif ** np.exp(spread), high)
    return np.minimum(low, high), np.maximum(low, high)


def _count_at(values: np.ndarray, time: np.ndarray) -> np.ndarray:
    """How many of `values` equal each of the (sorted) `time` points."""
    ordered = np.sort(values)
    return np.searchsorted(ordered, time, side="right") - np.searchsorted(ordered, time, side="left")


def cumulative_incidence(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                         cohort: CohortFilter = CohortFilter(),
                         group_by: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """Cumulative incidence of response, stopping treatment competing, per group.

    Parameters
    ----------
    con, settings, scale, cohort, group_by
        As in `event_counts`.

    Returns
    -------
    dict
        `{"curve": ..., "summary": ...}`: `curve` the `group_by` attributes and CURVE_COLUMNS
        (`time` in days since the first infusion; `responded`: the share of the group who have
        responded by then, with its 95% interval; `stopped_share`: who stopped without a
        response), `summary` the `group_by` attributes and SUMMARY_COLUMNS.

    Notes
    -----
    Times and events as in `event_counts`; the estimate as in `aalen_johansen`.

    References
    ----------
    Aalen OO, Johansen S (1978), Scand J Stat 5:141-150; clinical reference, "Time to response
    with stopping as a competing event".
    """
    group_by = check_group_by(group_by)
    counts = event_counts(con, settings, scale, cohort, group_by)
    curves, summaries = [], []
    groups = counts.groupby(list(group_by), dropna=False, sort=True) if group_by else [((), counts)]
    for key, part in groups:
        if part.empty:
            continue
        key = key if isinstance(key, tuple) else (key,)
        labels = dict(zip(group_by, key))
        patients = part["patients"].to_numpy()
        curve, summary = aalen_johansen(np.repeat(part["days"].to_numpy(), patients),
                                        np.repeat(part["event"].to_numpy(), patients))
        curves.append(curve.assign(**labels))
        summaries.append({**labels, **summary})
    if not summaries:
        return {"curve": pd.DataFrame(columns=[*group_by, *CURVE_COLUMNS]),
                "summary": pd.DataFrame(columns=[*group_by, *SUMMARY_COLUMNS])}
    return {"curve": pd.concat(curves, ignore_index=True)[[*group_by, *CURVE_COLUMNS]],
            "summary": pd.DataFrame(summaries)[[*group_by, *SUMMARY_COLUMNS]]}


def share_by_day(curve: pd.DataFrame, day: int, column: str = "responded") -> float:
    """The step function `curve[column]` at `day` (0 before the first time; NaN for an empty
    curve)."""
    if curve.empty:
        return math.nan
    reached = curve[curve["time"] <= day]
    return float(reached[column].iloc[-1]) if len(reached) else 0.0
