"""Shaping a counted frame the same way in every grouped answer: a readable label per group and
each rate with its 95% Wilson interval beside its count.

Why a module of its own: `outcomes.cohort_outcomes`, `nhs.paired_outcome` and
`retention.retention` count in DuckDB and then shape their frames alike; written once here, a
group reads the same and a rate is named and computed the same way in every answer. These are
building blocks, not questions: they take a frame another analytics function has counted.
"""

from __future__ import annotations

import pandas as pd

from .stats import wilson_interval

ALL_PATIENTS = "all"  # the `group` label of the single row of an ungrouped result


def with_group_label(frame: pd.DataFrame, group_by: tuple[str, ...]) -> pd.DataFrame:
    """Prepend the column `group`, a readable label of each row's group.

    A building block, not a question: it shapes a frame another analytics function has counted,
    so that every grouped answer (`outcomes.cohort_outcomes`, `nhs.paired_outcome`,
    `retention.retention`) labels its groups the same way. Public because they import it.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per group.
    group_by : tuple of str
        The grouping columns of `frame`.

    Returns
    -------
    pandas.DataFrame
        `frame` with `group` first: "all" for an ungrouped result, else the group values
        joined by " / " (a missing value reads "unknown").
    """
    frame = frame.reset_index(drop=True)
    if not group_by:
        label = pd.Series(ALL_PATIENTS, index=frame.index, dtype=object)
    else:
        parts = [frame[name].astype("string").fillna("unknown") for name in group_by]
        label = parts[0].astype(object)
        for part in parts[1:]:
            label = label + " / " + part.astype(object)
    frame.insert(0, "group", label)
    return frame


def with_rate(frame: pd.DataFrame, name: str, denominator: str) -> pd.DataFrame:
    """Add a rate with its 95% Wilson interval right after its count.

    A building block, not a question: it adds the `_rate`, `_low`, `_high` columns to a frame
    another analytics function has counted, so that every rate of `outcomes.cohort_outcomes`,
    `nhs.paired_outcome` and `retention.retention` is named and computed the same way. Public
    because they import it.

    Parameters
    ----------
    frame : pandas.DataFrame
        Holds `<name>_n` and the denominator column.
    name : str
        The outcome.
    denominator : str
        The column of n.

    Returns
    -------
    pandas.DataFrame
        `frame` with `<name>_rate`, `<name>_low`, `<name>_high` (`stats.wilson_interval`) after
        `<name>_n`; NaN where the denominator is 0.

    Notes
    -----
    rate = k / n with the 95% Wilson score interval, k = `<name>_n`, n = `denominator`.

    References
    ----------
    Wilson EB (1927), J Am Stat Assoc 22:209-212.
    """
    estimates = [wilson_interval(k, n) for k, n in zip(frame[f"{name}_n"], frame[denominator])]
    position = frame.columns.get_loc(f"{name}_n") + 1
    for offset, (suffix, attribute) in enumerate((("rate", "value"), ("low", "low"), ("high", "high"))):
        values = [float(getattr(e, attribute)) for e in estimates]
        frame.insert(position + offset, f"{name}_{suffix}", pd.Series(values, index=frame.index, dtype=float))
    return frame
