"""Calendar helpers on integer day numbers (days since 1970-01-01) and minutes of the day.

The generator does its date arithmetic on plain integer arrays, which keeps it vectorized and
free of any wall-clock or locale dependence. Clinic times are local wall-clock times of a clinic
in America/New_York; only the rendering of the few rows that carry an explicit UTC offset needs
the time-zone database (and so gets daylight saving right).
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

CLINIC_TZ = "America/New_York"
SATURDAY, SUNDAY = 5, 6
_EPOCH = datetime.date(1970, 1, 1)


def day_number(day: datetime.date) -> int:
    return (day - _EPOCH).days


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday)."""
    return (np.asarray(days, dtype=np.int64) + 3) % 7


def roll_forward_to_weekday(days: np.ndarray) -> np.ndarray:
    wd = weekday(days)
    return days + np.where(wd == SATURDAY, 2, np.where(wd == SUNDAY, 1, 0))


def roll_back_to_weekday(days: np.ndarray) -> np.ndarray:
    wd = weekday(days)
    return days - np.where(wd == SATURDAY, 1, np.where(wd == SUNDAY, 2, 0))


def year_of(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def to_datetime64(days: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Local wall-clock datetime64[m] from day numbers and minutes after midnight."""
    total = np.asarray(days, dtype=np.int64) * 1440 + np.asarray(minutes, dtype=np.int64)
    return total.astype("datetime64[m]")


def iso_local(stamps: np.ndarray) -> np.ndarray:
    """`2025-03-03T09:30:00` strings (object array) for datetime64 values."""
    return np.datetime_as_string(stamps.astype("datetime64[s]"), unit="s").astype(object)


def iso_utc_from_local(stamps: np.ndarray) -> np.ndarray:
    """The same instants as `iso_local`, expressed in UTC with an explicit `+00:00` offset.

    Clinic hours never fall in the 02:00–03:00 daylight-saving gap or overlap, so the
    localization is unambiguous; pandas raises if that assumption is ever broken.
    """
    if len(stamps) == 0:
        return np.array([], dtype=object)
    local = pd.DatetimeIndex(stamps.astype("datetime64[s]")).tz_localize(
        CLINIC_TZ, ambiguous="raise", nonexistent="raise"
    )
    utc = local.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")
    return np.char.add(np.datetime_as_string(utc, unit="s"), "+00:00").astype(object)
