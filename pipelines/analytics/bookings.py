"""Today's bookings: who is booked for an infusion on a day, whether their scales are in, and
their open alerts.

Why: the morning huddle works from the day's schedule, not from the whole clinic. For each
booked patient the nurse needs two things before the chair: has the patient filled in their
pre-infusion scales, and is there anything on the worklist (item 9, deterioration, a BP
excursion last time) to deal with first. Bookings come from the `appointments` export
(docs/import-format.md), kept apart from infusions so a booking never counts as one.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .. import sql
from .frames import patient_rows
from .worklist import worklist

# How far back a pre-infusion score may be and still count as "in" for a booked infusion:
# a week, the longest gap between induction infusions (two to three a week), so a score from
# the previous infusion's week never passes for this one.
PRE_INFUSION_DAYS = 7


def has_bookings_table(con) -> bool:
    """Whether the database has an `appointments` table (a database last loaded by an older
    version has none: it shows no bookings rather than failing)."""
    [(present,)] = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'appointments' "
                               "AND database_name = current_database()").fetchall()
    return bool(present)


def booked_on(con, settings, day: dt.date) -> pd.DataFrame:
    """The patients booked for an infusion on `day`, with their pre-infusion scales and open alerts.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        The worklist's settings (its reasons are the open alerts).
    day : datetime.date
        The clinic day (the Worklist's Today view uses today at the clinic).

    Returns
    -------
    pandas.DataFrame
        One row per appointment on `day` that is not cancelled or a no-show, by time:
        `appointment_id`, `patient_id`, `planned_at`, `status`, `site`, `clinician` (the
        booking's, else the patient's), `primary_indication`, `n_infusions` (before the day),
        `last_infusion_at`, `infused_today` (an infusion is already recorded on the day),
        `phq9_in` and `phq9_at` (a valid PHQ-9 since the last infusion and within
        PRE_INFUSION_DAYS of the day), `scales_in` (every scale with such a score), and
        `reasons` (the patient's worklist reasons on `day`, empty when none; a patient not
        yet infused has none).

    Notes
    -----
    A score counts as "in" when it was taken after the patient's last infusion before `day`
    (any time for a first infusion) and on or after `day` - PRE_INFUSION_DAYS (7), up to the
    end of `day`: it is then the pre-infusion score of this infusion, as measurement-based
    care asks (Fortney JC et al. (2017), "A tipping point for measurement-based care",
    Psychiatric Services 68(2)).
    """
    if not has_bookings_table(con):
        return pd.DataFrame()
    frame = patient_rows(con, sql.read("analytics/bookings/booked_on"), [day, PRE_INFUSION_DAYS])
    if frame.empty:
        return frame
    alerts = worklist(con, settings, as_of=day)[["patient_id", "reasons"]]
    frame = frame.merge(alerts, on="patient_id", how="left")
    # patients with no reason (or not yet infused) have none: an empty list, not a missing value
    frame["reasons"] = [[] if r is None or r is pd.NA or isinstance(r, float) else list(r) for r in frame["reasons"]]
    return frame
