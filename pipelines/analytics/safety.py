"""Safety monitoring: the signals a ketamine clinic must not miss, clinic-wide and per patient.

Why a module of its own: outcome rates answer "does the treatment work", these answer "is
anyone being harmed" - the PHQ-9 item 9 flag, reliable deterioration, blood-pressure
excursions, side effects, adverse events and dissociation (CADSS) over the course. The
definitions are the clinical reference's (docs/scoring.md, with each rule's published source):

- PHQ-9 item 9 (thoughts of death or self-harm) > 0 is a safety flag whatever the total, also
  on an incomplete PHQ-9; item 9 unanswered is "unknown", never "negative" (Kroenke et al. 2001).
  So item 9 is read from `assessments` (every administration), not from `scores` (valid totals).
- Reliable deterioration: a rise of at least the scale's reliable-change threshold from baseline
  to the latest follow-up (Jacobson & Truax 1991; NHS Talking Therapies thresholds), as the
  `patient_outcomes` view judges it.
- BP excursion: peak systolic >= 180 or peak diastolic >= 110 mmHg (configurable:
  `settings.thresholds`).
- CADSS (Bremner et al. 1998) is a session-level side-effect measure, charted over infusions.

Everything is aggregated in DuckDB; Python only adds the confidence intervals (scipy) to the
few aggregated rows. Rates per 100 infusions are per-infusion proportions x 100 with the 95%
Wilson score interval the reference requires. The cohort is the `patient_cohorts` view (treated
patients), filtered by a CohortFilter; groupings are its attributes (`cohorts.GROUPABLE`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .cohorts import CohortFilter, check_group_by
from .frames import patient_rows
from .stats import mean_interval, median_interval, wilson_interval

# --- SQL ---------------------------------------------------------------------------------
# `{cohort}` is CohortFilter.where("c"); `{cohort_infusions}` a cohort_rows() SELECT; `{keys}`
# the grouping columns, each followed by a comma (empty without grouping). Parameters are
# positional: the cohort's first, then the query's.

# Per-patient PHQ-9 safety summary: the view `phq9_safety` (sql/views/safety.sql), which an
# analytics snapshot computes once for every question that needs it.
PHQ9_PER_PATIENT = "phq9_per_patient AS (SELECT * FROM phq9_safety)"

ITEM9_FLAGS_SQL = """
WITH cohort AS (
    SELECT c.patient_id, c.site, c.clinician, c.primary_indication
    FROM patient_cohorts AS c
    WHERE {cohort}
),
{phq9},
final AS (
    SELECT
        i.patient_id,
        c.site,
        c.clinician,
        c.primary_indication,
        i.latest_phq9_at,
        i.item9_status_latest,
        i.item9_positive_latest,
        i.item9_positive_ever,
        i.first_positive_at,
        i.last_positive_at,
        i.n_positive,
        i.n_unknown,
        i.n_phq9
    FROM phq9_per_patient AS i
    JOIN cohort AS c ON c.patient_id = i.patient_id
)
SELECT * FROM final ORDER BY patient_id
"""

BP_EXCURSIONS_SQL = """
WITH cohort_infusions AS (
    {cohort_infusions}
),
infusions AS (
    -- An infusion without any peak reading cannot be judged and is left out of the rate.
    SELECT
        {keys}
        patient_id,
        bp_peak_sys IS NOT NULL OR bp_peak_dia IS NOT NULL AS bp_recorded,
        coalesce(bp_peak_sys >= ?, false) AS systolic_excursion,
        coalesce(bp_peak_dia >= ?, false) AS diastolic_excursion
    FROM cohort_infusions
),
counts AS (
    SELECT
        {keys}
        count(*) AS n_infusions,
        count(*) FILTER (WHERE bp_recorded) AS n_infusions_with_bp,
        count(*) FILTER (WHERE systolic_excursion OR diastolic_excursion) AS n_excursions,
        count(*) FILTER (WHERE systolic_excursion) AS n_systolic_excursions,
        count(*) FILTER (WHERE diastolic_excursion) AS n_diastolic_excursions
    FROM infusions
    GROUP BY ALL
    HAVING count(*) > 0
),
affected AS (
    -- distinct patients among the excursions only (a DISTINCT over every infusion costs more)
    SELECT {keys} count(DISTINCT patient_id) AS patients_affected
    FROM infusions
    WHERE systolic_excursion OR diastolic_excursion
    GROUP BY ALL
),
final AS (
    SELECT g.*, coalesce(e.patients_affected, 0) AS patients_affected
    FROM counts AS g
    LEFT JOIN affected AS e ON true {same_group}
)
SELECT * FROM final ORDER BY ALL
"""

SIDE_EFFECTS_SQL = """
WITH cohort_infusions AS (
    {cohort_infusions}
),
infusions AS (
    SELECT
        {keys}
        -- an effect listed twice for one infusion counts once: keep its first position only
        list_filter(side_effects, lambda effect, i: list_position(side_effects, effect) = i) AS side_effects,
        nullif(trim(adverse_event), '') IS NOT NULL AS adverse_event
    FROM cohort_infusions
),
group_sizes AS (
    -- Denominator: every infusion of the group, whether or not side effects were recorded.
    SELECT {keys} count(*) AS n_infusions, count(*) FILTER (WHERE adverse_event) AS n_adverse_events
    FROM infusions
    GROUP BY ALL
    HAVING count(*) > 0
),
side_effect_counts AS (
    SELECT {keys} effect, count(*) AS n_affected_infusions
    FROM (SELECT {keys} unnest(side_effects) AS effect FROM infusions)
    GROUP BY ALL
),
effects_seen AS (
    -- Every side effect seen anywhere in the cohort is reported for every group (0 where
    -- absent), so groups can be compared row by row.
    SELECT DISTINCT effect FROM side_effect_counts
),
final AS (
    SELECT {group_keys} 'side effect' AS kind, k.effect, g.n_infusions,
           coalesce(e.n_affected_infusions, 0) AS n_affected_infusions
    FROM group_sizes AS g
    CROSS JOIN effects_seen AS k
    LEFT JOIN side_effect_counts AS e ON e.effect = k.effect {same_group}
    UNION ALL
    SELECT {keys} 'adverse event' AS kind, 'adverse event (any)' AS effect, n_infusions,
           n_adverse_events AS n_affected_infusions
    FROM group_sizes
)
SELECT * FROM final
ORDER BY {keys} kind DESC, n_affected_infusions DESC, effect
"""

# CADSS totals are whole numbers 0-92, so each group's distribution is fully described by a
# histogram of at most 93 rows: DuckDB aggregates to it and the shared interval helpers run on
# the reconstructed sample of each group (a loop over groups, not over infusions).
CADSS_SQL = """
WITH cohort_infusions AS (
    {cohort_infusions}
),
infusions AS (
    -- Infusions 1..max one by one; later ones together as maintenance (bucket max + 1).
    SELECT
        {keys}
        patient_id,
        least(session_number, ? + 1) AS bucket,
        cadss_total
    FROM cohort_infusions
    WHERE cadss_total IS NOT NULL
),
histogram AS (
    SELECT {keys} bucket, cadss_total, count(*) AS n_infusions
    FROM infusions
    GROUP BY ALL
),
maintenance_patients AS (
    -- A numbered bucket holds one infusion per patient; maintenance may hold several.
    SELECT {keys} bucket, count(DISTINCT patient_id) AS n_patients
    FROM infusions
    WHERE bucket > ?
    GROUP BY ALL
),
final AS (
    SELECT h.*, m.n_patients
    FROM histogram AS h
    LEFT JOIN maintenance_patients AS m ON m.bucket = h.bucket {same_group}
)
SELECT * FROM final
ORDER BY {keys} bucket, cadss_total
"""

RELIABLE_DETERIORATION_SQL = """
WITH cohort AS (
    SELECT c.patient_id, c.site, c.clinician, c.primary_indication
    FROM patient_cohorts AS c
    WHERE {cohort}
),
final AS (
    SELECT
        o.patient_id,
        c.site,
        c.clinician,
        c.primary_indication,
        o.instrument,
        o.baseline_at,
        o.baseline_score,
        o.latest_at,
        o.latest_score,
        o.change,
        i.reliable_change AS reliable_change_threshold,
        o.n_followups
    FROM patient_outcomes AS o
    JOIN cohort AS c ON c.patient_id = o.patient_id
    JOIN instruments AS i ON i.code = o.instrument
    WHERE o.reliable_deterioration
)
SELECT * FROM final ORDER BY patient_id, instrument
"""


# --- Helpers -----------------------------------------------------------------------------

def _grouping(group_by, left: str = "e", right: str = "g") -> dict[str, str]:
    """SQL fragments for the grouping columns (validated names only): `keys` to select and group
    by, `group_keys` qualified by `right`, and `same_group`, the join condition between two
    aliases' groups (NULL matching NULL)."""
    groups = check_group_by(group_by)
    return {
        "keys": "".join(f"{g}, " for g in groups),
        "group_keys": "".join(f"{right}.{g}, " for g in groups),
        "same_group": "".join(f" AND {left}.{g} IS NOT DISTINCT FROM {right}.{g}" for g in groups),
    }


def cohort_rows(source: str, cohort: CohortFilter, group_by=()) -> tuple[str, list]:
    """A SELECT of every row of `source` (a table or view with `patient_id`) belonging to the
    cohort's patients, with the grouping attributes of `patient_cohorts` in front, and its
    parameters. The unrestricted, ungrouped cohort reads `source` alone: every session belongs
    to a patient in `patient_cohorts` (the ingest quarantines sessions of unknown patients), so
    the join would select everything anyway, and skipping it keeps clinic-wide figures fast."""
    groups = check_group_by(group_by)
    if cohort == CohortFilter() and not groups:
        return f"SELECT s.* FROM {source} AS s", []
    where, params = cohort.where("c")
    keys = "".join(f"c.{g}, " for g in groups)
    sql = f"SELECT {keys}s.* FROM {source} AS s JOIN patient_cohorts AS c ON c.patient_id = s.patient_id WHERE {where}"
    return sql, params


def add_rate_per_100(frame: pd.DataFrame, events: str, denominator: str, prefix: str = "per_100") -> pd.DataFrame:
    """Add `{prefix}`, `{prefix}_low`, `{prefix}_high`: 100 x events / denominator with the 95% Wilson
    interval (stats.wilson_interval), computed once per aggregated row; NaN for a zero denominator."""
    estimates = [wilson_interval(k, n) for k, n in zip(frame[events], frame[denominator])]
    frame[prefix] = [100 * e.value for e in estimates]
    frame[f"{prefix}_low"] = [100 * e.low for e in estimates]
    frame[f"{prefix}_high"] = [100 * e.high for e in estimates]
    for column in (prefix, f"{prefix}_low", f"{prefix}_high"):
        frame[column] = frame[column].astype(float)
    return frame


# --- Public functions --------------------------------------------------------------------

def item9_flags(con, settings, cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """PHQ-9 item 9 (thoughts of death or self-harm) per patient of the cohort with any PHQ-9.

    Source: `assessments` (every PHQ-9 administration, incomplete ones included, since item 9 > 0
    is a safety flag whatever the total; clinical reference, PHQ-9). One row per patient:

    - `latest_phq9_at`: the latest PHQ-9 administration, complete or not;
    - `item9_status_latest`: 'positive' / 'negative' / 'unknown' (item 9 unanswered or total-only)
      at the latest PHQ-9; `item9_positive_latest` the same as a boolean (NULL = unknown). Where
      several PHQ-9s share the latest time the most concerning answer wins (positive, unknown,
      negative);
    - `item9_positive_ever`: TRUE if any PHQ-9 had item 9 > 0, FALSE if none of the answered
      ones did, NULL if item 9 was never answered;
    - `first_positive_at`, `last_positive_at`, `n_positive`, `n_unknown`, `n_phq9`;
    - `site`, `clinician`, `primary_indication` from `patient_cohorts`.

    Patients not yet infused are in no cohort (`patient_cohorts` holds treated patients).
    """
    where, params = cohort.where("c")
    sql = ITEM9_FLAGS_SQL.format(cohort=where, phq9=PHQ9_PER_PATIENT)
    return patient_rows(con, sql, params)


def bp_excursions(con, settings, cohort: CohortFilter = CohortFilter(), group_by=()) -> pd.DataFrame:
    """Blood-pressure excursions at peak: systolic >= settings.thresholds.bp_excursion_systolic (180)
    or diastolic >= bp_excursion_diastolic (110) mmHg (clinical reference, ketamine session data).

    Source: `sessions` of the cohort's patients. One row per group (one row without grouping; none
    for an empty cohort): `n_infusions`, `n_infusions_with_bp` (a peak reading recorded: the
    denominator), `n_excursions`, `n_systolic_excursions`, `n_diastolic_excursions`,
    `patients_affected` (patients with at least one excursion), and `per_100`,
    `per_100_low`, `per_100_high`: excursions per 100 infusions = 100 x the per-infusion
    proportion, with its 95% Wilson interval.
    """
    infusions, params = cohort_rows("sessions", cohort, group_by)
    thresholds = settings.thresholds
    sql = BP_EXCURSIONS_SQL.format(cohort_infusions=infusions, **_grouping(group_by))
    frame = con.execute(sql, [*params, thresholds.bp_excursion_systolic, thresholds.bp_excursion_diastolic]).df()
    return add_rate_per_100(frame, "n_excursions", "n_infusions_with_bp")


def side_effect_rates(con, settings, cohort: CohortFilter = CohortFilter(), group_by=()) -> pd.DataFrame:
    """Side effects and adverse events per 100 infusions.

    Source: `sessions.side_effects` (a lower-case list, unnested; an effect listed twice for one
    infusion counts once) and `sessions.adverse_event` (free text; any non-blank entry counts as
    one adverse event). One row per group and effect: `kind` ('side effect' or 'adverse event'),
    `effect` (the side effect, or 'adverse event (any)'), `n_infusions` (every infusion of the
    group: the denominator), `n_affected_infusions`, and `per_100`, `per_100_low`,
    `per_100_high` (100 x the proportion of infusions, 95% Wilson interval).
    Every effect seen in the cohort appears for every group (0 where absent); the adverse-event
    row always appears. An empty cohort gives an empty frame.
    """
    infusions, params = cohort_rows("sessions", cohort, group_by)
    sql = SIDE_EFFECTS_SQL.format(cohort_infusions=infusions, **_grouping(group_by))
    frame = con.execute(sql, params).df()
    return add_rate_per_100(frame, "n_affected_infusions", "n_infusions")


def cadss_by_infusion(con, settings, cohort: CohortFilter = CohortFilter(), group_by=()) -> pd.DataFrame:
    """CADSS dissociation totals (Bremner et al. 1998) by infusion number.

    Source: `session_numbers` (infusions numbered per patient) of the cohort, infusions with a
    CADSS total. Infusions 1..settings.thresholds.trajectory_max_infusion are reported one by one;
    later ones together as 'maintenance' (`infusion_number` NULL), each infusion counting once.
    One row per group and infusion: `infusion` (label: '1', '2', ..., 'maintenance'),
    `infusion_number`, `n` (infusions), `n_patients`, `mean` with `mean_low`/`mean_high`
    (stats.mean_interval: t interval, NaN for n < 2), `sd`, `median` with
    `median_low`/`median_high` (stats.median_interval: order-statistic interval, NaN for n < 6).
    """
    infusions, params = cohort_rows("session_numbers", cohort, group_by)
    groups = list(check_group_by(group_by))
    max_infusion = settings.thresholds.trajectory_max_infusion
    sql = CADSS_SQL.format(cohort_infusions=infusions, **_grouping(group_by, left="h", right="m"))
    histogram = con.execute(sql, [*params, max_infusion, max_infusion]).df()

    # One pass per group and infusion bucket (a few dozen), not per infusion: the sample is
    # rebuilt from its histogram so the shared helpers give the intervals.
    rows = []
    for key, counts in histogram.groupby([*groups, "bucket"], dropna=False, sort=False):
        sample = np.repeat(counts["cadss_total"].to_numpy(dtype=float), counts["n_infusions"].to_numpy())
        mean, median = mean_interval(sample), median_interval(sample)
        bucket = int(key[-1])
        maintenance = bucket > max_infusion
        rows.append({
            **dict(zip(groups, key[:-1])),
            "infusion": "maintenance" if maintenance else str(bucket),
            "infusion_number": pd.NA if maintenance else bucket,
            "n": len(sample),
            "n_patients": int(counts["n_patients"].iloc[0]) if maintenance else len(sample),
            "mean": mean.value, "mean_low": mean.low, "mean_high": mean.high,
            "sd": float(np.std(sample, ddof=1)) if len(sample) > 1 else np.nan,
            "median": median.value, "median_low": median.low, "median_high": median.high,
        })
    columns = [*groups, "infusion", "infusion_number", "n", "n_patients", "mean", "mean_low", "mean_high",
               "sd", "median", "median_low", "median_high"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["infusion_number"] = frame["infusion_number"].astype("Int64")
    frame[["n", "n_patients"]] = frame[["n", "n_patients"]].astype("int64")
    statistics = ["mean", "mean_low", "mean_high", "sd", "median", "median_low", "median_high"]
    frame[statistics] = frame[statistics].astype(float)
    return frame


def reliable_deterioration(con, settings, cohort: CohortFilter = CohortFilter()) -> pd.DataFrame:
    """Patients whose latest follow-up shows reliable deterioration: a rise from baseline of at
    least the scale's reliable-change threshold (PHQ-9 6, GAD-7 4, PCL-5 10, pain 2; Jacobson &
    Truax 1991, NHS Talking Therapies), on any scale.

    Source: `patient_outcomes` (judged on the latest follow-up). One row per patient and
    deteriorated scale (a patient worse on PHQ-9 and GAD-7 has two rows): `patient_id`, `site`,
    `clinician`, `primary_indication`, `instrument`, `baseline_at`, `baseline_score`, `latest_at`,
    `latest_score`, `change`, `reliable_change_threshold`, `n_followups`.
    """
    where, params = cohort.where("c")
    return con.execute(RELIABLE_DETERIORATION_SQL.format(cohort=where), params).df()
