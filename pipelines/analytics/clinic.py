"""Clinic-level questions of the director's page that no other analytics module answers: how busy
the clinic is, how complete its measurement is, the per-patient picture of change (waterfall),
how severity moved from baseline to after induction, and outcomes by clinician, by site and by
start month with funnel-plot control limits, with small cells suppressed (`suppression`,
threshold `settings.privacy.min_cell_size`). The page's other tables, in the form they may be
published, are `published`.

Why a module of its own: the Clinic outcomes page may hold no SQL and no statistics (design
notes), and these figures must be the same in a notebook as on the page. Outcome flags are never
re-decided here: response and remission come from `patient_outcomes` (clinical reference,
"Outcome definitions") through the same CTEs `outcomes.cohort_outcomes` uses, and rates by group
are `cohort_outcomes` itself; this module only counts, ranks and suppresses.

Every query aggregates in DuckDB and returns at most a few hundred rows, so the page stays fast on
a 200,000-patient clinic (the waterfall in particular never sends one bar per patient at that
size: see `waterfall`).

Definitions chosen here (also in docs/analytics.md):

- **As-of date**: the date of the latest infusion in the database (clinic-wide, whatever the
  filter), as the worklist uses it: a snapshot of exports is "as of" its newest infusion, not the
  wall clock.
- **Active patients**: patients of the cohort with an infusion on or after as-of minus
  `settings.thresholds.active_treatment_days` (28) days - the worklist's "in active treatment".
- **New starts**: patients of the cohort whose first infusion is on or after as-of minus
  `new_start_days` (30) days. The cohort's own first-infusion date range applies as well (a
  cohort filter is never ignored), so a range ending before that window gives 0 new starts.
- **Assessment completion**: of the cohort's infusions, the share with a valid score of the
  scale taken before the infusion started (at its start time at the latest) and after the
  previous infusion started; for the first infusion, "after the previous" is the baseline window
  (from the first infusion's date minus `settings.baseline_window_days`), so infusion 1 counts as
  covered exactly when the patient has a baseline (clinical reference, "Baseline").
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from ..settings import Settings
from .cohorts import CohortFilter, check_group_by, cohort_join
from .outcomes import LATEST_SQL, TIMEPOINTS, cohort_outcomes, cohort_sql, judged_at_sql
from .stats import wilson_interval
from ..reports.suppression import DEFAULT_MIN_CELL, label, small, suppress_cross_tab, suppress_small_groups

# CMS cell-size suppression policy: no cell describing 1-10 beneficiaries may be published. The
# default of settings.privacy.min_cell_size, which the functions below use.
MIN_CELL = DEFAULT_MIN_CELL
NEW_START_DAYS = 30
WATERFALL_MAX_BARS = 500
# Funnel plot control limits (Spiegelhalter 2005): ~2 and ~3 standard deviations.
FUNNEL_LEVELS = (0.95, 0.998)
# Outcomes shown per group (each with `_n`, `_rate`, `_low`, `_high` from cohort_outcomes).
GROUP_OUTCOMES = ("response", "remission")


def suppressed_label(min_cell: int = MIN_CELL) -> str:
    return label(min_cell)


def cell_size(settings: Settings, min_cell: int | None = None) -> int:
    """The smallest count that may be published: `min_cell` when given (tests), else
    `settings.privacy.min_cell_size`."""
    return settings.privacy.min_cell_size if min_cell is None else int(min_cell)


# --- Which scales have data --------------------------------------------------------------------

SCALES_SQL = """
WITH {cohort_cte},
per_scale AS (
    -- Patients with a baseline on each scale: a scale without any has nothing to show.
    SELECT
        o.instrument,
        count(*) AS n_baseline,
        count(*) FILTER (WHERE o.baseline_caseness AND o.n_followups > 0) AS n_evaluable
    FROM patient_outcomes AS o
    {join}
    GROUP BY o.instrument
),
final AS (
    SELECT p.instrument, i.name, p.n_baseline, p.n_evaluable
    FROM per_scale AS p
    JOIN instruments AS i ON i.code = p.instrument
)
SELECT * FROM final
ORDER BY instrument <> 'PHQ-9', instrument
"""


def scales_with_data(con: duckdb.DuckDBPyConnection, settings: Settings,
                     cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """The scales on which at least one patient of the cohort has a baseline, PHQ-9 first (the
    page's default), then by code. Columns: `instrument`, `name`, `n_baseline`, `n_evaluable`
    (in caseness with a follow-up: the denominator of the rates)."""
    cohort_cte, params = cohort_sql(cohort, ())
    sql = SCALES_SQL.format(cohort_cte=cohort_cte, join=cohort_join(cohort, (), "o"))
    return con.execute(sql, params).df()


# --- Activity ------------------------------------------------------------------------------------

ACTIVITY_SQL = """
WITH courses AS (
    SELECT c.patient_id, c.n_sessions, c.first_session_at, c.last_session_at
    FROM patient_cohorts AS c
    WHERE {where}
),
as_of AS (
    -- The latest infusion in the database, whatever the filter (every infusion's patient is in
    -- patient_cohorts, whose last_session_at is that patient's latest infusion).
    SELECT max(last_session_at)::DATE AS as_of FROM patient_cohorts
),
final AS (
    SELECT
        a.as_of,
        count(p.patient_id) AS n_patients,
        -- active: an infusion within active_treatment_days of the as-of date (worklist definition)
        count(p.patient_id) FILTER (WHERE p.last_session_at::DATE >= a.as_of - ?::INTEGER) AS active_patients,
        a.as_of - ?::INTEGER AS new_starts_since,
        count(p.patient_id) FILTER (WHERE p.first_session_at::DATE >= a.as_of - ?::INTEGER) AS new_starts,
        coalesce(sum(p.n_sessions), 0)::BIGINT AS infusions
    FROM as_of AS a
    LEFT JOIN courses AS p ON true
    GROUP BY a.as_of
)
SELECT * FROM final
"""


def activity(con: duckdb.DuckDBPyConnection, settings: Settings, cohort: CohortFilter = CohortFilter(),
             new_start_days: int = NEW_START_DAYS) -> pd.DataFrame:
    """How busy the clinic is, for the cohort: one row.

    Columns: `as_of` (date of the latest infusion in the database; None when there is none),
    `n_patients` (treated patients in the cohort), `active_patients` (an infusion on or after
    as_of - settings.thresholds.active_treatment_days), `new_starts_since` (as_of -
    `new_start_days`), `new_starts` (first infusion on or after that date; the cohort's own date
    range applies too), `infusions` (every infusion of the cohort's patients, all time).
    """
    where, params = cohort.where("c")
    sql = ACTIVITY_SQL.format(where=where)
    active = settings.thresholds.active_treatment_days
    return con.execute(sql, [*params, active, new_start_days, new_start_days]).df()


# --- Assessment completion -------------------------------------------------------------------------

COMPLETION_SQL = """
WITH {cohort_cte},
pre_infusion_scores AS (
    -- A valid score with k - 1 infusions started before it (scores.sessions_before) was taken
    -- after infusion k - 1 started and not after infusion k started: it covers infusion k.
    -- Before infusion 1 only the baseline window counts (clinical reference, "Baseline").
    SELECT patient_id, sessions_before
    FROM scores
    WHERE instrument = ?
      AND (sessions_before > 0 OR days_since_first_session >= -?::INTEGER)
),
covered_early AS (
    -- Which of infusions 1..64 each patient has covered, as the bits of one integer: several
    -- scores in one gap set the same bit, so they count once. (A per-patient bit mask is a plain
    -- hash aggregate; a DISTINCT over a million (patient, infusion) pairs costs twice as much.)
    SELECT patient_id, bit_or(1::UBIGINT << sessions_before::UBIGINT) AS mask
    FROM pre_infusion_scores
    WHERE sessions_before < 64
    GROUP BY patient_id
),
covered_late AS (
    -- infusions 65 and later, rare: counted pair by pair
    SELECT DISTINCT patient_id, sessions_before FROM pre_infusion_scores WHERE sessions_before >= 64
),
counts AS (
    -- A score after the patient's last infusion (sessions_before = n_sessions) covers an
    -- infusion that has not happened: masked out.
    SELECT sum(bit_count(CASE WHEN c.n_sessions >= 64 THEN e.mask
                              ELSE e.mask & ((1::UBIGINT << c.n_sessions::UBIGINT) - 1::UBIGINT) END)) AS n
    FROM covered_early AS e
    JOIN cohort AS c ON c.patient_id = e.patient_id
    UNION ALL
    SELECT count(*) AS n
    FROM covered_late AS l
    JOIN cohort AS c ON c.patient_id = l.patient_id
    WHERE l.sessions_before < c.n_sessions
),
final AS (
    -- the denominator from the cohort's infusion counts rather than a million infusion rows
    SELECT
        (SELECT coalesce(sum(n_sessions), 0) FROM cohort)::BIGINT AS n_infusions,
        (SELECT coalesce(sum(n), 0) FROM counts)::BIGINT AS n_with_score
)
SELECT * FROM final
"""


def assessment_completion(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                          cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Share of the cohort's infusions preceded by a valid score of `scale`: one row.

    An infusion counts when the patient has a valid score (`scores`, complete or prorated) taken
    after the previous infusion started and before this one started (a score stamped with the
    infusion's own start time counts, as for the baseline); for the first infusion, a score in
    the baseline window (from the first infusion's date minus `settings.baseline_window_days`).
    Measurement-based care asks for a score before every infusion, so this is the clinic's
    measurement rate; several scores in one gap count once.

    Columns: `n_infusions` (the denominator: every infusion of the cohort), `n_with_score`,
    `rate`, `low`, `high` (95% Wilson interval; NaN without infusions).
    """
    cohort_cte, params = cohort_sql(cohort, ())
    sql = COMPLETION_SQL.format(cohort_cte=cohort_cte)
    frame = con.execute(sql, [*params, scale, settings.baseline_window_days]).df()
    estimate = wilson_interval(int(frame.n_with_score.iloc[0]), int(frame.n_infusions.iloc[0]))
    return frame.assign(rate=float(estimate.value), low=float(estimate.low), high=float(estimate.high))


# --- Waterfall -------------------------------------------------------------------------------

WATERFALL_SQL = """
WITH {cohort_cte},
{judged_cte},
evaluable AS (
    -- The rates' population: in caseness at baseline, with a follow-up at the timepoint
    -- (baseline >= caseness_min > 0, so percent change is always defined).
    SELECT
        j.patient_id,
        j.baseline_score,
        round(100.0 * j.change / j.baseline_score, 1) AS pct_change,
        j.response,
        j.remission
    FROM judged AS j
    {join}
    WHERE j.baseline_caseness AND j.has_followup
),
ranked AS (
    -- Rank 1 = the largest rise (worst), as waterfall plots are drawn.
    SELECT *, row_number() OVER (ORDER BY pct_change DESC, patient_id) AS rank, count(*) OVER () AS n
    FROM evaluable
),
barred AS (
    -- One bar per patient up to max_bars patients; above, max_bars runs of consecutive ranks
    -- of (almost) equal size.
    SELECT *, CASE WHEN n <= ?::BIGINT THEN rank ELSE (rank - 1) * ?::BIGINT // n + 1 END AS bar
    FROM ranked
),
final AS (
    SELECT
        bar,
        min(rank) AS first_rank,
        max(rank) AS last_rank,
        count(*) AS n_patients,
        -- the bar's height: the median percent change of its patients (lower median)
        quantile_disc(pct_change, 0.5) AS pct_change,
        min(pct_change) AS lowest_pct_change,
        max(pct_change) AS highest_pct_change,
        quantile_disc(baseline_score, 0.5) AS baseline_score,
        count(*) FILTER (WHERE response) AS n_response,
        count(*) FILTER (WHERE remission) AS n_remission
    FROM barred
    GROUP BY bar
)
SELECT * FROM final ORDER BY bar
"""


def waterfall(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
              cohort: CohortFilter = CohortFilter(), timepoint: str = "latest",
              max_bars: int = WATERFALL_MAX_BARS, min_cell: int | None = None) -> pd.DataFrame:
    """Percent change from baseline per patient, sorted from the largest rise to the largest fall.

    Patients: the response rate's population (in caseness at baseline with a follow-up at
    `timepoint`, "latest" or "after_induction"); percent change = 100 x (follow-up - baseline) /
    baseline, one decimal, as `patient_outcomes.pct_change`; response and remission as
    `cohort_outcomes` judges them at that timepoint.

    Size: with at most `max_bars` patients there is one bar per patient. Above that, a
    200,000-patient clinic would send ~100,000 bars to the browser, so the ranks are cut into
    `max_bars` runs of consecutive patients of (almost) equal size and each run is one bar at its
    median percent change; its lowest and highest values are kept for the hover. The curve the
    bars draw is then the quantile function of percent change, which is what a waterfall of
    that many bars shows anyway.

    Columns: `bar` (1 = worst), `first_rank`, `last_rank`, `n_patients`, `pct_change`,
    `lowest_pct_change`, `highest_pct_change`, `baseline_score` (the median baseline),
    `n_response`, `n_remission`, `outcome` ("remission", "response" or "no response": what most
    of the bar's patients reached; pain has no remission), `remission_pct_change` (the percent
    change at which a patient with the bar's baseline would remit: the remission threshold drawn
    per bar, since remission is a score cut-off, not a percent; NaN for pain), and attributes
    `response_pct` (the response threshold, e.g. -50) and `n` (patients).

    Small cells: the waterfall draws patients one by one, so for a cohort of fewer than
    `settings.privacy.min_cell_size` evaluable patients (11) it is not drawn at all: the frame
    is empty with the attribute `suppressed` True and `n` None. Above the threshold each bar is
    still one patient (that is what a waterfall is); only its rank, change and outcome are shown.
    A bar of several patients blanks (<NA>) a responder or remitter count of 1 to 10 or one
    leaving 1 to 10 without (its `outcome`, the majority, stays).
    """
    if timepoint not in TIMEPOINTS:
        raise ValueError(f"unknown timepoint {timepoint!r}; choose from {TIMEPOINTS}")
    thresholds = _scale_thresholds(con, scale)
    cohort_cte, params = cohort_sql(cohort, ())
    judged_cte = LATEST_SQL if timepoint == "latest" else judged_at_sql("after_induction_score")
    sql = WATERFALL_SQL.format(cohort_cte=cohort_cte, judged_cte=judged_cte, join=cohort_join(cohort, (), "j"))
    frame = con.execute(sql, [*params, scale, max_bars, max_bars]).df()
    majority = frame.n_patients / 2
    frame["outcome"] = np.where(frame.n_remission > majority, "remission",
                                np.where(frame.n_response > majority, "response", "no response"))
    frame["remission_pct_change"] = [
        remission_pct_change(b, thresholds["remission_below"], thresholds["remission_min_drop"])
        for b in frame.baseline_score]
    n = int(frame.n_patients.sum())
    min_cell = cell_size(settings, min_cell)
    if (frame.n_patients > 1).any():
        # bars of several patients: their responder and remitter counts are cells like any other
        for column in ("n_response", "n_remission"):
            hidden = small(frame[column], min_cell) | small(frame.n_patients - frame[column], min_cell)
            frame[column] = frame[column].astype("Int64")
            frame.loc[hidden, column] = pd.NA
    frame.attrs.update(response_pct=-float(thresholds["response_drop_pct"]), n=n, suppressed=False)
    if small([n], min_cell)[0]:
        frame = frame.iloc[0:0].copy()
        frame.attrs.update(response_pct=-float(thresholds["response_drop_pct"]), n=None, suppressed=True)
    return frame


def remission_pct_change(baseline: float, remission_below, remission_min_drop) -> float:
    """The percent change at which a patient with this baseline reaches remission: the highest
    remitting score is remission_below - 1, or lower when a minimum drop is required too (PCL-5:
    < 33 with a drop of at least 10; clinical reference, "Remission"). NaN for a scale without
    remission (pain) or a zero baseline."""
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


# --- Severity transitions -------------------------------------------------------------------------

TRANSITIONS_SQL = """
WITH {cohort_cte},
bands AS (
    SELECT band_order, low, high, label FROM instrument_bands WHERE code = ?
),
pairs AS (
    -- Patients with a baseline and an after-induction score (patient_outcomes: the first valid
    -- score with 6 to 8 infusions before it), each score in its severity band.
    SELECT b0.band_order AS baseline_order, b1.band_order AS after_order
    FROM patient_outcomes AS o
    {join}
    JOIN bands AS b0 ON o.baseline_score BETWEEN b0.low AND b0.high
    JOIN bands AS b1 ON o.after_induction_score BETWEEN b1.low AND b1.high
    WHERE o.instrument = ? AND o.after_induction_score IS NOT NULL
),
counts AS (
    SELECT baseline_order, after_order, count(*) AS n_patients FROM pairs GROUP BY ALL
),
final AS (
    -- every band pair, 0 where nobody moved that way, so the grid is always complete
    SELECT
        f.label AS baseline_band, f.band_order AS baseline_order,
        t.label AS after_band, t.band_order AS after_order,
        coalesce(c.n_patients, 0) AS n_patients
    FROM bands AS f
    CROSS JOIN bands AS t
    LEFT JOIN counts AS c ON c.baseline_order = f.band_order AND c.after_order = t.band_order
)
SELECT * FROM final ORDER BY baseline_order, after_order
"""


def severity_transitions(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                         cohort: CohortFilter = CohortFilter(), min_cell: int | None = None) -> pd.DataFrame:
    """Patients per severity band at baseline and band after induction.

    Bands are the scale's (`instrument_bands`, e.g. PHQ-9 minimal 0-4 ... severe 20-27; Kroenke
    et al. 2001); "after induction" is `patient_outcomes.after_induction_score` (the first valid
    score after the 6th infusion started and not after the 9th started; clinical reference).
    Every patient of the cohort with both scores counts, in caseness or not, so the grid shows
    where mild patients went too.

    One row per pair of bands (all pairs, 0 where none): `baseline_band`, `baseline_order`,
    `after_band`, `after_order` (1 = mildest), `n_patients`, then the small-cell columns:
    `suppressed`, `n_shown` (the count as text, or "fewer than 11"), `baseline_total` and
    `after_total` (the patients of the row's baseline band and of the column's band after
    induction, the cross-tab's margins, <NA> when suppressed). Attribute `n`: every patient of
    the grid (None when suppressed), `has_patients`: whether anyone is in it, to tell "nobody yet"
    from "too few to show".

    Suppression (`suppression.suppress_cross_tab`): a cell or margin of 1 to min_cell - 1
    patients is blanked, then complementary cells in its row and column (and margins) until no
    row or column gives a blanked count back; the grand total is treated as known.
    """
    cohort_cte, params = cohort_sql(cohort, ())
    sql = TRANSITIONS_SQL.format(cohort_cte=cohort_cte, join=cohort_join(cohort, (), "o"))
    frame = con.execute(sql, [*params, scale, scale]).df()
    return _suppress_transitions(frame, cell_size(settings, min_cell))


def _suppress_transitions(frame: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The long transitions frame with the cross-tab's suppression applied (see above)."""
    n_all = int(frame.n_patients.sum())
    if frame.empty:
        frame = frame.assign(suppressed=pd.Series(dtype=bool), n_shown=pd.Series(dtype=object),
                             baseline_total=pd.Series(dtype="Int64"), after_total=pd.Series(dtype="Int64"))
        frame.attrs.update(n=0, has_patients=False)
        return frame
    grid = frame.pivot(index="baseline_order", columns="after_order", values="n_patients").sort_index()
    grid = grid.reindex(columns=sorted(grid.columns)).fillna(0)
    mask = suppress_cross_tab(grid.to_numpy(), min_cell)
    rows = {order: i for i, order in enumerate(grid.index)}
    columns = {order: j for j, order in enumerate(grid.columns)}
    r = frame.baseline_order.map(rows).to_numpy()
    c = frame.after_order.map(columns).to_numpy()
    hidden = mask.cells[r, c]
    frame = frame.copy()
    frame["n_patients"] = frame["n_patients"].astype("Int64")
    frame["suppressed"] = hidden
    frame["n_shown"] = np.where(hidden, label(min_cell), frame["n_patients"].astype("string").astype(object))
    frame.loc[hidden, "n_patients"] = pd.NA
    row_totals = grid.sum(axis=1).to_numpy()
    column_totals = grid.sum(axis=0).to_numpy()
    frame["baseline_total"] = pd.array(np.where(mask.row_totals[r], None, row_totals[r].astype(int).astype(object)),
                                       dtype="Int64")
    frame["after_total"] = pd.array(np.where(mask.column_totals[c], None,
                                             column_totals[c].astype(int).astype(object)), dtype="Int64")
    frame.attrs.update(n=None if mask.total else n_all, has_patients=n_all > 0)
    return frame


# --- Outcomes by group, suppression and the funnel plot ---------------------------------------------

def outcomes_by_group(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                      by: str = "clinician", cohort: CohortFilter = CohortFilter(),
                      timepoint: str = "latest", min_cell: int | None = None,
                      outcome: str = "response") -> dict[str, pd.DataFrame]:
    """Outcome rates per clinician (or site, or any `cohorts.GROUPABLE` attribute) with small
    cells suppressed, and the funnel plot's control limits.

    Rates are `outcomes.cohort_outcomes(..., group_by=(by,))`: n, response and remission with
    95% Wilson intervals, over the evaluable patients (in caseness with a follow-up).

    Small cells (`suppress_small_groups`; CMS cell-size policy, threshold
    `settings.privacy.min_cell_size`, 11): a group with 1 to 10 evaluable or treated patients is
    suppressed whole - its counts <NA>, its rates NaN, `suppressed` True, `n_shown` "fewer than
    11" - and so is a second group when one alone would be given back by the cohort's total
    (the headline shows it). In a group that is shown, a responder (remitter) count of 1 to 10,
    or one leaving 1 to 10 non-responders, is blanked with its rate and interval, and again a
    second group's count with it when the column would give it back. The table, the chart and
    the CSV built from this frame therefore cannot show a small cell or let one be worked out.

    Returns `{"groups", "limits", "overall"}`:

    - `groups`: `group`, `suppressed`, `n_shown`, `by`'s column, `n_patients`, `n_evaluable`,
      then `<outcome>_n`, `_rate`, `_low`, `_high` for response and remission; shown groups
      first, then by group.
    - `overall`: one row over every group (suppressed ones included, since the groups partition
      the cohort): `n_evaluable`, `<outcome>_n`, `<outcome>_rate` for `outcome`, blanked by the
      same rule (a cohort of fewer than 11 evaluable patients, or of 1 to 10 responders).
    - `limits`: the funnel around the overall rate of `outcome` (see `binomial_control_limits`)
      for n from the threshold to the largest shown group; empty when there is no overall rate.
    """
    min_cell = cell_size(settings, min_cell)
    by = check_group_by((by,))[0]
    outcome_columns = [f"{name}_{suffix}" for name in GROUP_OUTCOMES for suffix in ("n", "rate", "low", "high")]
    frame = cohort_outcomes(con, settings, scale, cohort=cohort, group_by=(by,), timepoint=timepoint)
    frame = frame[["group", by, "n_patients", "n_evaluable", *outcome_columns]].copy()

    groups, totals_hidden = suppress_small_groups(frame, min_cell, with_totals=True)
    evaluable = int(frame.n_evaluable.sum())
    events = int(frame[f"{outcome}_n"].fillna(0).sum())
    rate = events / evaluable if evaluable else math.nan
    overall = pd.DataFrame({"n_evaluable": pd.array([evaluable], dtype="Int64"),
                            f"{outcome}_n": pd.array([events], dtype="Int64"), f"{outcome}_rate": [rate]})
    if (pd.isna(frame[f"{outcome}_n"]).all() and len(frame)) or totals_hidden.get(f"{outcome}_n"):
        overall[f"{outcome}_n"], overall[f"{outcome}_rate"] = pd.NA, math.nan  # pain: no remission
    if totals_hidden.get("n_evaluable") or totals_hidden.get("n_patients"):
        overall[["n_evaluable", f"{outcome}_n"]] = pd.NA
        overall[f"{outcome}_rate"] = math.nan
    rate = overall[f"{outcome}_rate"].iloc[0]

    groups = groups.sort_values(["suppressed", "group"], kind="stable").reset_index(drop=True)
    largest = groups.loc[~groups.suppressed, "n_evaluable"].max() if (~groups.suppressed).any() else None
    if pd.isna(rate) or largest is None or pd.isna(largest):
        limits = pd.DataFrame(columns=LIMIT_COLUMNS)
    else:
        limits = binomial_control_limits(rate, funnel_sizes(min_cell, int(largest)))
    return {"groups": groups, "limits": limits, "overall": overall}


LIMIT_COLUMNS = ["n", "rate", "low_95", "high_95", "low_998", "high_998"]


def funnel_sizes(smallest: int, largest: int, points: int = 200) -> np.ndarray:
    """The n at which to draw the funnel: every integer up to 100, then `points` log-spaced
    values to `largest` x 1.05 (the curve is smooth there)."""
    smallest = max(1, int(smallest))
    top = max(smallest + 1, int(math.ceil(largest * 1.05)))
    dense = np.arange(smallest, min(top, 100) + 1)
    sparse = np.geomspace(max(smallest, 100), top, points).round() if top > 100 else np.array([])
    return np.unique(np.concatenate([dense, sparse]).astype(int))


def binomial_control_limits(rate: float, sizes, levels=FUNNEL_LEVELS) -> pd.DataFrame:
    """Funnel-plot control limits of a proportion around a target `rate`, for each n in `sizes`.

    Exact binomial limits with Spiegelhalter's interpolation (Spiegelhalter DJ 2005, "Funnel
    plots for comparing institutional performance", Stat Med 24:1185-1202, appendix A.1.1; the
    method of the NHS/PHE funnel-plot tools): for the tail probability p, r_p is the smallest r
    with F(r) >= p, F the Binomial(n, rate) distribution function; then
    alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)) and the limit is (r_p - alpha) / n, clipped to
    [0, 1]. The interpolation removes the staircase of the discrete quantiles. The 95% limits
    (p = 0.025, 0.975) are ~2 standard deviations, the 99.8% ones (p = 0.001, 0.999) ~3.

    Columns: `n`, `rate`, `low_95`, `high_95`, `low_998`, `high_998`.
    """
    n = np.asarray(sizes, dtype=float)
    frame = pd.DataFrame({"n": n.astype(int), "rate": float(rate)})
    for level in levels:
        tail = (1 - level) / 2
        suffix = f"{level * 100:g}".replace(".", "")
        frame[f"low_{suffix}"] = _binomial_limit(rate, n, tail)
        frame[f"high_{suffix}"] = _binomial_limit(rate, n, 1 - tail)
    return frame


def _binomial_limit(rate: float, n: np.ndarray, p: float) -> np.ndarray:
    r = scipy_stats.binom.ppf(p, n, rate)  # smallest r with F(r) >= p
    at_r = scipy_stats.binom.cdf(r, n, rate)
    below = scipy_stats.binom.cdf(r - 1, n, rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(at_r > below, (at_r - p) / (at_r - below), 0.0)
    return np.clip((r - alpha) / n, 0.0, 1.0)


# --- Monthly trend -------------------------------------------------------------------------------

def monthly_outcomes(con: duckdb.DuckDBPyConnection, settings: Settings, scale: str = "PHQ-9",
                     cohort: CohortFilter = CohortFilter(), timepoint: str = "latest",
                     min_cell: int | None = None) -> pd.DataFrame:
    """Response and remission rates by start cohort (month of the first infusion):
    `outcomes.cohort_outcomes(..., group_by=("start_month",))` with small cells suppressed as in
    `suppress_small_groups` (CMS cell-size policy; the months partition the cohort, whose totals
    the headline shows). Recent months have had less time to respond; read them with their n.

    Columns: `group`, `suppressed`, `n_shown`, `start_month`, `n_patients`, `n_evaluable`, then
    `<outcome>_n`, `_rate`, `_low`, `_high` for response and remission.
    """
    outcome_columns = [f"{name}_{suffix}" for name in GROUP_OUTCOMES for suffix in ("n", "rate", "low", "high")]
    frame = cohort_outcomes(con, settings, scale, cohort=cohort, group_by=("start_month",), timepoint=timepoint)
    frame = frame[["group", "start_month", "n_patients", "n_evaluable", *outcome_columns]]
    return suppress_small_groups(frame, cell_size(settings, min_cell))
