"""Headline response and remission on three bases: completers, intention to treat and last
observation carried forward.

Why this module: a rate over the patients who happened to be scored at a time point (the
completers) leaves out everyone who stopped or missed the questionnaire, and those patients
did worse on average; the published real-world ketamine cohorts report completers (McInnes
2022: 537 completers of 9,016 treated), so a clinic's figure is comparable only when its
denominator is named. `outcomes.cohort_outcomes` keeps the
completers' rates with their change statistics; this module counts the same response and
remission (the `judge_outcome` macro, one definition) over the three denominators, in DuckDB
(sql/analytics/intention/rates.sql). Counts are raw; `pipelines.reports.headline` publishes
them with small cells blanked.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by, cohort_query
from .outcomes import TIMEPOINTS, scale_has_remission
from .shaping import with_group_label

BASES = ("completers", "itt", "locf")


def outcome_rates(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    scale: str = "PHQ-9",
    cohort: CohortFilter = CohortFilter(),
    timepoint: str = "after_induction",
    basis: str = "completers",
    group_by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Responders and remitters of one scale over the denominator of a basis, per group.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection with the outcome views (`analytics.snapshot.open_snapshot` or the file).
    settings : Settings
        Taken for the common signature; windows come from the database's `outcome_settings`
        and thresholds from its `instruments` table.
    scale : str
        Instrument code, e.g. "PHQ-9".
    cohort : CohortFilter
        Which treated patients.
    timepoint : {"after_induction", "latest"}
        The score judged: the first valid score after the 6th infusion started and not after
        the 9th started, or the latest valid score.
    basis : {"completers", "itt", "locf"}
        The denominator and what a missing score counts as (Notes).
    group_by : tuple of str
        Attributes of `cohorts.GROUPABLE`; empty for one row over the cohort.

    Returns
    -------
    pandas.DataFrame
        One row per group: `group` ("all" when ungrouped), the group columns, `n_patients`
        (treated patients of the group), `n_baseline` (of them with a baseline on `scale`),
        `n` (the basis' denominator), `responders`, `remitters` (Int64; <NA> for a scale
        without remission: pain), `not_yet_due` (patients left out of every basis' n at
        "after_induction" because they cannot yet have reached it; 0 at "latest").

    Notes
    -----
    All three bases start from the patients who started treatment (at least one infusion)
    with a baseline in the clinical range (PHQ-9 >= 10, GAD-7 >= 8, PCL-5 >= 33, pain >= 4):

    - completers: n = those with a score at `timepoint`; responders among them;
    - itt (intention to treat): n = all of them; a missing score at `timepoint` counts as
      neither response nor remission, so responders are the completers' responders;
    - locf (last observation carried forward): n = all of them; the score judged is the one
      at `timepoint` if there is one, else (after induction) the last valid score after the
      baseline dated at or before the start of the infusion that closes the window (the 9th;
      any score so far when there was none), else the baseline itself (no change: neither
      response nor remission). At "latest" the latest score is already the last observation,
      so LOCF equals intention to treat there.

    Not yet due (after induction only): a patient still in induction at the data's end (the
    latest infusion in the database) -- fewer infusions than `after_induction_before_session`
    - 1 (8) and neither paused nor ended there (the `treatment_status` macro with
    `treatment.paused_after_days` and `ended_after_days`) -- and without a score after
    induction cannot yet have reached the time point. They are left out of every basis' n and
    counted in `not_yet_due`, so a page can say "n not yet due" instead of counting them as
    failures.

    Response is a drop of at least 50% (pain 30%), remission a score below 5 (PCL-5 below 33
    with a drop of 10 or more), exactly as in `patient_outcomes`. rate = responders / n; the
    reports layer adds the 95% Wilson interval (`stats.wilson_interval`).

    References
    ----------
    Clinical reference, "Outcome definitions" and "Caseness"; Gupta SK (2011), "Intention-to-
    treat concept: a review", Perspect Clin Res 2:109-112 (ITT and LOCF); McInnes LA et al.
    (2022), "A retrospective analysis of ketamine intravenous therapy for depression in
    real-world care settings", J Affect Disord 301:486-495, and Oliver PA et al. (2022),
    J Clin Psychiatry 83(6):21m14336: both report completers' rates only; docs/analytics.md,
    "Three bases for a headline rate".
    """
    if timepoint not in TIMEPOINTS:
        raise ValueError(f"unknown timepoint {timepoint!r}; choose from {TIMEPOINTS}")
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}; choose from {BASES}")
    group_by = check_group_by(group_by)
    has_remission = scale_has_remission(con, scale)
    sql, params = cohort_query("analytics/intention/rates", cohort, group_by)
    counts = con.execute(sql, [*params, scale, timepoint, basis, settings.treatment.paused_after_days,
                                  settings.treatment.ended_after_days]).df()
    frame = with_group_label(counts, group_by)
    for column in ("n_patients", "n_baseline", "n", "responders", "remitters", "not_yet_due"):
        frame[column] = frame[column].astype("Int64")
    if not has_remission:
        frame.loc[:, "remitters"] = pd.NA
    return frame
