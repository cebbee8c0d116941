"""When infusions happen: induction rhythm, maintenance intervals, clinic hours, the end-date cut.

Induction is six infusions on every other weekday (Mon/Wed/Fri) for most patients and twice a
week for the rest, with occasional delays (a missed appointment, a cold), so it takes 2–3 weeks.
Early stoppers simply have fewer. Maintenance starts 2–5 weeks after the sixth infusion and
repeats every 2–8 weeks (each patient has their own interval, with some jitter). Infusions are on
weekdays, starting 08:45–16:00 (intranasal esketamine needs two hours of observation, so it
starts by 14:45). Patients keep a preferred slot most of the time.

Everything after the end date is cut, so late starters are still mid-course in the data.
Sessions are returned in chronological order, which is the order of their session ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dates
from . import patients as pt
from .course import INDUCTION_INFUSIONS, Course

MWF_SHARE = 0.7  # the rest come twice a week
MWF_GAP_DAYS, TWICE_WEEKLY_GAP_DAYS = 2, 3
P_DELAY_ONE_DAY, P_DELAY_LONGER = 0.12, 0.05
LONGER_DELAY_DAYS = (2, 7)
FIRST_MAINTENANCE_GAP_DAYS = (14, 35)
MAINTENANCE_INTERVAL_DAYS = (14, 56)
MAINTENANCE_JITTER_SD_DAYS = 4.0
MAINTENANCE_GAP_LIMITS = (10, 70)

SLOT_MINUTES = 15
FIRST_SLOT_MINUTE = 8 * 60 + 45
LAST_SLOT_MINUTE = 16 * 60
LAST_LONG_SLOT_MINUTE = 14 * 60 + 45  # for 120-minute intranasal sessions
P_PREFERRED_SLOT = 0.6


@dataclass
class Schedule:
    """One element per infusion, in chronological order."""

    pidx: np.ndarray  # patient index
    number: np.ndarray  # 1-based infusion number within the patient
    day: np.ndarray  # day number
    minute: np.ndarray  # start, minutes after local midnight
    days_since_prev: np.ndarray  # 0 for a patient's first infusion
    # Per patient: the day of the next infusion their course plans after the end date (-1 when
    # the course ends by then); where the synthetic bookings come from (bookings.py). No random
    # draw: the days are those the loop above already drew.
    next_day: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.pidx)


def build_schedule(rng: np.random.Generator, cohort: pt.Cohort, course: Course, end_day: int) -> Schedule:
    n = cohort.n
    planned = course.planned_induction.astype(np.int64) + course.planned_maintenance
    width = int(planned.max()) if n else 1
    days = np.empty((n, width), dtype=np.int64)
    days[:, 0] = cohort.first_day

    base_gap = np.where(rng.random(n) < MWF_SHARE, MWF_GAP_DAYS, TWICE_WEEKLY_GAP_DAYS)
    interval = rng.integers(MAINTENANCE_INTERVAL_DAYS[0], MAINTENANCE_INTERVAL_DAYS[1] + 1, n)
    for col in range(1, width):
        if col < INDUCTION_INFUSIONS:
            u = rng.random(n)
            delay = np.where(
                u < P_DELAY_ONE_DAY,
                1,
                np.where(u < P_DELAY_ONE_DAY + P_DELAY_LONGER, rng.integers(*LONGER_DELAY_DAYS, n, endpoint=True), 0),
            )
            gap = base_gap + delay
        elif col == INDUCTION_INFUSIONS:
            gap = rng.integers(*FIRST_MAINTENANCE_GAP_DAYS, n, endpoint=True)
        else:
            jitter = np.rint(rng.normal(0.0, MAINTENANCE_JITTER_SD_DAYS, n)).astype(np.int64)
            gap = np.clip(interval + jitter, *MAINTENANCE_GAP_LIMITS)
        days[:, col] = dates.roll_forward_to_weekday(days[:, col - 1] + gap)

    taken = (np.arange(width)[None, :] < planned[:, None]) & (days <= end_day)
    pidx, col = np.nonzero(taken)  # patient-major, infusions in order
    day = days[pidx, col]
    since = np.where(col > 0, day - days[pidx, np.maximum(col - 1, 0)], 0)

    upcoming = (np.arange(width)[None, :] < planned[:, None]) & (days > end_day)
    next_day = np.where(upcoming.any(axis=1), days[np.arange(n), upcoming.argmax(axis=1)], -1) if n else \
        np.empty(0, dtype=np.int64)

    minute = _start_minutes(rng, cohort.route, pidx)
    order = np.lexsort((col, pidx, minute, day))
    return Schedule(
        pidx=pidx[order].astype(np.int32),
        number=(col[order] + 1).astype(np.int16),
        day=day[order].astype(np.int32),
        minute=minute[order],
        days_since_prev=since[order].astype(np.int16),
        next_day=next_day.astype(np.int32),
    )


def _start_minutes(rng: np.random.Generator, route: np.ndarray, pidx: np.ndarray) -> np.ndarray:
    last = np.where(route == pt.INTRANASAL, LAST_LONG_SLOT_MINUTE, LAST_SLOT_MINUTE)
    n_slots = (last - FIRST_SLOT_MINUTE) // SLOT_MINUTES + 1
    preferred = (rng.random(len(route)) * n_slots).astype(np.int64)
    random_slot = (rng.random(len(pidx)) * n_slots[pidx]).astype(np.int64)
    slot = np.where(rng.random(len(pidx)) < P_PREFERRED_SLOT, preferred[pidx], random_slot)
    return (FIRST_SLOT_MINUTE + SLOT_MINUTES * slot).astype(np.int16)
