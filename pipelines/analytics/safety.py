"""Safety monitoring: the signals a ketamine clinic must not miss, clinic-wide and per patient.

Why a module of its own: outcome rates answer "does the treatment work", these answer "is
anyone being harmed" - the PHQ-9 item 9 flag, reliable deterioration, blood-pressure
excursions, side effects, adverse events and dissociation (CADSS) over the course. The
definitions are the clinical reference's, as docs/scoring.md documents them:

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

from .cohorts import CohortFilter, check_group_by, cohort_query
from .frames import patient_rows
from .stats import mean_interval, median_interval, wilson_interval


def _grouping(group_by, left: str = "e", right: str = "g") -> dict[str, str]:
    """The grouping fragments a safety query needs beyond `cohort_query`'s (validated names
    only): `cohort_columns`, the grouping attributes of the cohort (`c`) put in front of each
    infusion; `group_keys`, the grouping columns qualified by `right`; and `same_group`, the join
    condition between two aliases' groups (NULL matching NULL)."""
    groups = check_group_by(group_by)
    return {
        "cohort_columns": "".join(f"c.{g}, " for g in groups),
        "group_keys": "".join(f"{right}.{g}, " for g in groups),
        "same_group": "".join(f" AND {left}.{g} IS NOT DISTINCT FROM {right}.{g}" for g in groups),
    }


def add_rate_per_100(frame: pd.DataFrame, events: str, denominator: str, prefix: str = "per_100") -> pd.DataFrame:
    """Add a rate per 100 infusions with its 95% Wilson interval to aggregated rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Aggregated rows (one per group), changed in place.
    events, denominator : str
        The columns holding the event count k and the number of infusions n.
    prefix : str
        Name of the new columns: `{prefix}`, `{prefix}_low`, `{prefix}_high`.

    Returns
    -------
    pandas.DataFrame
        `frame` with the three columns added (floats; NaN for a zero denominator).

    Notes
    -----
    Rate = 100 x k / n, a per-infusion proportion; the interval is the Wilson score interval
    of k / n (`stats.wilson_interval`) times 100, computed once per aggregated row.

    References
    ----------
    Wilson EB (1927), "Probable inference, the law of succession, and statistical inference",
    JASA 22(158).
    """
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

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        Not used (the rule has no setting); the common signature.
    cohort : CohortFilter
        Which treated patients (all by default).

    Returns
    -------
    pandas.DataFrame
        One row per patient, sorted by id (Arrow-backed columns):

        - `latest_phq9_at`: the latest PHQ-9 administration, complete or not;
        - `item9_status_latest`: 'positive' / 'negative' / 'unknown' (item 9 unanswered or
          total-only) at the latest PHQ-9; `item9_positive_latest` the same as a boolean (NULL
          = unknown). Where several PHQ-9s share the latest time the most concerning answer
          wins (positive, unknown, negative);
        - `item9_positive_ever`: TRUE if any PHQ-9 had item 9 > 0, FALSE if none of the
          answered ones did, NULL if item 9 was never answered;
        - `first_positive_at`, `last_positive_at`, `n_positive`, `n_unknown`, `n_phq9`;
        - `site`, `clinician`, `primary_indication` from `patient_cohorts`.

    Notes
    -----
    Source: `assessments` through the view `phq9_safety` (every PHQ-9 administration,
    incomplete ones included, since item 9 > 0 is a safety flag whatever the total). Patients
    not yet infused are in no cohort (`patient_cohorts` holds treated patients).

    References
    ----------
    Kroenke K, Spitzer RL, Williams JBW (2001), "The PHQ-9", J Gen Intern Med 16(9);
    docs/scoring.md.
    """
    query, params = cohort_query("analytics/safety/item9_flags", cohort, rows="i")
    return patient_rows(con, query, params)


def bp_excursions(con, settings, cohort: CohortFilter = CohortFilter(), group_by=()) -> pd.DataFrame:
    """Blood-pressure excursions at peak, per 100 infusions.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        `settings.thresholds.bp_excursion_systolic` (180) and `bp_excursion_diastolic` (110).
    cohort : CohortFilter
        Whose infusions (all treated patients by default).
    group_by : sequence of str
        Attributes of `cohorts.GROUPABLE` to group by.

    Returns
    -------
    pandas.DataFrame
        One row per group (one row without grouping; none for an empty cohort): the grouping
        columns, `n_infusions`, `n_infusions_with_bp` (a peak reading recorded: the
        denominator), `n_excursions`, `n_systolic_excursions`, `n_diastolic_excursions`,
        `patients_affected` (patients with at least one excursion), and `per_100`,
        `per_100_low`, `per_100_high`.

    Notes
    -----
    An excursion is peak systolic >= the systolic limit or peak diastolic >= the diastolic
    limit. per_100 = 100 x n_excursions / n_infusions_with_bp, with the 95% Wilson interval
    (`add_rate_per_100`). An infusion without any peak reading cannot be judged and is left out
    of the rate.

    References
    ----------
    docs/scoring.md (ketamine session data).
    """
    thresholds = settings.thresholds
    query, params = cohort_query("analytics/safety/bp_excursions", cohort, group_by, rows="s",
                                 **_grouping(group_by))
    frame = con.execute(query, [*params, thresholds.bp_excursion_systolic, thresholds.bp_excursion_diastolic]).df()
    return add_rate_per_100(frame, "n_excursions", "n_infusions_with_bp")


def side_effect_rates(con, settings, cohort: CohortFilter = CohortFilter(), group_by=()) -> pd.DataFrame:
    """Side effects and adverse events per 100 infusions.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        Not used; the common signature.
    cohort : CohortFilter
        Whose infusions (all treated patients by default).
    group_by : sequence of str
        Attributes of `cohorts.GROUPABLE` to group by.

    Returns
    -------
    pandas.DataFrame
        One row per group and effect: the grouping columns, `kind` ('side effect' or 'adverse
        event'), `effect` (the side effect, or 'adverse event (any)'), `n_infusions` (every
        infusion of the group: the denominator), `n_affected_infusions`, and `per_100`,
        `per_100_low`, `per_100_high`. Every effect seen in the cohort appears for every group
        (0 where absent); the adverse-event row always appears. An empty cohort gives an empty
        frame.

    Notes
    -----
    Source: `sessions.side_effects` (a lower-case list, unnested; an effect listed twice for
    one infusion counts once) and `sessions.adverse_event` (free text; any non-blank entry
    counts as one adverse event). per_100 = 100 x n_affected_infusions / n_infusions with the
    95% Wilson interval (`add_rate_per_100`).

    References
    ----------
    docs/scoring.md (the session data of the clinical reference); Wilson EB (1927), "Probable
    inference, the law of succession, and statistical inference", J Am Stat Assoc 22:209-212.
    """
    query, params = cohort_query("analytics/safety/side_effects", cohort, group_by, rows="s", **_grouping(group_by))
    frame = con.execute(query, params).df()
    return add_rate_per_100(frame, "n_affected_infusions", "n_infusions")


def cadss_by_infusion(con, settings, cohort: CohortFilter = CohortFilter(), group_by=()) -> pd.DataFrame:
    """CADSS dissociation totals by infusion number: mean and median with 95% intervals.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        `settings.thresholds.trajectory_max_infusion`: infusions 1..max are reported one by
        one, later ones together as 'maintenance'.
    cohort : CohortFilter
        Whose infusions (all treated patients by default).
    group_by : sequence of str
        Attributes of `cohorts.GROUPABLE` to group by.

    Returns
    -------
    pandas.DataFrame
        One row per group and infusion: the grouping columns, `infusion` (label: '1', '2',
        ..., 'maintenance'), `infusion_number` (NULL for maintenance), `n` (infusions),
        `n_patients`, `mean` with `mean_low`/`mean_high`, `sd`, `median` with
        `median_low`/`median_high`.

    Notes
    -----
    Source: `session_numbers` (infusions numbered per patient) of the cohort, infusions with a
    CADSS total; in maintenance each infusion counts once. The mean's interval is the t
    interval (`stats.mean_interval`, NaN for n < 2), the median's the order-statistic interval
    (`stats.median_interval`, NaN for n < 6). CADSS totals are whole numbers 0-92, so DuckDB
    aggregates each group to a histogram and the sample is rebuilt from it: a loop over
    groups, not over infusions.

    References
    ----------
    Bremner JD et al. (1998), "Measurement of dissociative states with the Clinician-
    Administered Dissociative States Scale (CADSS)", J Trauma Stress 11(1).
    """
    groups = list(check_group_by(group_by))
    max_infusion = settings.thresholds.trajectory_max_infusion
    query, params = cohort_query("analytics/safety/cadss", cohort, group_by, rows="s",
                                 **_grouping(group_by, left="h", right="m"))
    histogram = con.execute(query, [*params, max_infusion, max_infusion]).df()

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
    """Patients whose latest follow-up shows reliable deterioration, on any scale.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        Not used (the thresholds are the scales', in `instruments`); the common signature.
    cohort : CohortFilter
        Which treated patients (all by default).

    Returns
    -------
    pandas.DataFrame
        One row per patient and deteriorated scale (a patient worse on PHQ-9 and GAD-7 has two
        rows), sorted by patient and scale: `patient_id`, `site`, `clinician`,
        `primary_indication`, `instrument`, `baseline_at`, `baseline_score`, `latest_at`,
        `latest_score`, `change`, `reliable_change_threshold`, `n_followups`.

    Notes
    -----
    Reliable deterioration: latest - baseline >= the scale's reliable-change threshold (PHQ-9
    6, GAD-7 4, PCL-5 10, pain 2), judged on the latest follow-up by `patient_outcomes`.

    References
    ----------
    Jacobson NS, Truax P (1991), "Clinical significance: a statistical approach to defining
    meaningful change in psychotherapy research", J Consult Clin Psychol 59(1); NHS Talking
    Therapies Manual (reliable change thresholds).
    """
    query, params = cohort_query("analytics/safety/reliable_deterioration", cohort)
    return con.execute(query, params).df()
