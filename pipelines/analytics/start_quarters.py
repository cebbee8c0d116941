"""Outcomes by start quarter: the start-month comparison of `outcomes.monthly_outcomes` with
three months taken together.

Why: a clinic starting a dozen patients a month has a dozen evaluable patients a month at best,
and with 11 as the smallest count that may be published, a month's responders or its
non-responders are almost always under 11, so every monthly rate is blanked (seen on the sample
clinic: an empty "Trend by start month"). A quarter holds three times the patients. The counts
are the months' own, added up (the months partition the quarter's patients), and the rates
are recomputed from the summed counts, never averaged.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter
from .outcomes import GROUP_OUTCOMES, monthly_outcomes
from .shaping import with_rate


def quarter_label(start: pd.Timestamp) -> str:
    """A start quarter in words: "2025 Q1" (January to March 2025)."""
    start = pd.Timestamp(start)
    return f"{start.year} Q{start.quarter}"


def quarterly_outcomes(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                       cohort: CohortFilter = CohortFilter(), timepoint: str = "latest") -> pd.DataFrame:
    """Response and remission by start quarter (calendar quarter of the first infusion).

    Parameters
    ----------
    con, settings, scale, cohort, timepoint
        As in `outcomes.monthly_outcomes`.

    Returns
    -------
    pandas.DataFrame
        `group` ("2025 Q1"), `start_quarter` (the quarter's first day), `n_patients`,
        `n_evaluable`, then `<outcome>_n`, `_rate`, `_low`, `_high` for response and remission;
        one row per quarter with a started patient, counts raw (published with small cells
        blanked by `pipelines.reports.groups.quarterly_outcomes`).

    Notes
    -----
    Per quarter q, n_q = sum of its months' evaluable patients and k_q = sum of their
    responders (remitters); rate = k_q / n_q with the 95% Wilson score interval
    (`shaping.with_rate`), exactly as `cohort_outcomes` would count the quarter's patients,
    since every patient has one start month. A scale without remission (pain) keeps NaN.

    References
    ----------
    docs/scoring.md, "Outcomes (per patient and scale)"; Wilson EB (1927), J Am Stat Assoc
    22:209-212.
    """
    months = monthly_outcomes(con, settings, scale, cohort, timepoint)
    columns = ["group", "start_quarter", "n_patients", "n_evaluable",
               *[f"{name}_{suffix}" for name in GROUP_OUTCOMES for suffix in ("n", "rate", "low", "high")]]
    if months.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    months = months.assign(start_quarter=pd.to_datetime(months["start_month"]).dt.to_period("Q").dt.start_time)
    counts = ["n_patients", "n_evaluable", *[f"{name}_n" for name in GROUP_OUTCOMES]]
    quarters = (months.groupby("start_quarter", sort=True)[counts]
                .sum(min_count=1).reset_index())  # min_count: a scale without remission stays NULL
    for name in counts:
        quarters[name] = quarters[name].astype("Int64")
    for name in GROUP_OUTCOMES:
        if quarters[f"{name}_n"].isna().any():  # not defined on this scale (pain has no remission)
            quarters = quarters.assign(**{f"{name}_{suffix}": float("nan") for suffix in ("rate", "low", "high")})
        else:
            quarters = with_rate(quarters, name, "n_evaluable")
    quarters.insert(0, "group", [quarter_label(q) for q in quarters["start_quarter"]])
    return quarters[columns]
