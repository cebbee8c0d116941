"""The headline response and remission rates as they may be published, on each basis a reader
asks for (completers, intention to treat, last observation carried forward), each labelled with
its denominator.

Why a module of its own: the Clinic outcomes page, the one-page report, the CLI and the
notebooks show the same headline, and a rate without its denominator misleads (the sample's
after-induction response is 57% of the 202 scored after induction but 42% of the 276 who
started in the clinical range). The counts are `analytics.intention.outcome_rates`'; this module
adds the 95% Wilson intervals, the labels, and blanks small cells (`suppression`).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from ..analytics.cohorts import CohortFilter
from ..analytics.intention import BASES, outcome_rates
from ..analytics.outcomes import TIMEPOINTS, scale_has_remission
from ..analytics.stats import wilson_interval
from .suppression import blank, cell_size, suppress_counts

__all__ = ["BASES", "BASIS_LABELS", "TIMEPOINT_LABELS", "UNIPOLAR_DEPRESSION", "INDICATION_GROUPS",
           "headline_rates", "headline_by_indication", "scale_short_name", "caseness_min"]

BASIS_LABELS = {"completers": "Completers", "itt": "Intention to treat", "locf": "Last observation carried forward"}
TIMEPOINT_LABELS = {"after_induction": "after induction", "latest": "at the latest score"}
RATES = {"responders": "response", "remitters": "remission"}
DERIVED = {count: [f"{rate}_{s}" for s in ("rate", "low", "high")] for count, rate in RATES.items()}
# `primary_indication` values of unipolar depression (the import format's "depression").
UNIPOLAR_DEPRESSION = ("depression",)
INDICATION_GROUPS = ("Unipolar depression", "Other indications")


def headline_rates(con: duckdb.DuckDBPyConnection, settings, scale: str = "PHQ-9",
                   cohort: CohortFilter = CohortFilter(),
                   timepoint: str | Sequence[str] = TIMEPOINTS[::-1],
                   basis: str | Sequence[str] = ("completers", "itt"),
                   min_cell: int | None = None) -> pd.DataFrame:
    """Response and remission of the cohort on each basis and timepoint asked, as published.

    Parameters
    ----------
    con, settings, scale, cohort
        As in `analytics.intention.outcome_rates`.
    timepoint : str or sequence of str
        "after_induction", "latest", or several (default both, after induction first).
    basis : str or sequence of str
        "completers", "itt", "locf", or several (default completers and intention to treat).
    min_cell : int, optional
        The smallest count that may be shown; `settings.privacy.min_cell_size` (11) by default.

    Returns
    -------
    pandas.DataFrame
        One row per timepoint x basis (timepoints outer, in the order asked): `timepoint`,
        `basis`, `suppressed`, `n_shown`, `n_patients`, `n`, `responders`, `response_rate`,
        `response_low`, `response_high`, `remitters`, `remission_rate`, `remission_low`,
        `remission_high`, `not_yet_due` (patients left out of n because they are still in
        induction at the data's end without a score after induction: `outcome_rates`; <NA> when
        1 to min_cell - 1 or the row is suppressed), `has_remission`, `note` (why a row is blanked beyond the usual rule,
        else ""), `basis_label` ("Intention to treat"),
        `timepoint_label` ("after induction") and `denominator_label`, who n counts, to follow
        "<n> " (e.g. "who started with PHQ-9 ≥ 10").

    Notes
    -----
    rate = k / n with the 95% Wilson score interval (`stats.wilson_interval`), k the
    responders or remitters and n the basis' denominator (`outcome_rates`, Notes). Each row is
    suppressed like the headline's (`suppress_counts`): n of 1 to min_cell - 1 blanks the row;
    otherwise k, or n - k, of 1 to min_cell - 1 blanks k with its rate and interval. An ITT or
    LOCF row is blanked whole (`suppressed`, with a `note` saying why) when the patients it
    counts but the completers do not (those without a score at the time point) number 1 to
    min_cell - 1: its n and the completers' n, both shown on the page, would give them away.

    References
    ----------
    Wilson EB (1927), J Am Stat Assoc 22:209-212; docs/analytics.md, "Three bases for a
    headline rate" and "Small-cell suppression".
    """
    timepoints = [timepoint] if isinstance(timepoint, str) else list(timepoint)
    bases = [basis] if isinstance(basis, str) else list(basis)
    min_cell = cell_size(settings, min_cell)
    # Each (timepoint, basis) counted once: the completers' n is asked again below.
    asked = {(point, one_basis): outcome_rates(con, settings, scale, cohort, point, one_basis).iloc[0]
             for point in timepoints for one_basis in dict.fromkeys([*bases, "completers"])}
    rows = [{"timepoint": point, "basis": one_basis, **_with_rates(asked[point, one_basis])}
            for point in timepoints for one_basis in bases]
    completers = {point: int(asked[point, "completers"]["n"]) for point in timepoints}
    raw = _typed(pd.DataFrame(rows))
    shown, _ = suppress_counts(raw, min_cell, "n", tuple(RATES), companions=("n_patients",), derived=DERIVED)
    missing = [None if b == "completers" else int(n) - completers[t] for b, n, t in
               zip(raw["basis"], raw["n"], raw["timepoint"])]
    shown = _hide_small_missing(shown, missing, min_cell)
    # "n not yet due" is a count of patients: blanked when small (1 to min_cell - 1) or when the
    # row is suppressed.
    small = shown["not_yet_due"].between(1, min_cell - 1).fillna(False).astype(bool) | shown["suppressed"].astype(bool)
    shown.loc[small, "not_yet_due"] = pd.NA
    return _labelled(con, scale, shown)


def headline_by_indication(con: duckdb.DuckDBPyConnection, settings, scale: str = "PHQ-9",
                           cohort: CohortFilter = CohortFilter(),
                           timepoint: str | Sequence[str] = TIMEPOINTS[::-1],
                           basis: str | Sequence[str] = ("completers", "itt"),
                           min_cell: int | None = None) -> pd.DataFrame:
    """The headline rates for unipolar depression and for the other indications, apart.

    Parameters
    ----------
    con, settings, scale, cohort, timepoint, basis, min_cell
        As in `headline_rates`.

    Returns
    -------
    pandas.DataFrame
        `headline_rates`' columns with `indication_group` first ("Unipolar depression",
        "Other indications"), one row per group x timepoint x basis.

    Notes
    -----
    The published real-world cohorts (McInnes et al. 2022; Oliver et al. 2022) are patients
    with (treatment-resistant) unipolar depression; bipolar depression, PTSD, anxiety, pain and
    other indications respond differently, so a clinic's mixed rate is not comparable with
    them. Unipolar depression is `primary_indication` in UNIPOLAR_DEPRESSION ("depression" in
    the import format); every other value, and a missing one, is "Other indications". The two
    groups partition the cohort whose headline is published too, so each (timepoint, basis)
    pair is suppressed as a table with that total (`suppress_counts(totals=...)`): a group is
    blanked when it, or what the headline minus it gives back, is a small cell; and an ITT or
    LOCF group row when its patients without a score number 1 to min_cell - 1 (as in
    `headline_rates`).

    References
    ----------
    Published benchmarks (docs/analytics.md, "Like with like"); docs/analytics.md,
    "Small-cell suppression".
    """
    timepoints = [timepoint] if isinstance(timepoint, str) else list(timepoint)
    bases = [basis] if isinstance(basis, str) else list(basis)
    min_cell = cell_size(settings, min_cell)
    tables = []
    for point in timepoints:
        completers = _indication_groups(con, settings, scale, cohort, point, "completers")
        for one_basis in bases:
            groups = (completers if one_basis == "completers"
                      else _indication_groups(con, settings, scale, cohort, point, one_basis))
            table = _typed(pd.DataFrame([{"indication_group": label, "timepoint": point, "basis": one_basis,
                                          **_with_rates(summed)} for label, summed in groups.items()]))
            totals = {c: table[c].sum() if c != "remitters" or table[c].notna().any() else pd.NA
                      for c in ("n_patients", "n", "responders", "remitters")}
            shown, _ = suppress_counts(table, min_cell, "n", tuple(RATES), companions=("n_patients",),
                                       totals=totals, derived=DERIVED)
            missing = [None if one_basis == "completers" else int(groups[label]["n"]) - int(completers[label]["n"])
                       for label in groups]
            tables.append(_hide_small_missing(shown, missing, min_cell))
    return _labelled(con, scale, pd.concat(tables, ignore_index=True))


def _indication_groups(con, settings, scale, cohort, timepoint, basis) -> dict[str, dict]:
    """`outcome_rates` per indication, summed into INDICATION_GROUPS: {label: counts}."""
    counts = outcome_rates(con, settings, scale, cohort, timepoint, basis, group_by=("primary_indication",))
    depression = counts["primary_indication"].isin(UNIPOLAR_DEPRESSION).fillna(False).astype(bool)
    parts = ((INDICATION_GROUPS[0], counts[depression]), (INDICATION_GROUPS[1], counts[~depression]))
    return {label: {c: part[c].sum() if c != "remitters" or part[c].notna().any() else pd.NA
                    for c in ("n_patients", "n", "responders", "remitters", "not_yet_due")} for label, part in parts}


def _hide_small_missing(shown: pd.DataFrame, missing: list, min_cell: int) -> pd.DataFrame:
    """Blank the ITT and LOCF rows whose patients without a score (their n minus the
    completers' n, `missing`; None for a completers' row) number 1 to min_cell - 1."""
    already = shown["suppressed"].to_numpy(dtype=bool)
    hidden = np.array([m is not None and 0 < m < min_cell for m in missing], dtype=bool) & ~already
    shown = blank(shown, hidden, counts=("n_patients", "n", *RATES),
                  values=[c for columns in DERIVED.values() for c in columns])
    shown.loc[hidden, "suppressed"] = True
    shown.loc[hidden, "n_shown"] = "not shown"
    shown["note"] = np.where(hidden, f"not shown: fewer than {min_cell} patients have no score at this time "
                             "point, and this row beside the completers' would tell how many", "")
    return shown


def _with_rates(counts) -> dict:
    """The counts of one row with each rate's Wilson estimate (NaN for an undefined count)."""
    row = {"n_patients": counts["n_patients"], "n": counts["n"], "not_yet_due": counts.get("not_yet_due", 0)}
    for count, rate in RATES.items():
        row[count] = counts[count]
        defined = not pd.isna(counts[count])
        estimate = wilson_interval(int(counts[count]), int(counts["n"])) if defined else None
        for suffix, attribute in (("rate", "value"), ("low", "low"), ("high", "high")):
            row[f"{rate}_{suffix}"] = float(getattr(estimate, attribute)) if estimate else float("nan")
    return row


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("n_patients", "n", "responders", "remitters", "not_yet_due"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _labelled(con, scale: str, shown: pd.DataFrame) -> pd.DataFrame:
    """Add `has_remission` and the labels."""
    name, threshold = scale_short_name(con, scale), caseness_min(con, scale)
    shown["has_remission"] = scale_has_remission(con, scale)
    shown["basis_label"] = shown["basis"].map(BASIS_LABELS)
    shown["timepoint_label"] = shown["timepoint"].map(TIMEPOINT_LABELS)
    shown["denominator_label"] = [_denominator_label(b, t, name, threshold)
                                  for b, t in zip(shown["basis"], shown["timepoint"])]
    return shown


def scale_short_name(con: duckdb.DuckDBPyConnection, scale: str) -> str:
    """The scale's display name without its description: "PHQ-9", "Pain" (registry's
    `display_name`, "PHQ-9 (depression)", "Pain (0-10)")."""
    rows = con.execute("SELECT display_name FROM instruments WHERE code = ?", [scale]).fetchall()
    return (rows[0][0] or scale).split(" (")[0] if rows else scale


def caseness_min(con: duckdb.DuckDBPyConnection, scale: str) -> float:
    """The lowest baseline in the clinical range (PHQ-9 10, GAD-7 8, PCL-5 33, pain 4)."""
    return con.execute("SELECT caseness_min FROM instruments WHERE code = ?", [scale]).fetchall()[0][0]


def _denominator_label(basis: str, timepoint: str, name: str, threshold: float) -> str:
    started = f"who started with {name} ≥ {threshold:g}"
    if basis == "completers":
        return f"{started} and had a score {TIMEPOINT_LABELS[timepoint]}".replace(
            "score at the latest score", "later score")
    if basis == "locf":
        return f"{started}, missing scores carried forward"
    return started
