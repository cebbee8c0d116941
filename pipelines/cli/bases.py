"""`outcomes report --basis`: the response and remission columns of the report on another
basis than completers (intention to treat, last observation carried forward; docs/analytics.md,
"Three bases for a headline rate").

Why a module of its own: `commands.cmd_report` prints the completers' table it always has; this
module only swaps its response and remission columns (and their n) for the chosen basis' from
`analytics.intention.outcome_rates`, so the command itself changes by a line. Counts are printed
as they are: the CLI is an operator's tool on the machine with the identified database
(docs/design.md, "What passes through the small-cell rule").
"""

from __future__ import annotations

import pandas as pd

from ..analytics.intention import BASES, outcome_rates
from ..analytics.stats import wilson_interval

BASIS_WORDS = {
    "completers": "over patients in the clinical range at baseline with a follow-up (n evaluable)",
    "itt": "intention to treat: over every patient who started treatment in the clinical range, a missing "
           "score counted as no response (n evaluable = all of them)",
    "locf": "last observation carried forward: over every patient who started treatment in the clinical "
            "range, a missing score replaced by the last one before it (the baseline: no response)",
}


def with_basis(con, settings, frame: pd.DataFrame, scale: str, group_by: tuple[str, ...], timepoint: str,
               basis: str) -> tuple[pd.DataFrame, str]:
    """`frame` (`cohort_outcomes`' rows) with `n_evaluable` and the response and remission rates
    on `basis`, and the words saying over whom they are counted.

    Parameters
    ----------
    con, settings, scale, group_by, timepoint
        As in `analytics.intention.outcome_rates`.
    frame : pandas.DataFrame
        `analytics.outcomes.cohort_outcomes(..., group_by, timepoint)`.
    basis : {"completers", "itt", "locf"}
        "completers" returns `frame` unchanged.

    Returns
    -------
    tuple
        `(frame, words)`.

    Notes
    -----
    rate = k / n with the 95% Wilson score interval (`stats.wilson_interval`), k and n from
    `outcome_rates`. Reliable improvement and the median change are defined over completers
    only, so they are blanked ("-") on the other bases.
    """
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}; choose from {BASES}")
    if basis == "completers":
        return frame, BASIS_WORDS[basis]
    counts = outcome_rates(con, settings, scale, timepoint=timepoint, basis=basis, group_by=group_by)
    merged = frame.drop(columns=["n_evaluable"]).merge(counts[["group", "n", "responders", "remitters"]],
                                                       on="group", how="left")
    merged["n_evaluable"] = merged["n"]
    for count, name in (("responders", "response"), ("remitters", "remission")):
        estimates = [wilson_interval(int(k), int(n)) if not pd.isna(k) else None
                     for k, n in zip(merged[count], merged["n"])]
        for suffix, attribute in (("rate", "value"), ("low", "low"), ("high", "high")):
            merged[f"{name}_{suffix}"] = [float(getattr(e, attribute)) if e else float("nan") for e in estimates]
    # reliable improvement and the change are the completers' (over the evaluable n): not shown
    # beside another n
    merged["reliable_improvement_rate"] = float("nan")
    merged["median_change"] = float("nan")
    words = BASIS_WORDS[basis] + " (reliable improvement and median change: with --basis completers)"
    return merged, words
