"""Durability of response: of the patients responding after induction, the share still
responding 4 and 8 weeks later.

Why this module: a response rate says how many got better, not for how long; the published
real-world figure a clinic is compared with (McInnes et al. 2022: of responders, about 80%
still responding at 4 weeks and 60% at 8 weeks) is a Kaplan-Meier estimate of time from a
response after the induction series to loss of response, in patients without maintenance, so
the clinic's is computed the same way: from the after-induction score, up to the first
maintenance infusion. Per-patient times come
from DuckDB (sql/analytics/durability/), the product-limit estimate from `survival.kaplan_meier`
(scipy).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by, cohort_query
from .survival import kaplan_meier

WEEKS = (4, 8)
SUMMARY_COLUMNS = ["weeks", "day", "responders", "losses", "at_risk", "still_responding", "low", "high"]


def loss_times(con: duckdb.DuckDBPyConnection, scale: str = "PHQ-9", cohort: CohortFilter = CohortFilter(),
               group_by: tuple[str, ...] = ()) -> pd.DataFrame:
    """Responders after induction per group, days from that score and whether response was lost then.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views.
    scale : str
        Instrument code.
    cohort : CohortFilter
        Which treated patients.
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`.

    Returns
    -------
    pandas.DataFrame
        The `group_by` attributes, `days`, `lost` (bool), `patients`.

    Notes
    -----
    Responders: patients in the clinical range at baseline whose after-induction score
    (`patient_outcomes.after_induction_at`) meets the response criterion (PHQ-9 a drop of 50%
    or more from baseline); time zero is that score. Loss of response is the first later valid
    score that no longer meets the criterion; `days` is the calendar days between the two
    scores. Follow-up ends at the first maintenance infusion (after the `induction_sessions`-th)
    after time zero: a score at or before its start counts, later ones do not (McInnes's
    patients had no maintenance). A responder with no loss is censored at their last score so
    counted (0 when the after-induction score is the last).
    """
    group_by = check_group_by(group_by)
    sql, params = cohort_query("analytics/durability/loss_times", cohort, group_by, rows="p")
    return con.execute(sql, [*params, scale]).df()


def durability(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
               cohort: CohortFilter = CohortFilter(), group_by: tuple[str, ...] = (),
               weeks: tuple[int, ...] = WEEKS) -> dict[str, pd.DataFrame]:
    """Kaplan-Meier share of responders still responding, at each of `weeks` after the first
    response.

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
    weeks : tuple of int
        When to read the curve (default 4 and 8 weeks: days 28 and 56).

    Returns
    -------
    dict
        `{"curve": ..., "summary": ...}`: `curve` as `survival.kaplan_meier`'s (here `survival`
        is the share still responding at `time` days after the first response, `events` the
        losses), with the `group_by` attributes; `summary` one row per group and week: the
        `group_by` attributes, `weeks`, `day`, `responders` (the curve's n), `losses` (losses
        observed by then), `at_risk` (responders still followed at that day),
        `still_responding` with `low`, `high` (95% log-log pointwise interval).

    Notes
    -----
    S(t) = prod over loss times t_i <= t of (1 - d_i / n_i), n_i the responders still followed
    (loss-free) at t_i and d_i the losses then (Kaplan & Meier 1958), times from
    `loss_times`. Read at t = 7 x weeks; NaN when nobody is followed that long (the curve
    ends before t). Follow-up ends at the first maintenance infusion (`loss_times`), as the
    published patients had none.

    References
    ----------
    McInnes LA, Qian JJ, Gargeya RS, DeBattista C, Heifets BD (2022), "A retrospective analysis
    of ketamine intravenous therapy for depression in real-world care settings", J Affect
    Disord 301:486-495 (durability of response by Kaplan-Meier); Kaplan EL, Meier P (1958),
    J Am Stat Assoc 53:457-481.
    """
    group_by = check_group_by(group_by)
    counts = loss_times(con, scale, cohort, group_by)
    curves, rows = [], []
    groups = counts.groupby(list(group_by), dropna=False, sort=True) if group_by else [((), counts)]
    for key, part in groups:
        if part.empty:
            continue
        key = key if isinstance(key, tuple) else (key,)
        labels = dict(zip(group_by, key))
        patients = part["patients"].to_numpy()
        days = np.repeat(part["days"].to_numpy(), patients)
        lost = np.repeat(part["lost"].to_numpy(dtype=bool), patients)
        curve, _ = kaplan_meier(days, lost)
        curves.append(curve.assign(**labels))
        for week in weeks:
            rows.append({**labels, **_read_at(curve, days, lost, 7 * week), "weeks": week})
    columns = [*group_by, *SUMMARY_COLUMNS]
    if not rows:
        return {"curve": pd.DataFrame(columns=[*group_by, "time"]), "summary": pd.DataFrame(columns=columns)}
    return {"curve": pd.concat(curves, ignore_index=True), "summary": pd.DataFrame(rows)[columns]}


def _read_at(curve: pd.DataFrame, days: np.ndarray, lost: np.ndarray, day: int) -> dict:
    """The curve's value at `day` with the counts behind it; NaN beyond the longest follow-up."""
    followed = int((days >= day).sum())
    reached = curve[curve["time"] <= day]
    if followed == 0 or reached.empty:
        value = low = high = (1.0 if followed and reached.empty else np.nan)
    else:
        last = reached.iloc[-1]
        value, low, high = float(last.survival), float(last.low), float(last.high)
    return {"day": day, "responders": int(len(days)), "losses": int((lost & (days <= day)).sum()),
            "at_risk": followed, "still_responding": value, "low": low, "high": high}
